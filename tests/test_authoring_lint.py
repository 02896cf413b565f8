"""`specrules validate`: every problem at once, consistency checks, formats, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specrules.authoring.lint import lint_file, lint_text
from specrules.cli import main

ROOT = Path(__file__).parents[1]
CORPUS = ROOT / "tests" / "broken_specs"
BASE = (CORPUS / "typo_in_key.yaml").read_text(encoding="utf-8").replace("datset:", "dataset:")


def codes(text: str) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.column) for d in lint_text(text, "spec.yaml")]


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def test_the_base_spec_is_clean() -> None:
    assert codes(BASE) == []


def test_schema_and_expression_errors_are_reported_together() -> None:
    # An unknown key in one rule used to hide the type error in another.
    text = edit("    applies_to: setting", "    aplies_to: setting")
    text = edit("accept: age >= 18", 'accept: age >= "18"', text)
    assert codes(text) == [("E201", 29, 20), ("S001", 37, 5)]


def test_a_rule_with_a_schema_error_still_has_its_expressions_checked() -> None:
    text = edit("    target: 100%\n", "    target: 100%\n    clok: hours\n")
    text = edit("    end: first_appointment_on", "    end: first_apointment_on", text)
    assert codes(text) == [("E202", 39, 10), ("S001", 42, 5)]


def test_a_bad_field_type_does_not_hide_other_problems_or_invent_some() -> None:
    # `age` is set aside (S003); the rule reading it is not blamed for an unknown field,
    # but the unrelated mistake in the KPI is still found.
    text = edit("      age: integer", "      age: integr")
    text = edit("breakdowns: [setting]", "breakdowns: [setings]", text)
    found = lint_text(text, "spec.yaml")
    assert [(d.code, d.line) for d in found] == [("S003", 20), ("S204", 51)]
    assert found[0].hint == "did you mean `integer`?"


def test_a_rule_over_a_dataset_set_aside_is_not_blamed() -> None:
    text = edit("    key: referral_id", "    key: Referral ID")
    assert [d.code for d in lint_text(text, "spec.yaml")] == ["S003"]


def test_missing_title_is_reported_and_the_rest_still_checked() -> None:
    text = edit("    title: New referrals per quarter\n", "")
    text = edit("threshold: at least 10 per quarter", "threshold: at least 10 days", text)
    assert [d.code for d in lint_text(text, "spec.yaml")] == ["S002", "E308"]


def test_a_broken_contract_does_not_produce_date_errors_elsewhere() -> None:
    text = edit("  end: 2022-06-30", "  end: someday")
    text = edit("threshold: at least 10 per quarter", "threshold: at least 100 by 2030-01-01", text)
    assert [d.code for d in lint_text(text, "spec.yaml")] == ["S003"]


@pytest.mark.parametrize(
    ("old", "new", "code", "severity"),
    [
        ("threshold: at least 10 per quarter", "threshold: at least £10", "E308", "error"),
        ("target: 100%", "target: 0%", "W302", "warning"),
        (
            "    breakdowns: [setting]\n",
            "    breakdowns: [setting]\n    amber: 150%\n",
            "E320",
            "error",
        ),
        (
            '    consequence: contract_meeting\n    source:\n      section: "2.4"',
            '    source:\n      section: "2.4"',
            "W305",
            "warning",
        ),
        ("  end: 2022-06-30\n", '  end: 2022-06-30\n  year_start: "02-30"\n', "E310", "error"),
    ],
)
def test_consistency_checks(old: str, new: str, code: str, severity: str) -> None:
    found = lint_text(edit(old, new), "spec.yaml")
    assert [(d.code, d.severity) for d in found] == [(code, severity)]
    assert found[0].hint


def test_an_unused_consequence_is_a_warning() -> None:
    text = edit(
        "consequences:\n",
        "consequences:\n  unused_one:\n    text: never used\n",
    )
    found = lint_text(text, "spec.yaml")
    assert [(d.code, d.severity, d.line, d.column) for d in found] == [("W306", "warning", 10, 3)]


def test_a_share_per_year_warns_that_it_would_be_pro_rated() -> None:
    text = BASE + (
        "  - id: share_primary\n    title: t\n    dataset: referrals\n    scoring: proportion\n"
        '    numerator: setting = "primary care"\n    threshold: at least 60% per year\n'
        "    consequence: contract_meeting\n    source:\n      section: s\n"
    )
    assert [(d.code, d.severity) for d in lint_text(text, "s.yaml")] == [("W301", "warning")]


@pytest.mark.parametrize(
    ("measure", "warned"),
    [
        # an average is not a total: pro-rating it over a quarter would lower the bar
        ("scoring: continuous\n    observation: age\n    aggregate: mean", True),
        # a sum is a total, and a ratio per year is a rate over time (caseload per coach per
        # year): both are pro-rated on purpose, so no warning (docs/reference.md, W301)
        ("scoring: continuous\n    observation: age\n    aggregate: sum", False),
        (
            "scoring: ratio\n    numerator: count(referrals)\n    denominator: count(referrals)",
            False,
        ),
    ],
)
def test_per_year_warns_on_an_average_not_on_a_sum_or_a_ratio(measure: str, warned: bool) -> None:
    text = BASE + (
        f"  - id: per_year\n    title: t\n    dataset: referrals\n    {measure}\n"
        "    threshold: at least 2 per year\n"
        "    consequence: contract_meeting\n    source:\n      section: s\n"
    )
    expected = [("W301", "warning")] if warned else []
    assert [(d.code, d.severity) for d in lint_text(text, "s.yaml")] == expected


def test_continuous_units() -> None:
    rule = (
        "  - id: waits\n    title: t\n    dataset: referrals\n    scoring: continuous\n"
        "    observation: {observation}\n    aggregate: median\n    threshold: {threshold}\n"
        "    consequence: contract_meeting\n    source:\n      section: s\n"
    )
    duration = "first_appointment_on - received_on"
    number = "days_between(received_on, first_appointment_on)"
    cases = [
        (duration, "at most 14 days", []),
        (duration, "at most 14", [("E308", "error")]),
        (number, "at most 14", []),
        (number, "at most 14 days", [("W304", "warning")]),
    ]
    for observation, threshold, expected in cases:
        text = BASE + rule.format(observation=observation, threshold=threshold)
        found = [(d.code, d.severity) for d in lint_text(text, "s.yaml")]
        assert found == expected, (observation, threshold)


def test_example_period_outside_the_contract() -> None:
    text = BASE + (
        "examples:\n  - name: late\n    period: 2030/31\n    data:\n      referrals: []\n"
        "    expect:\n      new_referrals: monitoring\n"
    )
    found = lint_text(text, "s.yaml")
    assert [(d.code, d.line, d.column) for d in found] == [("S305", 57, 13)]
    assert "outside the contract" in found[0].message


def test_example_rows_missing_the_key_and_dated_outside_the_contract() -> None:
    text = BASE + (
        "examples:\n  - name: rows\n    data:\n      referrals:\n"
        "        - {age: 30, received_on: 2020-01-01}\n"
        "        - {referral_id: r2, received_on: 2023-01-01}\n"
        "    expect:\n      new_referrals: monitoring\n"
    )
    found = [(d.code, d.severity, d.line) for d in lint_text(text, "s.yaml")]
    assert found == [("S307", "error", 59), ("W307", "warning", 60)]


def test_unreadable_file() -> None:
    (found,) = lint_file(ROOT / "no" / "such.yaml")
    assert found.code == "F001"


# ------------------------------------------------------------------ the command line
def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_exit_codes_and_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = write(tmp_path, BASE, "clean.yaml")
    warned = write(tmp_path, edit("target: 100%", "target: 0%"), "warned.yaml")
    broken = write(tmp_path, edit("age >= 18", "agee >= 18"), "broken.yaml")
    assert main(["validate", clean]) == 0
    assert main(["validate", warned]) == 0
    assert main(["validate", "--strict", warned]) == 1
    assert main(["validate", broken, clean]) == 1
    err = capsys.readouterr().err
    assert "1 of 2 spec(s) valid; 1 error(s), 0 warning(s)" in err
    with pytest.raises(SystemExit) as usage:
        main(["validate"])
    assert usage.value.code == 2


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, edit("age >= 18", "agee >= 18"))
    assert main(["validate", "--format", "json", path]) == 1
    (item,) = json.loads(capsys.readouterr().out)
    assert item == {
        "code": "E202",
        "message": "unknown field `agee` in dataset `referrals`",
        "file": path,
        "line": 29,
        "column": 13,
        "hint": "did you mean `age`?",
        "severity": "error",
    }


def test_github_format_escapes_what_github_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, edit("target: 100%", "target: 120%"), "a,b.yaml")
    assert main(["validate", "--format", "github", path]) == 1
    (line,) = capsys.readouterr().out.splitlines()
    where = path.replace(":", "%3A").replace(",", "%2C")
    assert line == (
        f"::error file={where},line=41,col=13,title=E302::a share cannot be above 100%25 "
        "(`120%25`) (hint: write a percentage between 0%25 and 100%25)"
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # a bad consequence used to bring W305 (a threshold but no consequence): the key was
        # set aside, and its absence then looked like a second mistake.
        # `    consequence: ` is 17 characters: the KPI's is line 52, its value at column 18
        (
            'consequence: contract_meeting\n    source:\n      section: "2.4"',
            'consequence: [contract_meeting]\n    source:\n      section: "2.4"',
            ("S003", 52, 18),
        ),
        # a dataset's bad `date` used to bring S206 (no date) on each of the three rules
        # over it: `    date: ` is 10 characters, line 16
        ("    date: received_on", "    date: 5", ("S003", 16, 11)),
        ("    date: received_on", "    date: [received_on]", ("S003", 16, 11)),
        # a consequence's bad `kind` (line 11; `    kind: ` is 10 characters) or `text` (line
        # 12, 10 characters too) used to set the whole consequence aside, and the three rules
        # naming it got W305 (a threshold but no consequence)
        # a date naming no field: its own error (E202, line 16), not S206 on each rule
        ("    date: received_on", "    date: recieved_on", ("E202", 16, 11)),
        ("    kind: other", "    kind: otherwise", ("S003", 11, 11)),
        (
            "    text: Discussed at the quarterly contract meeting",
            "    text: [1]",
            ("S003", 12, 11),
        ),
    ],
)
def test_a_key_set_aside_brings_no_second_error(old: str, new: str, expected: tuple) -> None:
    assert codes(edit(old, new)) == [expected]


def test_a_criterion_set_aside_does_not_blame_the_rules_using_eligible() -> None:
    # The only criterion has a bad `accept` (line 29; `    accept: ` is 12 characters), so
    # it is set aside; the response time filtering on `eligible` used to get E202 "needs
    # eligibility criteria" as well.
    text = edit("accept: age >= 18", "accept: [age]")
    text = edit('applies_to: setting = "primary care"', "applies_to: eligible", text)
    assert codes(text) == [("S003", 29, 13)]
    # with the criterion as written, `eligible` is fine
    assert codes(edit('applies_to: setting = "primary care"', "applies_to: eligible")) == []


def test_a_dataset_with_a_bad_optional_key_is_still_checked() -> None:
    # A bad `timezone` (added as line 17; `    timezone: ` is 14 characters) used to set the
    # whole dataset aside, so the date naming no field (line 16, column 11) went unreported.
    text = edit("    date: received_on", "    date: recieved_on\n    timezone: [1]")
    assert codes(text) == [("E202", 16, 11), ("S003", 17, 15)]


def test_a_bad_consequence_key_does_not_call_its_consequence_unused() -> None:
    # The KPI is the only rule naming `report`; its bad `consequence` (line 52, and 54 once
    # the two lines of `report` are added; `    consequence: ` is 17 characters) used to
    # bring W306 "`report` is declared but no rule uses it" too.
    meeting = "    text: Discussed at the quarterly contract meeting\n"
    text = edit(meeting, meeting + "  report:\n    text: Reported\n")
    text = edit(
        'consequence: contract_meeting\n    source:\n      section: "2.4"',
        'consequence: [report]\n    source:\n      section: "2.4"',
        text,
    )
    assert codes(text) == [("S003", 54, 18)]


def test_a_bad_breakdown_does_not_blame_the_group_thresholds() -> None:
    # `breakdowns: setting` (not a list; line 51, `    breakdowns: ` is 16 characters) used
    # to bring S207 "`group_thresholds` needs exactly one breakdown field" too.
    text = edit(
        "    breakdowns: [setting]\n",
        "    breakdowns: setting\n    group_thresholds: {primary care: at least 10 per quarter}\n",
    )
    assert codes(text) == [("S003", 51, 17)]
