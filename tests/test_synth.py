"""Synthetic data (`specrules.synth`): shape, validity, determinism, and rules it can break.

Most checks run on tests/fixtures/unseen_service.yaml (Wigan Lot 3, Community Link Workers),
a spec the generator's code has never been tuned on, and on every spec in specs/.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

import specrules
from specrules.cli import main
from specrules.data import load_data
from specrules.periods import contract_end
from specrules.synth import SynthError, SynthWarning, synthesize, write

ROOT = Path(__file__).resolve().parents[1]
UNSEEN = ROOT / "tests" / "fixtures" / "unseen_service.yaml"
WIGAN = ROOT / "specs" / "wigan_lot1.yaml"
SPECS = sorted((ROOT / "specs").glob("*.yaml"))

DTYPES = {
    "integer": "Float64",
    "number": "Float64",
    "boolean": "boolean",
    "text": "string",
    "enumeration": "string",
    "date": "datetime64[ns]",
    "datetime": "datetime64[ns]",
}


def _synth(spec: specrules.api.Spec, rows: int, seed: int, breach: float):
    """Synthesize, failing the test if any rule could not be shaped."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SynthWarning)
        return synthesize(spec, rows=rows, seed=seed, breach_rate=breach)


@pytest.fixture(scope="module")
def unseen() -> specrules.api.Spec:
    return specrules.load(UNSEEN)


@pytest.fixture(scope="module")
def unseen_frames(unseen):
    return _synth(unseen, 600, 7, 0.1)


@pytest.fixture(scope="module")
def unseen_clean(unseen):
    return _synth(unseen, 600, 7, 0.0)


def _statuses(evaluation, rule_id: str) -> list[str]:
    return [v.status for v in evaluation.verdicts if v.rule_id == rule_id]


def _check_shape(spec: specrules.api.Spec, frames: dict[str, pd.DataFrame]) -> None:
    """Every declared dataset and column, keys unique and present, links resolving."""
    model = spec.model
    assert set(frames) == set(model.datasets)
    for name, ds in model.datasets.items():
        frame = frames[name]
        assert list(frame.columns) == list(ds.fields), name
        keys = list(ds.key_fields)
        assert not frame[keys].isna().any().any(), f"{name}: a missing key"
        assert not frame.duplicated(keys).any(), f"{name}: duplicate keys"
        for link_name, link in ds.links.items():
            parent = frames[link.dataset][model.datasets[link.dataset].key_fields[0]]
            values = frame[link.field].dropna()
            assert values.isin(set(parent)).all(), f"{name}.{link_name} has orphans"


# ------------------------------------------------------------------ determinism
def test_same_seed_gives_identical_frames(unseen, unseen_frames):
    again = _synth(unseen, 600, 7, 0.1)
    for name, frame in unseen_frames.items():
        pd.testing.assert_frame_equal(frame, again[name])


def test_another_seed_gives_other_data(unseen, unseen_frames):
    other = _synth(unseen, 600, 8, 0.1)
    assert not other["referrals"].equals(unseen_frames["referrals"])
    assert not other["contacts"]["contact_on"].equals(unseen_frames["contacts"]["contact_on"])


# ------------------------------------------------------------------ shape and validity
def test_main_dataset_has_the_rows_asked_for_and_children_scale(unseen_frames):
    assert len(unseen_frames["referrals"]) == 600
    # every referral has a contact (its first contact ends the response-time clock)
    contacts = unseen_frames["contacts"]
    assert contacts["referral_id"].nunique() == 600
    assert len(contacts) > 600
    assert 0 < len(unseen_frames["report_items"]) < 600


def test_keys_unique_and_links_resolve(unseen, unseen_frames):
    _check_shape(unseen, unseen_frames)


def test_columns_load_with_their_declared_types_and_no_issues(unseen, unseen_frames, tmp_path):
    write(unseen, unseen_frames, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"{name}.csv" for name in unseen.model.datasets
    )
    loaded = load_data(unseen.model, tmp_path)
    assert loaded.issues == []  # nothing coerced away, no orphans, no missing non-nullable
    for name, ds in unseen.model.datasets.items():
        frame = loaded.frames[name]
        assert loaded.accounts[name].evaluated == len(unseen_frames[name])
        for field_name in ds.fields:
            kind = ds.field_spec(field_name).type
            assert str(frame[field_name].dtype) == DTYPES[kind], (name, field_name)


def test_parquet_round_trip(unseen, unseen_frames, tmp_path):
    write(unseen, unseen_frames, tmp_path, "parquet")
    loaded = load_data(unseen.model, tmp_path)
    assert loaded.issues == []
    assert len(loaded.frames["contacts"]) == len(unseen_frames["contacts"])


def test_values_follow_types_hints_and_enumerations(unseen, unseen_frames):
    referrals = unseen_frames["referrals"]
    assert referrals["referral_id"].str.fullmatch(r"REF\d{6}").all()
    assert set(referrals["source"].dropna()) <= set(
        unseen.model.datasets["referrals"].field_spec("source").values
    )
    ages = referrals["age"].dropna()
    assert ages.between(0, 110).all() and ages.median() > 30  # an `age` hint: adults
    minutes = unseen_frames["contacts"]["minutes"].dropna()
    assert minutes.between(1, 600).all()
    assert referrals["accepted"].dtype == "boolean"


def test_dates_fall_inside_the_contract(unseen, unseen_frames):
    contract = unseen.model.contract
    start, end = pd.Timestamp(contract.start), pd.Timestamp(contract.end)
    last = pd.Timestamp(contract_end(contract))
    for name, ds in unseen.model.datasets.items():
        frame = unseen_frames[name]
        for field_name in ds.fields:
            if ds.field_spec(field_name).type not in ("date", "datetime"):
                continue
            values = frame[field_name].dropna()
            assert (values >= start).all(), (name, field_name)
            # the date that places a row in a period within the term; others may run on
            # into the extension years (a discharge after the last referral)
            limit = end if field_name == ds.date else last + pd.Timedelta(days=1)
            assert (values < limit + pd.Timedelta(days=1)).all(), (name, field_name)
        if ds.date:
            spread = frame[ds.date].dt.to_period("Y").nunique()
            assert spread >= 3, f"{name}: dates bunched in {spread} year(s)"


def test_child_dates_follow_their_parent(unseen_clean):
    contacts = unseen_clean["contacts"].merge(
        unseen_clean["referrals"][["referral_id", "received_on"]], on="referral_id"
    )
    assert (contacts["contact_on"] >= contacts["received_on"]).mean() > 0.99


def test_missing_values_only_where_nullable_and_scaled_by_breach_rate(unseen):
    clean = _synth(unseen, 600, 3, 0.0)["referrals"]
    messy = _synth(unseen, 600, 3, 0.5)["referrals"]
    assert clean["age"].notna().all() and clean["carer"].notna().all()
    assert 0.01 < messy["carer"].isna().mean() < 0.15
    # nor are non-nullable fields, keys, links and the date that places a row in a period
    for column in ("age", "source", "referral_id", "received_on"):
        assert messy[column].notna().all(), column
    loaded = load_data(unseen.model, {"referrals": messy})
    assert not [i for i in loaded.issues if "may not be" in i.message]


# ------------------------------------------------------------------ evaluation
def test_unseen_spec_evaluates_with_a_verdict_for_every_rule(unseen, unseen_frames):
    evaluation = unseen.evaluate(unseen_frames)
    for rule_id in unseen.rule_ids:
        statuses = _statuses(evaluation, rule_id)
        assert statuses, rule_id
        assert "no data" not in statuses, rule_id


def test_at_breach_rate_zero_every_standard_on_this_spec_is_met(unseen, unseen_clean):
    evaluation = unseen.evaluate(unseen_clean)
    for rule_id in unseen.rule_ids:
        statuses = set(_statuses(evaluation, rule_id))
        assert statuses <= {"met", "monitoring"}, (rule_id, statuses)
    # and the figures behind them: every accepted referral seen within its limit
    clock = [v for v in evaluation.verdicts if v.rule_id == "first_appointment_within_a_week"]
    assert all(v.value == 1.0 and v.denominator > 50 for v in clock)


def test_breach_rate_moves_a_response_time_rule_the_expected_way(unseen, unseen_clean):
    rule = "first_appointment_within_a_week"
    clean = unseen.evaluate(unseen_clean)
    breached = unseen.evaluate(_synth(unseen, 600, 7, 0.5))
    clean_values = [v.value for v in clean.verdicts if v.rule_id == rule]
    breached_values = [v.value for v in breached.verdicts if v.rule_id == rule]
    assert set(_statuses(clean, rule)) == {"met"}
    assert set(_statuses(breached, rule)) == {"not met"}
    assert all(0.3 < value < 0.75 for value in breached_values)
    assert max(breached_values) < min(clean_values)
    # late rows and clocks that never stopped are both among the breaches
    reasons = {
        b.reason.split(":")[0] for v in breached.verdicts if v.rule_id == rule for b in v.breaches
    }
    assert {"late", "no end event (clock never stopped)"} <= reasons


def test_breach_rate_breaks_criteria_and_kpis(unseen, unseen_clean):
    breached = unseen.evaluate(_synth(unseen, 600, 7, 0.5))
    for rule_id in ("adults_only", "registered_with_wigan_gp", "onward_referrals_taken_up"):
        assert set(_statuses(breached, rule_id)) == {"not met"}, rule_id
    adults = [v.value for v in breached.verdicts if v.rule_id == "adults_only"]
    assert all(0.3 < value < 0.7 for value in adults)


@pytest.fixture(scope="module")
def wigan() -> specrules.api.Spec:
    return specrules.load(WIGAN)


@pytest.fixture(scope="module")
def wigan_clean(wigan):
    return wigan.evaluate(_synth(wigan, 1000, 1, 0.0))


def test_wigan_lot1_response_time_follows_breach_rate(wigan, wigan_clean):
    rule = "first_appointment_offered"
    breached = wigan.evaluate(_synth(wigan, 1000, 1, 0.5))
    assert set(_statuses(wigan_clean, rule)) == {"met"}
    assert set(_statuses(breached, rule)) == {"not met"}


def test_wigan_lot1_has_no_empty_periods(wigan_clean):
    empty = sorted({v.rule_id for v in wigan_clean.verdicts if v.status == "no data"})
    assert empty == []


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_every_spec_in_specs_synthesizes_and_evaluates(path):
    spec = specrules.load(path)
    frames = _synth(spec, 400, 11, 0.1)
    _check_shape(spec, frames)
    loaded = load_data(spec.model, frames)
    assert loaded.issues == []
    evaluation = spec.evaluate(frames)
    for rule_id in spec.rule_ids:
        statuses = _statuses(evaluation, rule_id)
        assert statuses, rule_id
        # some periods may be empty by the spec's own logic (a 24-month review cannot fall in
        # the first two contract years), but never every one
        assert set(statuses) != {"no data"}, rule_id


# ------------------------------------------------------------------ errors
def test_bad_arguments_raise_synth_errors(unseen):
    with pytest.raises(SynthError, match="at least 1"):
        synthesize(unseen, rows=0)
    with pytest.raises(SynthError, match="between 0 and 1"):
        synthesize(unseen, rows=10, breach_rate=1.5)


# ------------------------------------------------------------------ command line
def test_cli_writes_one_file_per_dataset(tmp_path, capsys):
    out = tmp_path / "data"
    code = main(["synth", str(UNSEEN), "--rows", "200", "--seed", "4", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert f"{out / 'referrals.csv'}: 200 rows" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "contacts.csv",
        "onward_referrals.csv",
        "referrals.csv",
        "report_items.csv",
    ]
    header = (out / "contacts.csv").read_text().splitlines()[0]
    assert header == "contact_id,referral_id,contact_on,mode,attended,minutes"


def test_cli_parquet_format(tmp_path):
    code = main(
        ["synth", str(UNSEEN), "--rows", "50", "--out", str(tmp_path), "--format", "parquet"]
    )
    assert code == 0
    assert (tmp_path / "referrals.parquet").exists()
    assert len(pd.read_parquet(tmp_path / "referrals.parquet")) == 50


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        # an unreadable spec file is a usage error (exit 2) on every command
        (["no/such/spec.yaml", "--rows", "5"], 2, "no such file"),
        ([str(UNSEEN), "--rows", "0"], 2, "--rows must be at least 1"),
        ([str(UNSEEN), "--rows", "5", "--breach-rate", "2"], 2, "--breach-rate must be between"),
        ([str(UNSEEN), "--rows", "5", "--seed", "-1"], 2, "--seed must be 0 or more, not -1"),
    ],
)
def test_cli_errors_are_messages_not_tracebacks(tmp_path, capsys, args, code, message):
    assert main(["synth", *args, "--out", str(tmp_path / "out")]) == code
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_cli_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["synth", str(UNSEEN), "--rows", "5", "--out", str(blocker / "sub")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write to")
    assert "Traceback" not in err


def test_synth_then_evaluate_through_the_installed_command(tmp_path):
    out = tmp_path / "w"
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "specrules.cli",
            "synth",
            str(UNSEEN),
            "--rows",
            "300",
            "--seed",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "specrules.cli",
            "evaluate",
            str(UNSEEN),
            "--data",
            str(out),
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert checked.returncode == 0, checked.stderr
    evaluation = specrules.results.Evaluation.model_validate_json(checked.stdout)
    assert {v.rule_id for v in evaluation.verdicts} == set(specrules.load(UNSEEN).rule_ids)
    assert evaluation.data_issues == []


def test_command_line_defaults_match_the_generator() -> None:
    # synth_cli repeats the defaults so that `specrules --help` needs no numpy
    from specrules import synth, synth_cli

    assert synth_cli.DEFAULT_ROWS == synth.DEFAULT_ROWS
    assert synth_cli.DEFAULT_BREACH_RATE == synth.DEFAULT_BREACH_RATE


def test_a_rule_the_data_could_not_be_shaped_for_is_a_warning_line(tmp_path, capsys, monkeypatch):
    # shaping.py warns and goes on; the command line shows one plain line, not Python's
    # warning format with a source path
    import specrules.synth as synth

    real = synth.synthesize

    def warns(*args, **kwargs):
        told = "synth: data not shaped for rule `k` (ValueError: boom)"
        warnings.warn(told, SynthWarning, stacklevel=2)
        return real(*args, **kwargs)

    monkeypatch.setattr(synth, "synthesize", warns)
    assert main(["synth", str(UNSEEN), "--rows", "5", "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "warning: data not shaped for rule `k` (ValueError: boom)" in err
    assert "SynthWarning" not in err and ".py" not in err
