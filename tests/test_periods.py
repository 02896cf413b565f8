"""Period arithmetic: contract years, quarters, months; hand-worked and property-based."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specrules import PeriodError
from specrules.periods import (
    Period,
    parse_period,
    period_containing,
    periods_within,
    year_containing,
)
from specrules.spec.models import Contract

WIGAN = Contract(start=dt.date(2019, 7, 1), end=dt.date(2022, 6, 30))
FINANCIAL = Contract(start=dt.date(2019, 7, 1), end=dt.date(2022, 6, 30), periods="financial_year")
MID_MONTH = Contract(start=dt.date(2020, 1, 15), end=dt.date(2021, 1, 14))


def test_contract_year_starts_on_the_contract_start():
    year = year_containing(dt.date(2020, 3, 1), WIGAN)
    assert (year.start, year.end, year.label) == (
        dt.date(2019, 7, 1),
        dt.date(2020, 6, 30),
        "2019/20",
    )


def test_quarter_three_of_a_july_year_is_january_to_march():
    q3 = parse_period("2019/20-Q3", WIGAN)
    assert (q3.start, q3.end) == (dt.date(2020, 1, 1), dt.date(2020, 3, 31))
    # `2019-Q3` could be July to September 2019 or this quarter: refused, naming both
    with pytest.raises(PeriodError) as refused:
        parse_period("2019-Q3", WIGAN)
    assert str(refused.value) == (
        "`2019-Q3` is ambiguous: this contract's years start on 1 July; write 2019/20-Q3 "
        "(2020-01-01 to 2020-03-31) or, for the calendar quarter, 2019/20-Q1 "
        "(2019-07-01 to 2019-09-30)"
    )


def test_financial_year_quarters():
    q1 = parse_period("2020/21-Q1", FINANCIAL)
    assert (q1.start, q1.end) == (dt.date(2020, 4, 1), dt.date(2020, 6, 30))


def test_leap_year_february_month():
    month = parse_period("2020-02", WIGAN)
    assert (month.start, month.end, month.days) == (dt.date(2020, 2, 1), dt.date(2020, 2, 29), 29)
    # The contract year 2019/20 contains 29 February 2020: 366 days.
    assert parse_period("2019/20", WIGAN).days == 366


def test_contract_starting_mid_month():
    # Years run 15 Jan to 14 Jan; the first quarter ends on 14 April.
    q1 = period_containing(dt.date(2020, 2, 1), "quarter", MID_MONTH)
    assert (q1.start, q1.end) == (dt.date(2020, 1, 15), dt.date(2020, 4, 14))
    q4 = period_containing(dt.date(2021, 1, 14), "quarter", MID_MONTH)
    assert (q4.start, q4.end) == (dt.date(2020, 10, 15), dt.date(2021, 1, 14))


def test_whole_contract_includes_extensions():
    contract = Contract(
        start=dt.date(2019, 7, 1),
        end=dt.date(2022, 6, 30),
        extensions=[{"until": dt.date(2024, 6, 30)}],
    )
    whole = parse_period("contract", contract)
    assert whole.end == dt.date(2024, 6, 30)
    assert parse_period("2023/24", contract).label == "2023/24"


@pytest.mark.parametrize(
    "label, message",
    [
        ("2019/21", "not a year"),
        ("2020-13", "no month 13"),
        ("Q5", "not a period"),
        ("2030/31", "outside the contract"),
        ("2018/19", "outside the contract"),
    ],
)
def test_bad_periods(label, message):
    with pytest.raises(PeriodError, match=message):
        parse_period(label, WIGAN)


days = st.dates(min_value=dt.date(2019, 7, 1), max_value=dt.date(2024, 6, 30))
contracts = st.sampled_from([WIGAN, FINANCIAL, MID_MONTH])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(days, st.sampled_from(["month", "quarter", "year"]), contracts)
def test_every_date_falls_in_exactly_one_period(day, kind, contract):
    period = period_containing(day, kind, contract)
    assert period.start <= day <= period.end
    year = year_containing(day, contract)
    siblings = (
        periods_within(year, kind, contract)
        if kind != "month"
        else [p for p in periods_within(Period(year.start, year.end, "x", "x"), "month", contract)]
    )
    assert sum(p.contains(day) for p in siblings) == 1


@settings(max_examples=100, deadline=None, derandomize=True)
@given(days, contracts)
def test_quarters_partition_their_year(day, contract):
    year = year_containing(day, contract)
    quarters = periods_within(year, "quarter", contract)
    assert len(quarters) == 4
    assert quarters[0].start == year.start and quarters[-1].end == year.end
    for before, after in zip(quarters, quarters[1:], strict=False):
        assert after.start == before.end + dt.timedelta(days=1)
    assert sum(q.days for q in quarters) == year.days


COUNT_SPEC = """
specrules: 1
title: Counting
commissioner: Test
source_document: test
contract: {start: 2019-07-01, end: 2022-06-30}
datasets:
  starts:
    key: id
    date: started_on
    fields: {id: text, started_on: date}
kpis:
  - id: starts
    title: Starts
    dataset: starts
    scoring: count
    threshold: at least 100 per year
    source: {section: t}
"""


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    st.lists(st.dates(min_value=dt.date(2019, 7, 1), max_value=dt.date(2020, 6, 30)), max_size=40)
)
def test_quarterly_counts_sum_to_the_annual_count(dates):
    import pandas as pd

    import specrules

    spec = specrules.loads(COUNT_SPEC)
    frame = pd.DataFrame(
        {"id": [f"S{i}" for i in range(len(dates))], "started_on": [d.isoformat() for d in dates]}
    )
    year = spec.evaluate({"starts": frame}, period="2019/20").verdict("starts")
    quarters = [
        spec.evaluate({"starts": frame}, period=f"2019/20-Q{n}").verdict("starts").value
        for n in range(1, 5)
    ]
    assert year.value == len(dates) == sum(quarters)
