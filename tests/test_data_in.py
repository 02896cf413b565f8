"""Bad data is reported row by row; nothing is dropped silently."""

from __future__ import annotations

import pandas as pd
import pytest

import specrules
from specrules import PeriodError
from specrules.cli import main
from test_spec_errors import BASE


@pytest.fixture(scope="module")
def spec() -> specrules.Spec:
    return specrules.loads(BASE)


def frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def good_rows() -> pd.DataFrame:
    return frame(
        referral_id=["A", "B", "C", "D"],
        received_on=["2020-05-01", "2020-06-01", "2020-07-01", "2020-08-01"],
        seen_on=["2020-05-03", "", "2020-07-09", "2020-08-02"],
        age=["17", "40", "", "65"],
        service=["stop smoking", "Weight Management", "weight management", "stop smoking"],
    )


def test_coercions_and_three_valued_counting(spec):
    evaluation = spec.evaluate({"referrals": good_rows()}, period="2020/21")
    v = evaluation.verdict("adults")
    # age 17 no, 40 yes, missing (unknown: stays in the denominator, not met), 65 yes: 2 / 4.
    assert (v.numerator, v.denominator) == (2, 4)
    # "Weight Management" is matched to the declared value without a complaint.
    assert evaluation.data_issues == []


def test_unparseable_values_become_missing_and_are_reported(spec):
    rows = good_rows()
    rows.loc[1, "received_on"] = "31/02/2020"
    rows.loc[2, "age"] = "forty"
    rows.loc[3, "service"] = "yoga"
    evaluation = spec.evaluate({"referrals": rows}, period="2020/21")
    issues = {(i.row, i.column): i for i in evaluation.data_issues}
    assert set(issues) == {(2, "received_on"), (3, "age"), (4, "service")}
    assert issues[(2, "received_on")].value == "31/02/2020"
    assert "not a date" in issues[(2, "received_on")].message
    assert "not a number" in issues[(3, "age")].message
    v = evaluation.verdict("adults")
    # Row B has no date, so it falls in no period and is counted as such; A C D remain:
    # 17 no, unreadable age (unknown) no, 65 yes -> 1 / 3.
    assert (v.numerator, v.denominator) == (1, 3)
    assert {e.reason: e.count for e in v.excluded} == {"no date to place the row in a period": 1}


def test_duplicate_and_missing_keys_are_rejected_with_reasons(spec):
    rows = good_rows()
    rows.loc[1, "referral_id"] = "A"
    rows.loc[2, "referral_id"] = ""
    evaluation = spec.evaluate({"referrals": rows}, period="2020/21")
    account = evaluation.rows["referrals"]
    assert (account.read, account.evaluated) == (4, 2)
    assert account.rejected == {
        "duplicate key: an earlier row has the same referral_id": 1,
        "missing key (referral_id)": 1,
    }


def test_missing_column_makes_rules_no_data_and_says_why(spec):
    rows = good_rows().drop(columns=["age"])
    evaluation = spec.evaluate({"referrals": rows}, period="2020/21")
    v = evaluation.verdict("adults")
    assert v.status == "no data"
    assert "missing column(s): `age`" in (v.reason or "")
    assert evaluation.rows["referrals"].rejected  # every row accounted for, with the reason


def test_misspelt_column_gets_a_hint(spec):
    rows = good_rows().rename(columns={"seen_on": "seenon"})
    evaluation = spec.evaluate({"referrals": rows}, period="2020/21")
    assert "`seen_on` (did you mean `seenon`?)" in evaluation.verdict("adults").reason


def test_empty_dataset_gives_no_data(spec):
    empty = good_rows().iloc[0:0]
    evaluation = spec.evaluate({"referrals": empty}, period="2020/21")
    v = evaluation.verdict("adults")
    assert v.status == "no data"
    assert v.denominator == 0


def test_missing_dataset_gives_no_data(spec):
    evaluation = spec.evaluate({}, period="2020/21")
    assert evaluation.verdict("adults").status == "no data"


def test_period_outside_contract(spec):
    with pytest.raises(PeriodError, match="outside the contract"):
        spec.evaluate({"referrals": good_rows()}, period="2030/31")


def test_malformed_period(spec):
    with pytest.raises(PeriodError, match="not a period"):
        spec.evaluate({"referrals": good_rows()}, period="summer")


def test_folder_with_unknown_file_and_uk_dates(tmp_path, spec):
    good_rows().assign(received_on=["01/05/2020", "01/06/2020", "01/07/2020", "01/08/2020"]).to_csv(
        tmp_path / "referrals.csv", index=False
    )
    (tmp_path / "referals_old.csv").write_text("x\n1\n")
    evaluation = spec.evaluate(tmp_path, period="2020/21")
    # 01/05/2020 is read day-first (1 May): all four rows fall in 2020/21.
    assert evaluation.verdict("adults").denominator == 4
    assert any("not a declared dataset" in i.message for i in evaluation.data_issues)


def test_cli_reports_data_errors_without_traceback(tmp_path, capsys):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(BASE)
    assert main(["evaluate", str(spec_file), "--data", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "no such file or folder" in err and "Traceback" not in err


def test_cli_exit_codes(tmp_path, capsys):
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(BASE)
    good_rows().to_csv(tmp_path / "referrals.csv", index=False)
    assert main(["validate", str(spec_file)]) == 0
    # 2 of 4 adults is below 60%: a breach, but evaluate exits 0 unless asked otherwise.
    assert main(["evaluate", str(spec_file), "--data", str(tmp_path), "--period", "2020/21"]) == 0
    assert "NOT MET" in capsys.readouterr().out
    args = ["evaluate", str(spec_file), "--data", str(tmp_path), "--fail-on-breach"]
    assert main(args) == 1
    bad = tmp_path / "bad.yaml"
    bad.write_text(BASE.replace("age >= 18", "age >= "))
    assert main(["validate", str(bad)]) == 1
    assert f"{bad}:28:" in capsys.readouterr().out


def test_none_is_a_real_text_value_but_a_missing_number(spec):
    rows = good_rows()
    rows["service"] = rows["service"].astype(object)
    rows.loc[0, "age"] = "N/A"
    evaluation = spec.evaluate({"referrals": rows}, period="2020/21")
    # "N/A" in a number column is a missing value, not an unreadable one: no issue raised.
    assert evaluation.data_issues == []
    # Ages: missing, 40, missing, 65 -> 2 of 4 adults.
    assert evaluation.verdict("adults").numerator == 2


def test_text_none_is_not_turned_into_missing():
    from specrules.data import load_data

    declared = "      age: integer\n      religion: text"
    text = BASE.replace("      age: integer", declared)
    assert "religion" in text
    spec = specrules.loads(text)
    rows = good_rows().assign(religion=["none", "", "Christian", "NA"])
    loaded = load_data(spec.model, {"referrals": rows})
    religion = loaded.frames["referrals"]["religion"]
    # Only the empty cell is missing; "none" and "NA" are answers someone gave.
    assert religion.isna().tolist() == [False, True, False, False]
    assert religion[0] == "none"


def test_fail_on_breach_fails_when_the_data_is_not_there(tmp_path, capsys):
    """A gate must not pass on no data: a dataset not supplied, or one whose every row is
    rejected, leaves its rules "no data" with no breach, and exits 1 under --fail-on-breach
    naming the dataset; without the flag, 0."""
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(BASE)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["evaluate", str(spec_file), "--data", str(empty)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(spec_file), "--data", str(empty), "--fail-on-breach"]) == 1
    assert "dataset `referrals` was not supplied" in capsys.readouterr().err
    # every row has no key: all 4 rejected
    rejected = tmp_path / "rejected"
    rejected.mkdir()
    rows = good_rows()
    rows["referral_id"] = None
    rows.to_csv(rejected / "referrals.csv", index=False)
    assert main(["evaluate", str(spec_file), "--data", str(rejected), "--fail-on-breach"]) == 1
    assert "every one of the 4 rows of dataset `referrals` was rejected" in capsys.readouterr().err
    # a 0-byte file: no columns, so unusable, on both engines; a header alone is usable (a
    # dataset with no rows this period, as complaints may be) and passes
    for engine in ("pandas", "duckdb"):
        zero = tmp_path / f"zero_{engine}"
        zero.mkdir()
        (zero / "referrals.csv").write_bytes(b"")
        args = ["evaluate", str(spec_file), "--data", str(zero), "--engine", engine]
        assert main([*args, "--fail-on-breach"]) == 1
        assert "dataset `referrals` could not be used: no columns" in capsys.readouterr().err
    header = tmp_path / "header"
    header.mkdir()
    good_rows().iloc[:0].to_csv(header / "referrals.csv", index=False)
    assert main(["evaluate", str(spec_file), "--data", str(header), "--fail-on-breach"]) == 0


def test_the_terminal_table_lists_the_data_issues_by_kind(spec):
    from specrules.report.table import verdict_table

    # good_rows with A's and C's age unreadable ("x1", "old"): one kind, 2 rows (1 and 3)
    rows = good_rows()
    rows.loc[0, "age"] = "x1"
    rows.loc[2, "age"] = "old"
    text = verdict_table(spec.evaluate({"referrals": rows}, period="2020/21"))
    issue_lines = [line for line in text.splitlines() if line.startswith("  referrals.age:")]
    assert len(issue_lines) == 1
    assert issue_lines[0].startswith("  referrals.age: 2 × ")
    assert issue_lines[0].endswith("(rows 1, 3)")
