"""Time zones: both 2024 clock changes in London worked by hand, on every engine.

Clocks went forward at 01:00 GMT on 31 March 2024 (01:00 became 02:00 BST) and back at
02:00 BST on 27 October 2024 (02:00 became 01:00 GMT). Times with no offset are local
London time; times with an offset are instants.
"""

from __future__ import annotations

import re
import textwrap

import pandas as pd
import pytest

import specrules
from specrules.datetimes import NO_SUCH_TIME
from specrules.errors import SpecError

pytest.importorskip("duckdb")

SPEC = textwrap.dedent(
    """\
    specrules: 1
    title: Clock changes
    commissioner: Test
    source_document: test
    contract: {start: 2024-01-01, end: 2024-12-31}
    consequences:
      report: {text: An exception report}
    datasets:
      calls:
        key: call_id
        date: called_at
        fields:
          call_id: text
          called_at: datetime
          answered_at: datetime
        derived:
          waited: hours_between(called_at, answered_at)
    response_times:
      - id: answered_within_two_hours
        title: Answered within two hours
        dataset: calls
        start: called_at
        end: answered_at
        limit: 2 hours
        clock: hours
        target: at least 50%
        consequence: report
        source: {section: "1"}
    kpis:
      - id: hours_waited
        title: Hours waited in all
        dataset: calls
        scoring: continuous
        observation: waited
        aggregate: sum
        threshold: at most 100
        consequence: report
        source: {section: "2"}
      - id: called_before_one
        title: Called before one in the morning
        dataset: calls
        scoring: proportion
        numerator: hour(called_at) < 1
        threshold: at least 50%
        consequence: report
        source: {section: "3"}
    """
)
# Elapsed, worked by hand in UTC:
# S1 31 Mar 00:30 GMT (00:30Z) -> 03:30 BST (02:30Z): 2 hours, not 3; on time (limit 2)
# S2 31 Mar 00:59 GMT (00:59Z) -> 02:00 BST (01:00Z): 1 minute = 1/60 hour
# F1 27 Oct 00:30 BST (23:30Z on the 26th) -> 02:30 GMT (02:30Z): 3 hours, not 2; late
# F2 27 Oct 01:30+01:00 (00:30Z) -> 01:30+00:00 (01:30Z): 1 hour, though both say 01:30
# F3 27 Oct 00:45+01:00 (23:45Z) -> 01:15Z: 1.5 hours
# J1 30 Jun 23:30Z (1 Jul 00:30 BST, so its period is July) -> 1 Jul 01:00+01:00 (00:00Z): 0.5
CALLS = """\
call_id,called_at,answered_at
S1,2024-03-31T00:30,2024-03-31T03:30
S2,2024-03-31T00:59,2024-03-31T02:00
F1,2024-10-27T00:30,2024-10-27T02:30
F2,2024-10-27T01:30+01:00,2024-10-27T01:30+00:00
F3,2024-10-27T00:45+01:00,2024-10-27T01:15:00Z
J1,2024-06-30T23:30:00Z,2024-07-01T01:00+01:00
"""


@pytest.fixture(scope="module")
def spec() -> specrules.Spec:
    return specrules.loads(SPEC)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("calls")
    (path / "calls.csv").write_text(CALLS)
    return path


def _check_clock_changes(evaluation) -> None:
    verdicts = {v.rule_id: v for v in evaluation.verdicts}
    # on time: S1 (2.0), S2, F2 (1.0), F3 (1.5), J1 (0.5); F1 took 3 hours: 5 of 6
    timed = verdicts["answered_within_two_hours"]
    assert (timed.numerator, timed.denominator) == (5, 6)
    assert [(b.key, b.reason) for b in timed.breaches] == [
        ("F1", "late: 3.0 hours after the start; limit 2.0 hours")
    ]
    # 2 + 1/60 + 3 + 1 + 1.5 + 0.5 hours
    assert verdicts["hours_waited"].value == pytest.approx(8 + 1 / 60)
    # local hours: S1 00:30, S2 00:59, F1 00:30, F2 01:30, F3 00:45, J1 00:30 (BST): 5 of 6
    early = verdicts["called_before_one"]
    assert (early.numerator, early.denominator) == (5, 6)
    assert evaluation.data_issues == []


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_both_2024_clock_changes(spec, folder, engine) -> None:
    _check_clock_changes(spec.evaluate(folder, period="2024", engine=engine))


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_an_instant_is_placed_in_its_local_month(spec, folder, engine) -> None:
    # J1 was at 23:30 UTC on 30 June: 00:30 on 1 July in London, so July's, not June's.
    july = spec.evaluate(folder, period="2024-07", engine=engine)
    assert july.verdict("hours_waited").value == pytest.approx(0.5)
    june = spec.evaluate(folder, period="2024-06", engine=engine)
    assert june.verdict("called_before_one").denominator == 0


def test_the_rows_behind_a_verdict_show_the_fields_not_the_hidden_instants(spec, folder):
    # Each date-time keeps its instant in a hidden column (`called_at__utc`) for the engines;
    # the rows a user is shown hold the declared fields only.
    rows = spec.evaluate(folder, period="2024").rows_behind("answered_within_two_hours")
    assert list(rows["call_id"]) == ["F1"]  # the one late call (see above)
    assert {"called_at", "answered_at"} <= set(rows.columns)
    assert not [c for c in rows.columns if c.endswith("__utc")]


def test_both_2024_clock_changes_on_spark(spec, folder) -> None:
    # Without Java, Spark fails to start (DataError): a failure, never a skip.
    _check_clock_changes(spec.evaluate(folder, period="2024", engine="spark"))


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_local_times_that_do_not_exist_or_happen_twice_are_data_issues(
    spec, tmp_path, engine
) -> None:
    (tmp_path / "calls.csv").write_text(
        "call_id,called_at,answered_at\n"
        "G1,2024-03-31T01:30,2024-03-31T03:00\n"  # 01:30 did not happen on 31 March
        "A1,2024-10-27T01:30,2024-10-27T03:00\n"  # 01:30 happened twice on 27 October
        "A2,2024-10-27T01:30+00:00,2024-10-27T03:00\n"  # the offset settles it
        "B1,2024-10-27T01:00:00,2024-10-27T02:00\n"  # 01:00 happened twice too; 02:00 once
    )
    evaluation = spec.evaluate(tmp_path, period="2024", engine=engine)
    issues = {(i.row, i.column): i.message for i in evaluation.data_issues}
    assert set(issues) == {(1, "called_at"), (2, "called_at"), (4, "called_at")}
    assert issues[(1, "called_at")].startswith("no such local time in Europe/London")
    assert "happens twice in Europe/London" in issues[(2, "called_at")]
    # every row is still evaluated; the three whose call time is unknown have no date to
    # place them in a period, and say so; A2 (01:30Z to 03:00Z, 1.5 hours) is on time
    assert evaluation.rows["calls"].evaluated == 4
    timed = evaluation.verdict("answered_within_two_hours")
    assert (timed.numerator, timed.denominator) == (1, 1)
    assert {e.reason: e.count for e in timed.excluded} == {
        "no date to place the row in a period": 3
    }


def test_another_zone_for_one_dataset(tmp_path) -> None:
    text = SPEC.replace("    key: call_id\n", "    key: call_id\n    timezone: UTC\n")
    assert "timezone: UTC" in text
    spec = specrules.loads(text)
    (tmp_path / "calls.csv").write_text(CALLS)
    # In UTC nothing changes clocks: S1 takes 3 hours, F1 2 hours (both wall-clock spans).
    evaluation = spec.evaluate(tmp_path, period="2024", engine="pandas")
    late = [b.key for b in evaluation.verdict("answered_within_two_hours").breaches]
    assert late == ["S1"]


def test_an_unknown_time_zone_is_a_located_error_with_a_suggestion() -> None:
    text = SPEC.replace("contract:", "timezone: Europe/Londn\ncontract:")
    with pytest.raises(SpecError) as caught:
        specrules.loads(text, "spec.yaml")
    message = str(caught.value)
    assert "spec.yaml:5:" in message and "did you mean `Europe/London`?" in message


def test_the_missing_hour_s_hint_gives_a_time_in_that_hour_with_its_offset() -> None:
    """The example in the message for a local time that does not exist is written with an
    offset and lands at 02:30 British Summer Time, just after the clocks go forward in London
    (01:00 UTC on 31 March 2024), as the message says."""
    example = re.search(r"such as (\S+),", NO_SUCH_TIME).group(1)
    local = pd.Timestamp(example).tz_convert("Europe/London")
    assert (local.day, local.hour, local.minute) == (31, 2, 30)
    assert local.utcoffset() == pd.Timedelta(hours=1)
