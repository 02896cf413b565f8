"""Judging figures: pro rata, trajectories, baseline reductions, RAG — by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from specrules.dsl.parser import parse_threshold
from specrules.periods import Period
from specrules.verdicts import judge

YEAR = Period(dt.date(2019, 7, 1), dt.date(2020, 6, 30), "year", "2019/20")  # 366 days
START = dt.date(2019, 7, 1)


def test_full_year_against_annual_target():
    j = judge(3600, parse_threshold("at least 3600 per year"), YEAR, START)
    assert (j.status, j.target, j.gap) == ("met", 3600, 0)


def test_part_year_is_judged_pro_rata_by_elapsed_days():
    # As of 30 Sep 2019, 92 of the year's 366 days have passed: 3600 * 92 / 366 = 904.92.
    threshold = parse_threshold("at least 3600 per year")
    j = judge(900, threshold, YEAR, START, as_of=dt.date(2019, 9, 30))
    assert j.target == pytest.approx(3600 * 92 / 366)
    assert j.status == "not met"
    j = judge(905, threshold, YEAR, START, as_of=dt.date(2019, 9, 30))
    assert j.status == "met"


def test_year_end_only_target_is_not_due_mid_year():
    threshold = parse_threshold("at least 3600 per year")
    j = judge(10, threshold, YEAR, START, as_of=dt.date(2019, 9, 30), year_end_only=True)
    assert j.status == "not due"


def test_cumulative_target_follows_a_trajectory_before_its_deadline():
    # Contract from 1 Nov 2017; 12,000 by 30 Apr 2019 (546 days). By 30 Apr 2018 (181 days)
    # the trajectory is 12000 * 181 / 546 = 3978.02.
    start = dt.date(2017, 11, 1)
    period = Period(dt.date(2017, 11, 1), dt.date(2018, 4, 30), "x", "x")
    j = judge(4000, parse_threshold("at least 12000 by 2019-04-30"), period, start)
    assert j.target == pytest.approx(12000 * 181 / 546)
    assert j.status == "met"
    assert j.judged_against.startswith("trajectory")


def test_cumulative_target_after_its_deadline_is_the_whole_target():
    start = dt.date(2017, 11, 1)
    period = Period(dt.date(2018, 11, 1), dt.date(2019, 10, 31), "year", "2018/19")
    j = judge(11999, parse_threshold("at least 12000 by 2019-04-30"), period, start)
    assert (j.status, j.target) == ("not met", 12000)


def test_between_gap_is_the_distance_outside():
    j = judge(260, parse_threshold("between 200 and 250"), YEAR, START)
    assert (j.status, j.gap) == ("not met", 10)
    assert judge(225, parse_threshold("between 200 and 250"), YEAR, START).gap == 0


def test_amber_band():
    # 58% against at least 60%: the gap (2 points) is within 5% of 60% (3 points): amber.
    assert judge(0.58, parse_threshold("at least 60%"), YEAR, START, amber="5%").rag == "amber"
    assert judge(0.56, parse_threshold("at least 60%"), YEAR, START, amber="5%").rag == "red"
    assert judge(0.61, parse_threshold("at least 60%"), YEAR, START, amber="5%").rag == "green"


def test_reduction_in_percentage_points_and_relative():
    points = parse_threshold("reduction of at least 1 percentage point per year from 15.6%")
    year2 = Period(dt.date(2020, 7, 1), dt.date(2021, 6, 30), "year", "2020/21")
    assert judge(0.136, points, year2, START).target == pytest.approx(0.136)  # 15.6 - 2
    relative = parse_threshold("reduction of at least 5% per year from 15.6%")
    assert judge(0.14, relative, year2, START).target == pytest.approx(0.156 * 0.95**2)


def test_at_most_hours():
    j = judge(40, parse_threshold("at most 48 hours"), YEAR, START, unit="hours")
    assert (j.status, j.target) == ("met", 48)
    j = judge(3, parse_threshold("at most 2 days"), YEAR, START, unit="days")
    assert j.status == "not met"
