"""Snapshot rules: judged as at the end of each period the data covers, every row considered.

Worked by hand. Contract 2024-04-01 to 2025-03-31 (financial year), monthly snapshots.
Pathways (clock_start is the dataset's date, so the data covers 2024-01-10 to 2024-06-05:
the period ends of April, May and June 2024; July to March have no data):

  id  clock_start  clock_stop  specialty
  p1  2024-01-10   -           A
  p2  2024-04-15   2024-05-20  A
  p3  2024-04-20   -           B
  p4  2024-03-01   2024-04-10  B
  p5  2024-06-05   -           A

Waiting at the period end (started on or before it, not stopped by it), and days waited
(126 days = 18 weeks):
  2024-04-30: p1 (21+29+31+30 = 111 days), p2 (15), p3 (10); p4 stopped, p5 not started
              → 3 of 3 within 18 weeks = 100% (met, at least 92%); A 2/2, B 1/1
  2024-05-31: p1 (111+31 = 142 ✗), p3 (41); p2 stopped on 05-20
              → 1 of 2 = 50% (not met); A 0/1, B 1/1
  2024-06-30: p1 (172 ✗), p3 (71), p5 (25)
              → 2 of 3 (not met); A 1/2, B 1/1
caseload (count, waiting at period end): 3, 2, 3
started_in_period (count, clock_start between period_start and period_end): April p2, p3 = 2;
  May 0; June p5 = 1
"""

from __future__ import annotations

import datetime as dt
import textwrap

import pandas as pd
import pytest

import specrules
from specrules import SpecError

WAITING = "clock_start <= period_end and (clock_stop is missing or clock_stop > period_end)"

SPEC = textwrap.dedent(
    f"""\
    specrules: 1
    title: Snapshots
    commissioner: Test
    source_document: test
    contract: {{start: 2024-04-01, end: 2025-03-31, periods: financial_year}}
    datasets:
      pathways:
        key: pathway_id
        date: clock_start
        fields:
          pathway_id: text
          clock_start: date
          clock_stop: date
          specialty: {{type: enumeration, values: [A, B]}}
      waiting_list:
        key: entry_id
        fields:
          entry_id: text
          added_on: date
    kpis:
      - id: incomplete_within_18_weeks
        title: Incomplete pathways waiting 18 weeks or less
        dataset: pathways
        scoring: proportion
        snapshot: true
        period: month
        initial_population: {WAITING}
        numerator: days_between(clock_start, period_end) <= 126
        breakdowns: [specialty]
        threshold: at least 92%
        source: {{section: "t"}}
      - id: caseload
        title: Pathways waiting at the month end
        dataset: pathways
        scoring: count
        snapshot: true
        period: month
        initial_population: {WAITING}
        monitoring_only: true
        source: {{section: "t"}}
      - id: started_in_period
        title: Pathways started in the month
        dataset: pathways
        scoring: count
        snapshot: true
        period: month
        initial_population: clock_start >= period_start and clock_start <= period_end
        monitoring_only: true
        source: {{section: "t"}}
    """
)

ROWS = pd.DataFrame(
    {
        "pathway_id": ["p1", "p2", "p3", "p4", "p5"],
        "clock_start": ["2024-01-10", "2024-04-15", "2024-04-20", "2024-03-01", "2024-06-05"],
        "clock_stop": ["", "2024-05-20", "", "2024-04-10", ""],
        "specialty": ["A", "A", "B", "B", "A"],
    }
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("snapshots")
    ROWS.to_csv(path / "pathways.csv", index=False)
    pd.DataFrame({"entry_id": ["e1"], "added_on": ["2024-05-01"]}).to_csv(
        path / "waiting_list.csv", index=False
    )
    return path


@pytest.fixture(scope="module", params=["pandas", "duckdb"])
def evaluation(request, folder):
    return specrules.loads(SPEC).evaluate(folder, engine=request.param)


def _by_period(evaluation, rule_id):
    return {v.period: v for v in evaluation.verdicts if v.rule_id == rule_id}


def test_one_verdict_per_month_end(evaluation) -> None:
    verdicts = _by_period(evaluation, "incomplete_within_18_weeks")
    assert len(verdicts) == 12  # every month of the contract
    figures = {label: (v.numerator, v.denominator, v.status) for label, v in verdicts.items()}
    assert figures["2024-04"] == (3, 3, "met")
    assert figures["2024-05"] == (1, 2, "not met")
    assert figures["2024-06"] == (2, 3, "not met")
    assert verdicts["2024-04"].period_end.isoformat() == "2024-04-30"


def test_months_the_data_does_not_reach_have_no_data(evaluation) -> None:
    july = _by_period(evaluation, "incomplete_within_18_weeks")["2024-07"]
    assert july.status == "no data"
    assert "2024-01-10 to 2024-06-05" in july.reason


def test_groups_and_failing_rows_at_each_month_end(evaluation) -> None:
    verdicts = _by_period(evaluation, "incomplete_within_18_weeks")
    groups = {
        (label, g.group["specialty"]): (g.numerator, g.denominator)
        for label in ("2024-04", "2024-05", "2024-06")
        for g in verdicts[label].groups
    }
    assert groups == {
        ("2024-04", "A"): (2, 2),
        ("2024-04", "B"): (1, 1),
        ("2024-05", "A"): (0, 1),
        ("2024-05", "B"): (1, 1),
        ("2024-06", "A"): (1, 2),
        ("2024-06", "B"): (1, 1),
    }
    assert [r.key for r in verdicts["2024-05"].breaches] == ["p1"]


def test_counts_at_each_period_end_and_in_each_period(evaluation) -> None:
    caseload = _by_period(evaluation, "caseload")
    assert [caseload[m].value for m in ("2024-04", "2024-05", "2024-06")] == [3, 2, 3]
    started = _by_period(evaluation, "started_in_period")
    assert [started[m].value for m in ("2024-04", "2024-05", "2024-06")] == [2, 0, 1]


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_period_selects_one_snapshot(folder, engine) -> None:
    evaluation = specrules.loads(SPEC).evaluate(folder, period="2024-05", engine=engine)
    verdicts = _by_period(evaluation, "incomplete_within_18_weeks")
    assert list(verdicts) == ["2024-05"]
    assert (verdicts["2024-05"].numerator, verdicts["2024-05"].denominator) == (1, 2)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_snapshot_after_the_as_of_date_is_not_due(folder, engine) -> None:
    # as of 2024-05-15: April's snapshot (taken 2024-04-30) is judged; May's (2024-05-31) is
    # not due yet, though May has started
    evaluation = specrules.loads(SPEC).evaluate(
        folder, period="2024/25", as_of=dt.date(2024, 5, 15), engine=engine
    )
    verdicts = _by_period(evaluation, "incomplete_within_18_weeks")
    assert verdicts["2024-04"].status == "met"
    assert verdicts["2024-05"].status == "not due"
    assert "2024-05-31" in verdicts["2024-05"].reason


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_an_extract_as_at_a_date_covers_every_period_end_up_to_it(folder, engine) -> None:
    # No pathway starts after 2024-06-05, but an extract as at 2024-08-31 still shows the
    # list at the ends of July and August. 2024-07-31: p1 (172 + 31 = 203 ✗), p3 (71 + 31 =
    # 102), p5 (25 + 31 = 56) → 2 of 3; 2024-08-31: p1 ✗, p3 (133 ✗), p5 (87) → 1 of 3.
    evaluation = specrules.loads(SPEC).evaluate(
        folder, period="2024/25", as_of=dt.date(2024, 8, 31), engine=engine
    )
    verdicts = _by_period(evaluation, "incomplete_within_18_weeks")
    assert (verdicts["2024-07"].numerator, verdicts["2024-07"].denominator) == (2, 3)
    assert (verdicts["2024-08"].numerator, verdicts["2024-08"].denominator) == (1, 3)
    assert verdicts["2024-08"].status == "not met"
    # without an as-of date the data reaches June only
    plain = _by_period(specrules.loads(SPEC).evaluate(folder, period="2024/25"), "caseload")
    assert plain["2024-07"].status == "no data"


def test_one_period_end_can_be_drilled_into(folder) -> None:
    evaluation = specrules.loads(SPEC).evaluate(folder, period="2024-05")
    rows = evaluation.rows_behind("incomplete_within_18_weeks")
    assert list(rows.pathway_id) == ["p1"]


def test_sql_export_runs_each_row_at_every_period_end(folder) -> None:
    import duckdb

    from specrules.engine.sql.rule_rows import spec_sql

    sql = spec_sql(specrules.loads(SPEC).plan)
    con = duckdb.connect()
    con.execute(
        f"CREATE VIEW pathways AS SELECT * FROM read_csv('{folder / 'pathways.csv'}', "
        "types={'pathway_id': 'VARCHAR', 'clock_start': 'DATE', 'clock_stop': 'DATE', "
        "'specialty': 'VARCHAR'})"
    )
    con.execute("CREATE TABLE waiting_list (entry_id VARCHAR, added_on DATE)")
    figures = {row[0]: row[1:3] for row in con.execute(sql).fetchall()}
    assert figures["incomplete_within_18_weeks 2024-05"] == (1, 2)
    assert figures["caseload 2024-06"] == (None, 3)  # a count has no numerator


def _error(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        specrules.loads(text, "spec.yaml")
    return str(caught.value)


def _line_of(text: str, needle: str, after: str = "") -> int:
    return text[: text.index(needle, text.index(after))].count("\n") + 1


def test_a_snapshot_on_a_dataset_without_dates_is_a_located_error() -> None:
    text = SPEC.replace(
        "    dataset: pathways\n    scoring: count\n    snapshot: true",
        "    dataset: waiting_list\n    scoring: count\n    snapshot: true",
        1,
    ).replace(f"initial_population: {WAITING}\n    monitoring_only", "monitoring_only", 1)
    message = _error(text)
    line = _line_of(text, "snapshot: true", "dataset: waiting_list\n")
    assert f"spec.yaml:{line}:" in message and "S210" in message
    assert "no `date`" in message


def test_period_end_outside_a_snapshot_is_a_located_error() -> None:
    text = SPEC.replace("    snapshot: true\n    period: month\n", "    period: month\n", 1)
    message = _error(text)
    line = _line_of(text, "period_end", "incomplete_within_18_weeks")
    assert f"spec.yaml:{line}:" in message and "E202" in message
    assert "`period_end` is known only in a snapshot rule" in message
    assert "snapshot: true" in message


def test_explain_says_when_the_snapshot_is_taken() -> None:
    from specrules.authoring.explain import explain

    assert "as at the end of each month" in explain(specrules.loads(SPEC))


def test_a_snapshot_over_the_whole_contract_is_refused() -> None:
    text = SPEC.replace(
        "    snapshot: true\n    period: month\n", "    snapshot: true\n    period: contract\n", 1
    )
    message = _error(text)
    assert "S210" in message and "period: month" in message
