"""`specrules test`: worked examples inside a spec, run like unit tests; JUnit XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import specrules
from specrules.authoring.spec_tests import example_frames, run_files, run_spec
from specrules.cli import main

ROOT = Path(__file__).parents[1]
LOT3 = ROOT / "docs" / "examples" / "wigan_lot3.yaml"
TEXT = LOT3.read_text(encoding="utf-8")


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_tutorial_spec_examples_pass() -> None:
    (result,) = run_files([LOT3])
    assert result.ok
    assert [(c.example[:20], c.rule_id, c.expected, c.actual) for c in result.checks] == [
        ("an appointment on da", "appointment_within_one_week", "not met", "not met"),
        ("an appointment on da", "new_referrals", "monitoring", "monitoring"),
        ("a discharge team ref", "idt_immediate_response", "met", "met"),
        ("a discharge team ref", "appointment_within_one_week", "no data", "no data"),
        ("a 16 year old is not", "aged_18_or_over", "not met", "not met"),
        ("a 16 year old is not", "registered_with_wigan_gp", "met", "met"),
    ]
    # two `decision:` lines above the examples moved them down by two
    assert [c.line for c in result.checks] == [346, 347, 355, 356, 372, 373]


def test_rows_are_read_as_a_csv_file_would_be() -> None:
    spec = specrules.load(LOT3)
    frames = example_frames(spec.model, spec.model.examples[0])
    referrals = frames["referrals"]
    assert list(referrals.columns) == list(spec.model.datasets["referrals"].fields)
    assert referrals.loc[0, "received_at"] == "2020-01-06T10:00"  # text: YAML wants seconds
    assert referrals.loc[0, "first_appointment_on"] == "2020-01-13"  # a YAML date
    assert referrals.loc[0, "accepted"] == "true"
    assert referrals.loc[2, "first_appointment_on"] == ""  # left out: missing
    assert set(frames) == {"referrals"}  # datasets the example leaves out are not supplied


def test_a_failure_names_the_rule_and_points_at_the_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        TEXT.replace("appointment_within_one_week: not met", "appointment_within_one_week: met"),
    )
    (result,) = run_files([path])
    assert not result.ok
    (failed,) = result.failed
    assert failed.rule_id == "appointment_within_one_week"
    assert (failed.expected, failed.actual) == ("met", "not met")
    assert failed.where == f"{path}:346:7"
    assert failed.details == [
        "2019/20-Q3: not met, 50.0% (1 of 2); threshold 100%",
        f"row behind it: {path}:340:11 referrals row 2 (r2): late: 8 days after the start; "
        "limit 7 days",
    ]


def test_a_rule_that_gives_no_verdict_for_an_absent_linked_dataset(tmp_path: Path) -> None:
    # The first example has no `individuals`; a rule reading them through a link says
    # `no data` (it used to raise a KeyError).
    text = TEXT.replace(
        "      new_referrals: monitoring\n",
        "      new_referrals: monitoring\n      registered_with_wigan_gp: no data\n",
    )
    (result,) = run_files([write(tmp_path, text)])
    assert result.ok, [c.details for c in result.failed]


def test_data_issues_are_shown_with_their_row(tmp_path: Path) -> None:
    text = TEXT.replace(
        "first_appointment_on: 2020-01-13}", "first_appointment_on: 13th January}"
    ).replace("appointment_within_one_week: not met", "appointment_within_one_week: met")
    (result,) = run_files([write(tmp_path, text)])
    (failed,) = result.failed
    assert any(
        "data issue:" in d and "referrals row 1, first_appointment_on `13th January`" in d
        for d in failed.details
    ), failed.details


def test_cli_exit_codes_and_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(LOT3)]) == 0
    out = capsys.readouterr().out
    assert out.strip() == "6 passed, 0 failed (1 spec file(s))"
    failing = write(
        tmp_path, TEXT.replace("idt_immediate_response: met", "idt_immediate_response: not met")
    )
    assert main(["test", str(failing)]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {failing}:355:7: example `a discharge team referral" in out
    assert "idt_immediate_response: expected not met, got met" in out
    assert out.strip().endswith("5 passed, 1 failed (1 spec file(s))")


def test_an_invalid_spec_is_reported_not_run(capsys: pytest.CaptureFixture[str]) -> None:
    broken = ROOT / "tests" / "broken_specs" / "typo_in_key.yaml"
    assert main(["test", str(broken)]) == 1
    out = capsys.readouterr().out
    assert "S001 unknown key `datset`" in out
    assert "the spec is invalid, so its examples were not run" in out


def test_a_spec_without_examples(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = TEXT.split("\nexamples:\n")[0] + "\n"
    assert main(["test", str(write(tmp_path, text))]) == 0
    assert "no examples" in capsys.readouterr().out


def test_junit_xml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    failing = write(
        tmp_path, TEXT.replace("aged_18_or_over: not met", "aged_18_or_over: met"), "lot3.yaml"
    )
    broken = ROOT / "tests" / "broken_specs" / "tab.yaml"
    report = tmp_path / "junit.xml"
    assert main(["test", str(failing), str(broken), "--junit-xml", str(report)]) == 1
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("7", "1", "1")
    first, second = root.findall("testsuite")
    assert first.get("name") == str(failing)
    assert (first.get("tests"), first.get("failures"), first.get("errors")) == ("6", "1", "0")
    cases = first.findall("testcase")
    assert [c.get("name") for c in cases] == [
        "appointment_within_one_week",
        "new_referrals",
        "idt_immediate_response",
        "appointment_within_one_week",
        "aged_18_or_over",
        "registered_with_wigan_gp",
    ]
    (failed,) = [c for c in cases if c.find("failure") is not None]
    assert (
        failed.get("classname")
        == "lot3.a 16 year old is not eligible, but a young carer is not checked"
    )
    assert failed.get("line") == "372"
    failure = failed.find("failure")
    assert failure.get("message") == "expected met, got not met"
    assert (
        f"row behind it: {failing}:367:11 referrals row 2 (r2): fails `age_on_referral >= 18`"
        in failure.text
    )
    (error_case,) = second.findall("testcase")
    error = error_case.find("error")
    assert error is not None and error.get("type") == "SpecError"
    assert "Y007 tab character" in error.text


def test_run_spec_from_python() -> None:
    result = run_spec(specrules.load(LOT3))
    assert result.ok and len(result.checks) == 6
