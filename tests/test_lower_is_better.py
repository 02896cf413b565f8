"""A share that must stay low (`at most 25%` of patients waiting six weeks or more): the rows
counted in the numerator are the ones behind a breach, and a row whose numerator is unknown
counts there, so that missing data never improves a verdict (DESIGN §4).

The data, worked by hand: eight waits in June 2024 (days waited):
    w1 10, w2 20, w3 41, w4 42, w5 50, w6 (missing), w7 5, w8 30
`six_weeks_or_more` (numerator `waited_days >= 42`, at most 25%): w4 and w5 wait 42 days or
more, and w6's wait is unknown, so counted against the provider: 3 of 8 = 37.5%, not met;
the rows behind the breach are w4, w5, w6. (Leaving w6 out of the numerator would give 2 of
8 = 25%, met: the verdict would move because a value went missing.)
`under_six_weeks` (numerator `waited_days < 42`, at least 75%) says the same from the other
side: w1, w2, w3, w7, w8 = 5 of 8 = 62.5%, not met; failing rows w4, w5, w6.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import specrules
from specrules.engine.sql.create_tables import create_tables
from specrules.engine.sql.verdict_table import verdict_sql

SPEC = """\
specrules: 1
title: Six-week waits
commissioner: test
service: test
source_document: test
contract: {start: 2024-04-01, end: 2025-03-31, periods: financial_year}
datasets:
  waits:
    key: wait_id
    date: requested_on
    fields:
      wait_id: text
      requested_on: date
      waited_days: number
kpis:
  - id: six_weeks_or_more
    title: Waiting six weeks or more
    dataset: waits
    scoring: proportion
    period: month
    numerator: waited_days >= 42
    threshold: at most 25%
    source: {section: test}
  - id: under_six_weeks
    title: Waiting under six weeks
    dataset: waits
    scoring: proportion
    period: month
    numerator: waited_days < 42
    threshold: at least 75%
    source: {section: test}
"""

ROWS = "wait_id,requested_on,waited_days\n" + "".join(
    f"w{i},2024-06-{i:02d},{days}\n"
    for i, days in enumerate(["10", "20", "41", "42", "50", "", "5", "30"], start=1)
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("waits")
    (path / "spec.yaml").write_text(SPEC)
    (path / "waits.csv").write_text(ROWS)
    return path


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_the_numerator_rows_fail_a_share_that_must_stay_low(folder: Path, engine: str) -> None:
    spec = specrules.load(folder / "spec.yaml")
    evaluation = spec.evaluate(folder, period="2024-06", engine=engine)
    verdicts = {v.rule_id: v for v in evaluation.verdicts}

    low = verdicts["six_weeks_or_more"]
    assert (low.status, low.numerator, low.denominator) == ("not met", 3, 8)
    assert low.value == pytest.approx(0.375)
    assert low.breach_count == 3
    assert sorted(b.key for b in low.breaches) == ["w4", "w5", "w6"]
    reasons = {b.key: b.reason for b in low.breaches}
    assert reasons["w4"] == "meets `waited_days >= 42`"
    assert reasons["w6"].startswith("numerator unknown (missing data): counted in the numerator")

    high = verdicts["under_six_weeks"]
    assert (high.status, high.numerator, high.denominator) == ("not met", 5, 8)
    assert high.breach_count == 3
    assert sorted(b.key for b in high.breaches) == ["w4", "w5", "w6"]
    assert {b.key: b.reason for b in high.breaches}["w6"] == "numerator unknown (missing data)"


def test_the_exported_verdict_sql_counts_the_same_failing_rows(folder: Path) -> None:
    spec = specrules.load(folder / "spec.yaml")
    con = duckdb.connect()
    con.execute(create_tables(spec.model, "duckdb"))
    con.execute(
        "INSERT INTO waits BY NAME SELECT * FROM read_csv(?, header = true, all_varchar = true)",
        [str(folder / "waits.csv")],
    )
    got = con.execute(verdict_sql(spec.plan, "duckdb")).df()
    june = got[(got["period"] == "2024-06") & got["group"].isna()].set_index("rule_id")
    assert june.loc["six_weeks_or_more", "numerator"] == 3
    assert june.loc["six_weeks_or_more", "breach_count"] == 3
    assert june.loc["six_weeks_or_more", "status"] == "not met"
    assert june.loc["under_six_weeks", "numerator"] == 5
    assert june.loc["under_six_weeks", "breach_count"] == 3


# ------------------------------------------------------------------ a clock run backwards
CLOCK_SPEC = """\
specrules: 1
title: Four hours
commissioner: test
service: test
source_document: test
contract: {start: 2024-04-01, end: 2025-03-31, periods: financial_year}
datasets:
  stays:
    key: stay_id
    date: arrived_at
    fields:
      stay_id: text
      arrived_at: datetime
      departed_at: datetime
response_times:
  - id: four_hours
    title: Left within four hours of arrival
    dataset: stays
    start: arrived_at
    end: departed_at
    limit: 4 hours
    clock: hours
    period: month
    target: at least 50%
    source: {section: test}
"""

# s1 leaves after 2 hours (on time); s2 after 5 (late); s3 "leaves" an hour before it
# arrives: bad data, not a fast response, so it fails. 1 of 3 on time = 33.3%: not met
# (counting s3 as on time would give 2 of 3 = 66.7%, met).
STAYS = (
    "stay_id,arrived_at,departed_at\n"
    "s1,2024-06-03T10:00,2024-06-03T12:00\n"
    "s2,2024-06-03T10:00,2024-06-03T15:00\n"
    "s3,2024-06-03T10:00,2024-06-03T09:00\n"
)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_clock_that_stops_before_it_starts_fails(tmp_path: Path, engine: str) -> None:
    (tmp_path / "spec.yaml").write_text(CLOCK_SPEC)
    (tmp_path / "stays.csv").write_text(STAYS)
    spec = specrules.load(tmp_path / "spec.yaml")
    verdict = spec.evaluate(tmp_path, period="2024-06", engine=engine).verdicts[0]
    assert (verdict.status, verdict.numerator, verdict.denominator) == ("not met", 1, 3)
    reasons = {b.key: b.reason for b in verdict.breaches}
    assert sorted(reasons) == ["s2", "s3"]
    assert reasons["s3"].startswith("ends before it starts")


def test_a_row_just_late_is_worded_with_the_places_that_show_it() -> None:
    from specrules.engine.common.judging import late_reasons

    # 240 minutes and 1 second is 240.0167 minutes (4 places); 1 hour and 0.1 ms is
    # 1.000000028 hours (9 places); 300 minutes is late by far and keeps one place.
    worded = late_reasons([240 + 1 / 60, 300.0], [240.0, 240.0], "minutes")
    assert list(worded) == [
        "late: 240.0167 minutes after the start; limit 240.0 minutes",
        "late: 300.0 minutes after the start; limit 240.0 minutes",
    ]
    assert late_reasons([1 + 0.0001 / 3600], [1.0], "hours")[0] == (
        "late: 1.000000028 hours after the start; limit 1.0 hours"
    )
