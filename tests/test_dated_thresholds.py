"""Thresholds with dated values: each period judged against the value in force on its last day.

Worked by hand. Contract 2023-04-01 to 2025-03-31, financial years.

kpi `faster_diagnosis` (share of referrals told within 28 days), per year:
  2023/24 (rows r1-r4): told = yes, yes, yes, no  → 3/4 = 75%; in force on 2024-03-31:
          `at least 75%` (2023-04-01 until 2024-03-31) → met
  2024/25 (rows r5-r8): yes, yes, yes, no → 3/4 = 75%; in force on 2025-03-31:
          `at least 80%` (from 2024-04-01) → not met

kpi `faster_diagnosis_quarterly`, per quarter, target steps up on 2024-01-01:
  2023/24-Q3 (r3 on 2023-11-10, told) → 1/1 = 100% against 75% (last day 2023-12-31) → met
  2023/24-Q4 (r4 on 2024-02-01, not told) → 0/1 = 0% against 90% (last day 2024-03-31) → not met

response time `seen_in_14_days` (seen within 14 days), per year:
  2023/24: r1 seen after 10 days, r2 after 20, r3 after 5, r4 never → 2/4 = 50%; in force
          on 2024-03-31: 50% → met
  2024/25: r5 3 days, r6 30 days, r7 2 days, r8 4 days → 3/4 = 75%; in force: 100% → not met
"""

from __future__ import annotations

import datetime as dt
import textwrap

import duckdb
import pandas as pd
import pytest

import specrules
from specrules import SpecError
from specrules.engine.sql.create_tables import create_tables
from specrules.engine.sql.verdict_table import verdict_sql

SPEC = textwrap.dedent(
    """\
    specrules: 1
    title: Dated thresholds
    commissioner: Test
    source_document: test
    contract:
      start: 2023-04-01
      end: 2025-03-31
      periods: financial_year
    datasets:
      referrals:
        key: referral_id
        date: received_on
        fields:
          referral_id: text
          received_on: date
          seen_on: date
          told_in_28_days: boolean
    response_times:
      - id: seen_in_14_days
        title: Seen within 14 days
        dataset: referrals
        start: received_on
        end: seen_on
        limit: 14 days
        target:
          - {from: 2023-04-01, until: 2024-03-31, value: 50%}
          - {from: 2024-04-01, value: 100%}
        source: {section: "t"}
    kpis:
      - id: faster_diagnosis
        title: Told within 28 days
        dataset: referrals
        scoring: proportion
        numerator: told_in_28_days
        threshold:
          - {from: 2023-04-01, until: 2024-03-31, value: at least 75%}
          - {from: 2024-04-01, value: at least 80%}
        source: {section: "t"}
      - id: faster_diagnosis_quarterly
        title: Told within 28 days, by quarter
        dataset: referrals
        scoring: proportion
        period: quarter
        numerator: told_in_28_days
        threshold:
          - {from: 2023-04-01, until: 2023-12-31, value: at least 75%}
          - {from: 2024-01-01, value: at least 90%}
        source: {section: "t"}
    """
)

ROWS = pd.DataFrame(
    {
        "referral_id": [f"r{i}" for i in range(1, 9)],
        "received_on": [
            "2023-05-01",
            "2023-06-01",
            "2023-11-10",
            "2024-02-01",
            "2024-05-01",
            "2024-06-01",
            "2024-07-01",
            "2024-08-01",
        ],
        "seen_on": [
            "2023-05-11",
            "2023-06-21",
            "2023-11-15",
            "",
            "2024-05-04",
            "2024-07-01",
            "2024-07-03",
            "2024-08-05",
        ],
        "told_in_28_days": ["true", "true", "true", "false", "true", "true", "true", "false"],
    }
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("dated")
    ROWS.to_csv(path / "referrals.csv", index=False)
    return path


@pytest.fixture(scope="module", params=["pandas", "duckdb"])
def evaluation(request, folder):
    return specrules.loads(SPEC).evaluate(folder, engine=request.param)


def _verdict(evaluation, rule_id, period):
    return next(v for v in evaluation.verdicts if v.rule_id == rule_id and v.period == period)


def test_each_year_is_judged_against_the_value_in_force(evaluation) -> None:
    first = _verdict(evaluation, "faster_diagnosis", "2023/24")
    assert (first.value, first.status, first.threshold) == (0.75, "met", "at least 75%")
    assert (str(first.threshold_from), str(first.threshold_until)) == ("2023-04-01", "2024-03-31")
    second = _verdict(evaluation, "faster_diagnosis", "2024/25")
    assert (second.value, second.status, second.threshold) == (0.75, "not met", "at least 80%")
    assert (str(second.threshold_from), second.threshold_until) == ("2024-04-01", None)
    assert second.target == pytest.approx(0.8)


def test_a_quarter_takes_the_value_in_force_on_its_last_day(evaluation) -> None:
    q3 = _verdict(evaluation, "faster_diagnosis_quarterly", "2023/24-Q3")
    assert (q3.value, q3.status, q3.threshold) == (1.0, "met", "at least 75%")
    q4 = _verdict(evaluation, "faster_diagnosis_quarterly", "2023/24-Q4")
    assert (q4.value, q4.status, q4.threshold) == (0.0, "not met", "at least 90%")


def test_a_period_no_value_covers_is_reported_not_judged(folder) -> None:
    # the quarterly schedule moved to start on 2023-07-01: 2023/24-Q1 (r1, r2, both told:
    # 2/2) ends on 2023-06-30, before any value is in force
    text = SPEC.replace(
        "- {from: 2023-04-01, until: 2023-12-31", "- {from: 2023-07-01, until: 2023-12-31"
    )
    evaluation = specrules.loads(text).evaluate(folder)
    q1 = _verdict(evaluation, "faster_diagnosis_quarterly", "2023/24-Q1")
    assert (q1.value, q1.status, q1.threshold) == (1.0, "monitoring", None)
    assert q1.reason == "no threshold in force on 2023-06-30"


def test_threshold_at_is_the_one_lookup_of_the_value_in_force() -> None:
    # CompiledRule.threshold_at(day): what the engines (Judge.base, Judge.decide) and the
    # SQL export (verdict_table) all read. The KPI's values: at least 75% from 2023-04-01
    # until 2024-03-31, at least 80% from 2024-04-01 (no end).
    rules = {rule.id: rule for rule in specrules.loads(SPEC).plan.rules}
    kpi = rules["faster_diagnosis"]
    last_day_of_first = kpi.threshold_at(dt.date(2024, 3, 31))
    assert (last_day_of_first.text, last_day_of_first.missing) == ("at least 75%", None)
    assert (last_day_of_first.start, last_day_of_first.end) == (
        dt.date(2023, 4, 1),
        dt.date(2024, 3, 31),
    )
    assert last_day_of_first.threshold.amount.value == 75  # the percentage as written
    first_of_second = kpi.threshold_at(dt.date(2024, 4, 1))
    assert (first_of_second.text, first_of_second.start, first_of_second.end) == (
        "at least 80%",
        dt.date(2024, 4, 1),
        None,
    )
    before = kpi.threshold_at(dt.date(2023, 3, 31))  # the day before the first value
    assert (before.threshold, before.text) == (None, None)
    assert before.missing == "no threshold in force on 2023-03-31"
    # a rule with one threshold: that one, on any day, with no dates
    schedule = (
        "    threshold:\n"
        "      - {from: 2023-04-01, until: 2024-03-31, value: at least 75%}\n"
        "      - {from: 2024-04-01, value: at least 80%}\n"
    )
    assert SPEC.count(schedule) == 1
    one = specrules.loads(SPEC.replace(schedule, "    threshold: at least 70%\n")).plan.rules
    single = next(rule for rule in one if rule.id == "faster_diagnosis").threshold_at(
        dt.date(2030, 1, 1)
    )
    assert (single.text, single.start, single.end, single.missing) == (
        "at least 70%",
        None,
        None,
        None,
    )
    assert single.threshold.amount.value == 70


def test_the_sql_export_takes_the_value_in_force(folder) -> None:
    # the exported verdict table on DuckDB: the same thresholds per year as the engines
    # (2023/24 at least 75%, 2024/25 at least 80%; 3/4 = 75% each year: met, not met)
    spec = specrules.loads(SPEC)
    con = duckdb.connect()
    con.execute(create_tables(spec.model, "duckdb"))
    con.execute(
        "INSERT INTO referrals SELECT referral_id, CAST(received_on AS DATE), "
        "CAST(NULLIF(seen_on, '') AS DATE), told_in_28_days = 'true' FROM ROWS"
    )
    table = con.execute(verdict_sql(spec.plan, "duckdb")).df()
    kpi = table[table.rule_id == "faster_diagnosis"].set_index("period")
    assert kpi.loc["2023/24", ["threshold", "status"]].tolist() == ["at least 75%", "met"]
    assert kpi.loc["2024/25", ["threshold", "status"]].tolist() == ["at least 80%", "not met"]
    assert kpi.loc["2024/25", "target"] == pytest.approx(0.8)


def test_a_response_time_target_can_change(evaluation) -> None:
    first = _verdict(evaluation, "seen_in_14_days", "2023/24")
    assert (first.numerator, first.denominator, first.status) == (2, 4, "met")
    assert first.threshold == "50%"
    second = _verdict(evaluation, "seen_in_14_days", "2024/25")
    assert (second.numerator, second.denominator, second.status) == (3, 4, "not met")
    assert second.threshold == "100%"


def test_explain_shows_the_schedule() -> None:
    from specrules.authoring.explain import explain

    text = explain(specrules.loads(SPEC))
    assert "2023-04-01 until 2024-03-31: at least 75%" in str(text)
    assert "2024-04-01 onwards: at least 80%" in str(text)


def _bad(threshold: str) -> str:
    start = SPEC.index("    threshold:\n      - {from: 2023-04-01, until: 2024-03-31")
    end = SPEC.index("    source", start)
    return SPEC[:start] + textwrap.indent(threshold, " " * 4) + SPEC[end:]


@pytest.mark.parametrize(
    ("threshold", "where", "words"),
    [
        (
            "threshold:\n  - {from: 2023-04-01, until: 2024-03-31, value: at least 75%}\n"
            "  - {from: 2024-03-01, value: at least 80%}\n",
            "2024-03-01",
            "overlap",
        ),
        (
            "threshold:\n  - {from: 2023-04-01, value: at least 75%}\n"
            "  - {from: 2024-04-01, value: at least 80%}\n",
            "{from: 2024-04-01",
            "overlap",
        ),
        (
            "threshold:\n  - {from: 2023-04-01, until: 2024-03-30, value: at least 75%}\n"
            "  - {from: 2024-04-01, value: at least 80%}\n",
            "{from: 2024-04-01",
            "gap",
        ),
        (
            "threshold:\n  - {from: 2023-04-01, until: 2023-03-30, value: at least 75%}\n",
            "until: 2023-03-30",
            "before it starts",
        ),
    ],
)
def test_overlaps_and_gaps_are_located_spec_errors(threshold, where, words) -> None:
    """The error points at the line of the value that overlaps, leaves a gap or ends early."""
    text = _bad(threshold)
    line = text[: text.index(where, text.index("id: faster_diagnosis"))].count("\n") + 1
    with pytest.raises(SpecError) as caught:
        specrules.loads(text, "spec.yaml")
    message = str(caught.value)
    assert f"spec.yaml:{line}:" in message and words in message and "E306" in message


def test_a_mistake_inside_a_schedule_is_reported_once_inside_it() -> None:
    # A value with no `from` is S002 at its item; before, pydantic's other reading of the
    # union (`threshold` as text) also printed "S003 … should be a valid string".
    text = _bad("threshold:\n  - {until: 2024-03-31, value: at least 75%}\n")
    with pytest.raises(SpecError) as caught:
        specrules.loads(text, "spec.yaml")
    found = [(d.code, d.message) for d in caught.value.diagnostics]
    assert found == [("S002", "missing required key `from`")]
