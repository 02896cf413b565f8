"""Seconds and minutes: durations, thresholds, limits, clocks, functions and how figures read;
and rule ids as the source writes them (`C1_mean`).

Every figure is worked by hand from the rows written below, on pandas and DuckDB.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import specrules
from specrules import SpecError
from specrules.dsl import ir
from specrules.dsl.parser import parse_expression
from specrules.dsl.printer import to_text
from specrules.engine.sql.rule_rows import spec_sql
from specrules.report.figures import format_value
from specrules.report.view import rows_file_name
from specrules.verdicts import amount_value


def test_seconds_and_minutes_are_units() -> None:
    assert parse_expression("90 seconds") == ir.Duration(90, "seconds")
    assert parse_expression("1 second") == ir.Duration(1, "seconds")
    assert to_text(ir.Duration(1, "seconds")) == "1 second"
    assert to_text(parse_expression("7 minutes")) == "7 minutes"


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (15 / 1440, "days", "15 minutes"),  # a quarter of an hour, in days
        (0.5, "minutes", "30 seconds"),
        (0.5, "hours", "30 minutes"),
        (12.5, "minutes", "12.5 minutes"),
        (2.0, "days", "2 days"),
        (0.0, "minutes", "0 minutes"),
    ],
)
def test_a_small_length_of_time_reads_in_a_smaller_unit(value, unit, shown) -> None:
    assert format_value(value, unit) == shown


SPEC = textwrap.dedent(
    """\
    specrules: 1
    title: Ambulance clocks
    commissioner: Test ICB
    source_document: tests/test_units.py
    contract: {start: 2024-04-01, end: 2025-03-31}
    datasets:
      calls:
        key: call_id
        date: call_at
        fields: {call_id: text, call_at: datetime, answered_at: datetime, arrived_at: datetime}
    response_times:
      - id: C1_arrival
        title: Arrival within 7 minutes
        dataset: calls
        start: call_at
        end: arrived_at
        limit: 7 minutes
        clock: minutes
        period: contract
        source: {section: test}
      - id: answer_30s
        title: Answer within 30 seconds
        dataset: calls
        start: call_at
        end: answered_at
        limit: 30 seconds
        clock: seconds
        period: contract
        source: {section: test}
    kpis:
      - id: C1_mean
        title: Mean time to answer
        dataset: calls
        scoring: continuous
        observation: seconds_between(call_at, answered_at)
        aggregate: mean
        threshold: at most 20
        period: contract
        source: {section: test}
      - id: arrival_mean
        title: Mean time to arrive, in minutes
        dataset: calls
        scoring: continuous
        observation: minutes_between(call_at, arrived_at)
        aggregate: max
        period: contract
        monitoring_only: true
        source: {section: test}
      - id: arrival_days
        title: Mean time to arrive, no unit given
        dataset: calls
        scoring: continuous
        observation: arrived_at - call_at
        aggregate: mean
        period: contract
        monitoring_only: true
        source: {section: test}
    """
)
CALLS = """\
call_id,call_at,answered_at,arrived_at
k1,2024-05-01T10:00:00,2024-05-01T10:00:10,2024-05-01T10:05:00
k2,2024-05-01T11:00:00,2024-05-01T11:00:30,2024-05-01T11:07:00
k3,2024-05-01T12:00:00,2024-05-01T12:00:45,2024-05-01T12:09:30
"""
# Worked by hand:
#   arrivals 5, 7 and 9.5 minutes: 7 is on the limit (on time), 9.5 late → 2 of 3 on time;
#     k3's reason: late: 9.5 minutes after the start; limit 7.0 minutes (a tenth, as for hours)
#   answers 10, 30, 45 seconds: k3 late → 2 of 3; reason: late: 45.0 seconds …; limit 30.0
#   C1_mean: (10 + 30 + 45) / 3 = 28.33… seconds, above 20: not met
#   arrival_mean: the max of 5, 7, 9.5 minutes = 9.5
#   arrival_days: (5 + 7 + 9.5) / 3 = 7.1666… minutes, in days (no threshold): 7.1666 / 1440


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("units")
    (path / "calls.csv").write_text(CALLS, encoding="utf-8")
    (path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    return path


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "spark"])
def test_clocks_and_functions_in_minutes_and_seconds(folder, engine) -> None:
    evaluation = specrules.load(folder / "spec.yaml").evaluate(str(folder), engine=engine)
    by_id = {v.rule_id: v for v in evaluation.verdicts}
    arrival, answer = by_id["C1_arrival"], by_id["answer_30s"]
    assert (arrival.numerator, arrival.denominator, arrival.status) == (2, 3, "not met")
    assert [r.reason for r in arrival.breaches] == [
        "late: 9.5 minutes after the start; limit 7.0 minutes"
    ]
    assert (answer.numerator, answer.denominator) == (2, 3)
    assert [r.reason for r in answer.breaches] == [
        "late: 45.0 seconds after the start; limit 30.0 seconds"
    ]
    assert by_id["C1_mean"].value == pytest.approx(85 / 3)
    assert by_id["C1_mean"].status == "not met"
    assert by_id["arrival_mean"].value == pytest.approx(9.5)
    days = by_id["arrival_days"]
    assert (days.unit, days.value) == ("days", pytest.approx(21.5 / 3 / 1440))


def test_the_reports_read_a_small_figure_in_minutes(folder, capsys) -> None:
    from specrules.cli import main

    main(["evaluate", str(folder / "spec.yaml"), "--data", str(folder)])
    table = capsys.readouterr().out
    # 21.5 / 3 = 7.1666… minutes, a fraction of a day, reads as 7.2 minutes
    assert "7.2 minutes" in table


@pytest.mark.parametrize(
    ("old", "new", "code", "hint"),
    [
        ("limit: 7 minutes", "limit: 7 minuts", "E101", "did you mean `minutes` (a unit)?"),
        ("limit: 30 seconds", "limit: 30 secnds", "E101", "did you mean `seconds` (a unit)?"),
        ("clock: seconds", "clock: secs", "S003", "did you mean `seconds`?"),
    ],
)
def test_a_misspelt_unit_is_located_with_the_right_one(old, new, code, hint) -> None:
    with pytest.raises(SpecError) as caught:
        specrules.loads(SPEC.replace(old, new), "spec.yaml")
    (found,) = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert (found.code, found.hint) == (code, hint)
    line = SPEC.replace(old, new).splitlines()[found.line - 1]
    assert new.split(": ")[0] in line


# ---------------------------------------------------------------- rule ids as written
def test_upper_case_ids_are_kept_in_results_files_and_sql(folder) -> None:
    spec = specrules.load(folder / "spec.yaml")
    assert spec.rule_ids[:2] == ["C1_arrival", "answer_30s"]
    verdict = spec.evaluate(str(folder)).verdicts[0]
    assert rows_file_name(verdict) == "C1_arrival_contract.csv"
    # unquoted, Postgres would fold C1_arrival to c1_arrival: the CTE and the summary that
    # reads it both quote it, so they name the same table
    postgres = spec_sql(spec.plan, "postgres")
    assert '"C1_arrival" AS (' in postgres and 'FROM "C1_arrival"' in postgres


def test_ids_that_differ_only_in_case_are_refused() -> None:
    text = SPEC.replace("id: answer_30s", "id: c1_ARRIVAL")
    with pytest.raises(SpecError) as caught:
        specrules.loads(text, "spec.yaml")
    (found,) = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert found.code == "S201" and "`C1_arrival` differs only in case" in found.message


@pytest.mark.parametrize(
    ("written", "hint"),
    [("C1-mean", "write `C1_mean`"), ("90th centile", "write `r_90th_centile`")],
)
def test_an_id_that_cannot_be_used_gets_the_exact_id_to_write(written, hint) -> None:
    with pytest.raises(SpecError) as caught:
        specrules.loads(SPEC.replace("id: C1_mean", f"id: {written}"), "spec.yaml")
    (found,) = [d for d in caught.value.diagnostics if d.severity == "error"]
    assert (found.code, found.hint) == ("S003", hint)


@pytest.mark.parametrize(
    "amount, unit, expected",
    [
        # A month counts as 30.4375 days: 730.5 hours, 43,830 minutes.
        (ir.Duration(1, "months"), "hours", 730.5),
        (ir.Duration(1, "months"), "minutes", 43830.0),
        # A year is 365.25 days; a working day counts as a day: 24 hours.
        (ir.Duration(1, "years"), "days", 365.25),
        (ir.Duration(2, "working days"), "hours", 48.0),
        (ir.Duration(90, "seconds"), "minutes", 1.5),
    ],
)
def test_a_threshold_of_months_or_working_days_is_read_in_the_figure_s_unit(
    amount: ir.Duration, unit: str, expected: float
) -> None:
    assert amount_value(amount, unit) == pytest.approx(expected)
