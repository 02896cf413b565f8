"""`extends:` and `overrides:`: a local spec built on a base spec without copying it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

import specrules
from specrules.authoring.lint import lint_file
from specrules.errors import SpecError
from specrules.report import ReportError, render_report

BASE = """\
specrules: 1
title: Base standard
commissioner: NHS England
source_document: A national standard
contract: {start: 2024-04-01, end: 2025-03-31}
consequences:
  report: {text: Reported to the board}
datasets:
  referrals:
    key: referral_id
    date: received_on
    fields:
      referral_id: text
      received_on: date
      treated_on: date
      site: text
      private: boolean
kpis:
  - id: treated_within_2_weeks
    title: Treated within 2 weeks
    dataset: referrals
    scoring: proportion
    period: year
    denominator: treated_on is not missing
    numerator: days_between(received_on, treated_on) <= 14
    denominator_exclusions: private
    threshold: at least 60%
    consequence: report
    source: {section: "1.1", quote: "treated within 2 weeks"}
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    _write(tmp_path, "national/base.yaml", BASE)
    return tmp_path


def _referrals() -> pd.DataFrame:
    # five referrals: waits 10, 20, 5 and 30 days, one private (excluded), one not yet treated
    return pd.DataFrame(
        {
            "referral_id": ["R1", "R2", "R3", "R4", "R5", "R6"],
            "received_on": pd.to_datetime(["2024-05-01"] * 6),
            "treated_on": pd.to_datetime(
                ["2024-05-11", "2024-05-21", "2024-05-06", "2024-05-31", "2024-05-02", None]
            ),
            "site": ["North", "North", "South", "South", "South", "North"],
            "private": [False, False, False, False, True, False],
        }
    )


def test_a_local_spec_adds_a_rule_and_a_stricter_threshold(folder: Path) -> None:
    local = _write(
        folder,
        "local.yaml",
        """\
        extends: national/base.yaml
        title: Local version
        overrides:
          treated_within_2_weeks:
            threshold: at least 80%
            breakdowns: [site]
        kpis:
          - id: referrals_received
            title: Referrals received
            dataset: referrals
            scoring: count
            monitoring_only: true
            source: {section: local}
        """,
    )
    spec = specrules.load(local)
    assert spec.title == "Local version"
    assert spec.rule_ids == ["treated_within_2_weeks", "referrals_received"]
    verdicts = spec.evaluate({"referrals": _referrals()}).to_frame()
    whole = verdicts[(verdicts.rule_id == "treated_within_2_weeks") & verdicts.group.isna()]
    # treated, not private: R1 (10 days), R2 (20), R3 (5), R4 (30) -> 2 of 4 within 14 days
    assert (whole.numerator.item(), whole.denominator.item()) == (2, 4)
    assert whole.status.item() == "not met"  # 50% < the local 80%
    north = verdicts[
        (verdicts.rule_id == "treated_within_2_weeks") & (verdicts.group == "site=North")
    ]
    assert (north.numerator.item(), north.denominator.item()) == (1, 2)  # R1 yes, R2 no


def test_the_base_unchanged_gives_its_own_figures(folder: Path) -> None:
    spec = specrules.load(folder / "national/base.yaml")
    verdicts = spec.evaluate({"referrals": _referrals()}).to_frame()
    assert verdicts.status.tolist() == ["not met"]  # 2 of 4 = 50% < 60%


def test_a_local_exclusion_replaces_the_condition(folder: Path) -> None:
    local = _write(
        folder,
        "local.yaml",
        """\
        extends: national/base.yaml
        overrides:
          treated_within_2_weeks:
            denominator_exclusions: private or site = "South"
        """,
    )
    verdicts = specrules.load(local).evaluate({"referrals": _referrals()}).to_frame()
    # left: R1 (10 days, yes) and R2 (20 days, no) -> 1 of 2
    assert (verdicts.numerator.item(), verdicts.denominator.item()) == (1, 2)


def test_add_to_a_list_keeps_the_base_items(folder: Path) -> None:
    _write(
        folder,
        "national/base_with_breakdown.yaml",
        BASE.replace(
            "    threshold: at least 60%\n", "    threshold: at least 60%\n    breakdowns: [site]\n"
        ),
    )
    local = _write(
        folder,
        "local.yaml",
        """\
        extends: national/base_with_breakdown.yaml
        overrides:
          treated_within_2_weeks:
            breakdowns: {add: [private]}
        """,
    )
    spec = specrules.load(local)
    assert spec.model.kpis[0].breakdowns == ["site", "private"]


def test_a_mistake_in_an_override_points_at_the_local_file(folder: Path) -> None:
    local = _write(
        folder,
        "local.yaml",
        """\
        extends: national/base.yaml
        overrides:
          treated_within_2_weeks:
            threshhold: at least 80%
        """,
    )
    found = lint_file(local)
    assert [(d.code, Path(d.file).name, d.line, d.column) for d in found] == [
        ("S001", "local.yaml", 4, 5)
    ]
    assert "threshold" in (found[0].hint or "")


def test_a_mistake_in_the_base_points_at_the_base_file(folder: Path) -> None:
    _write(folder, "national/broken.yaml", BASE.replace("days_between", "dayz_between"))
    local = _write(folder, "local.yaml", "extends: national/broken.yaml\ntitle: Local\n")
    found = [d for d in lint_file(local) if d.severity == "error"]
    assert [(Path(d.file).name, d.line) for d in found] == [("broken.yaml", 25)]
    # column: `    numerator: ` is 15 characters, the name starts at 16
    assert found[0].column == 16


def test_every_kind_of_problem_in_the_base_points_at_the_base_file(folder: Path) -> None:
    # One mistake of each kind the checks report (schema, consistency, expression), all in
    # the base: each must name the base's file with the base's line (they are placed by one
    # helper, SourceMap.place). The edited rule: `- id:` line 19, dataset 20, scoring 21,
    # colour 22, period 23, denominator 24, numerator 25.
    broken = (
        BASE.replace("    title: Treated within 2 weeks\n", "")
        .replace("    scoring: proportion\n", "    scoring: proportion\n    colour: red\n")
        .replace("period: year", "period: yearly")
        .replace("days_between", "dayz_between")
        .replace("    consequence: report\n", "")
    )
    _write(folder, "national/broken.yaml", broken)
    local = _write(folder, "local.yaml", "extends: national/broken.yaml\ntitle: Local\n")
    found = {(d.code, Path(d.file).name, d.line, d.column) for d in lint_file(local)}
    assert found == {
        ("S002", "broken.yaml", 19, 5),  # no title: at the rule, after `  - `
        ("S001", "broken.yaml", 22, 5),  # the unknown key `colour`
        ("S003", "broken.yaml", 23, 13),  # `    period: ` is 12 characters
        ("E204", "broken.yaml", 25, 16),  # unknown function: `    numerator: ` is 15 characters
        ("W305", "broken.yaml", 19, 9),  # threshold, no consequence: at the id (`  - id: `)
        ("W306", "broken.yaml", 7, 3),  # `report` is used by no rule: at its key
    }


def test_a_division_by_zero_in_the_base_points_at_the_base_file(folder: Path) -> None:
    # E210 (a divisor that is always 0) used the extending spec's file with the base's line.
    broken = BASE.replace("<= 14", "<= 14 / 0")
    _write(folder, "national/broken.yaml", broken)
    local = _write(folder, "local.yaml", "extends: national/broken.yaml\ntitle: Local\n")
    found = [d for d in lint_file(local) if d.severity == "error"]
    assert [(d.code, Path(d.file).name, d.line) for d in found] == [("E210", "broken.yaml", 25)]


def test_an_unknown_rule_in_overrides_suggests_the_id(folder: Path) -> None:
    local = _write(
        folder,
        "local.yaml",
        "extends: national/base.yaml\n"
        "overrides:\n"
        "  treated_within_2_week: {threshold: at least 1%}\n",
    )
    with pytest.raises(SpecError) as caught:
        specrules.load(local)
    (d,) = caught.value.diagnostics
    assert (d.code, d.line, d.column) == ("X006", 3, 3)
    assert "treated_within_2_weeks" in (d.hint or "")


def test_a_rule_id_already_in_the_base_is_refused(folder: Path) -> None:
    local = _write(
        folder,
        "local.yaml",
        """\
        extends: national/base.yaml
        kpis:
          - id: treated_within_2_weeks
            title: copied
            dataset: referrals
            scoring: count
            monitoring_only: true
            source: {section: x}
        """,
    )
    with pytest.raises(SpecError) as caught:
        specrules.load(local)
    (d,) = caught.value.diagnostics
    assert (d.code, d.line) == ("X004", 3)
    assert "overrides" in (d.hint or "")


@pytest.mark.parametrize(
    "target, code",
    [
        ("/etc/passwd", "X001"),
        ("../outside.yaml", "X001"),
        ("national/missing.yaml", "X002"),
        ("local.yaml", "X003"),  # itself
    ],
)
def test_extends_is_confined_to_the_spec_folder(folder: Path, target: str, code: str) -> None:
    _write(folder.parent, "outside.yaml", BASE)
    local = _write(folder, "local.yaml", f"extends: {target}\n")
    with pytest.raises(SpecError) as caught:
        specrules.load(local)
    (d,) = caught.value.diagnostics
    assert (d.code, Path(d.file).name, d.line, d.column) == (code, "local.yaml", 1, 10)


def test_a_spec_given_as_text_cannot_extend(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Text has no folder: without this refusal the base was looked up in the working folder.
    _write(folder, "base.yaml", BASE)
    monkeypatch.chdir(folder)
    with pytest.raises(SpecError) as caught:
        specrules.loads("extends: base.yaml\n")
    (d,) = caught.value.diagnostics
    assert d.code == "X001" and "given as text" in d.message


def test_a_link_out_of_the_folder_is_refused(folder: Path) -> None:
    outside = _write(folder.parent, "outside.yaml", BASE)
    (folder / "link.yaml").symlink_to(outside)
    local = _write(folder, "local.yaml", "extends: link.yaml\n")
    with pytest.raises(SpecError) as caught:
        specrules.load(local)
    assert caught.value.diagnostics[0].code == "X001"


def test_overrides_without_extends_is_an_error(folder: Path) -> None:
    local = _write(folder, "local.yaml", BASE + "overrides: {}\n")
    with pytest.raises(SpecError) as caught:
        specrules.load(local)
    assert caught.value.diagnostics[0].code == "X005"


def _breach_report(folder: Path, local_text: str) -> str:
    """The Markdown report of `local.yaml` over the six referrals (the base's rule is not met:
    2 of 4 = 50% < 60%, so consequence `report` is due and its template renders)."""
    base = BASE.replace(
        "  report: {text: Reported to the board}",
        "  report: {text: Reported to the board, template: templates/breach.md.j2}",
    )
    _write(folder, "national/base.yaml", base)
    for where, words in (("national/templates", "BASE"), ("templates", "LOCAL")):
        _write(folder, f"{where}/breach.md.j2", words + " template for {{ b.verdict.rule_id }}\n")
    spec = specrules.load(_write(folder, "local.yaml", local_text))
    return render_report(spec.evaluate({"referrals": _referrals()}), "md", spec=spec)


def test_a_base_template_is_read_from_the_base_folder(folder: Path) -> None:
    # The base names templates/breach.md.j2 relative to its own folder (national/); the
    # extending spec's folder has a file of that name too, which must not be used.
    text = _breach_report(folder, "extends: national/base.yaml\ntitle: Local\n")
    assert "BASE template for treated_within_2_weeks" in text
    assert "LOCAL template" not in text


def test_a_template_the_local_spec_writes_is_read_from_its_folder(folder: Path) -> None:
    local = (
        "extends: national/base.yaml\ntitle: Local\n"
        "consequences:\n  report: {template: templates/breach.md.j2}\n"
    )
    text = _breach_report(folder, local)
    assert "LOCAL template for treated_within_2_weeks" in text
    assert "BASE template" not in text


def test_a_base_template_is_confined_to_the_base_folder(folder: Path) -> None:
    # national/templates/breach.md.j2 is a link to the local folder's file: inside the
    # extending spec's folder, but outside the base's, so it is refused.
    _breach_report(folder, "extends: national/base.yaml\ntitle: Local\n")
    linked = folder / "national" / "templates" / "breach.md.j2"
    linked.unlink()
    linked.symlink_to(folder / "templates" / "breach.md.j2")
    spec = specrules.load(folder / "local.yaml")
    evaluation = spec.evaluate({"referrals": _referrals()})
    with pytest.raises(ReportError, match="outside the spec's folder"):
        render_report(evaluation, "md", spec=spec)


# ------------------------------------------------------------------ the shipped example
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_the_example_icb_spec_builds_on_the_national_one(engine: str) -> None:
    spec = specrules.load(ROOT / "specs" / "example_icb_cancer.yaml")
    data = ROOT / "tests" / "fixtures" / "example_icb_cancer"  # the national fixture + a flag
    found = {
        v.rule_id: v for v in spec.evaluate(str(data), period="2024-04", engine=engine).verdicts
    }
    # faster diagnosis in April 2024: 3 of 4 (see test_national), judged against the local 80%
    fds = found["faster_diagnosis_28_days"]
    assert (fds.status, fds.numerator, fds.denominator, fds.threshold) == ("not met", 3, 4, "80%")
    # 62 days in April: T3 (94 days, late) and T6 (61); T7 is now excluded as a tertiary
    # referral in -> 1 of 2; by provider: RXX has T3 (0/1), RYY has T6 (1/1)
    rtt = found["referral_to_treatment_62_days"]
    assert (rtt.numerator, rtt.denominator, rtt.exclusions) == (1, 2, {"tertiary_referral_in": 1})
    assert [(g.group, g.numerator, g.denominator) for g in rtt.groups] == [
        ({"organisation_code_provider": "RXX"}, 0, 1),
        ({"organisation_code_provider": "RYY"}, 1, 1),
    ]
    # the local rule: first definitive treatments started in April: T3, T5, T6, T7
    assert found["first_treatments_started"].value == 4
    # the national rules the local spec did not touch are as they were
    assert (
        found["decision_to_treat_31_days"].numerator,
        found["decision_to_treat_31_days"].denominator,
    ) == (4, 5)


def test_the_base_examples_are_not_carried_over(folder: Path) -> None:
    example = (
        "examples:\n"
        "  - name: one late referral\n"
        "    data:\n"
        "      referrals:\n"
        "        - {referral_id: R1, received_on: 2024-05-01, treated_on: 2024-05-31,"
        " site: North, private: false}\n"
        "    expect: {treated_within_2_weeks: not met}\n"
    )
    _write(folder, "national/with_example.yaml", BASE + example)
    local = _write(folder, "local.yaml", "extends: national/with_example.yaml\n")
    assert specrules.load(folder / "national/with_example.yaml").model.examples != []
    assert specrules.load(local).model.examples == []


def test_the_spec_digest_changes_when_the_base_changes(folder: Path) -> None:
    local = _write(folder, "local.yaml", "extends: national/base.yaml\ntitle: Local\n")
    data = {"referrals": _referrals()}
    before = specrules.load(local).evaluate(data).provenance.spec_sha256
    _write(folder, "national/base.yaml", BASE.replace("at least 60%", "at least 61%"))
    assert specrules.load(local).evaluate(data).provenance.spec_sha256 != before
