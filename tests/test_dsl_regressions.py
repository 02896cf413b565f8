"""One focused test per bug the property tests (tests/test_properties.py) found.

Each expected value is worked out by hand from the semantics in DESIGN.md section 4 and the
function docs, not taken from either implementation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest

from specrules.dsl import ir
from specrules.dsl.checker import check
from specrules.dsl.parser import parse_expression
from specrules.dsl.printer import to_text
from specrules.engine.pandas.expressions import Context, evaluate_column
from strategies import CATALOG, DTYPES


def column(text: str, index: list[int], **columns: list[Any]) -> list[Any]:
    """`text` evaluated for each row of a frame of dataset `d` holding `columns`."""
    frame = pd.DataFrame(
        {
            name: pd.Series(values, index=index, dtype=DTYPES[name])
            for name, values in columns.items()
        },
        index=pd.Index(index, dtype="int64"),
    )
    checked = check(parse_expression(text), CATALOG, "d")
    result = evaluate_column(checked, Context(frames={"d": frame}, dataset="d", frame=frame))
    assert list(result.index) == index
    return [None if pd.isna(v) else v for v in result.tolist()]


# ------------------------------------------------------------------ parser and printer
def test_a_nul_character_in_quoted_text_is_kept() -> None:
    # Found as Text("\x00"): the parser used NUL as a placeholder for `\\` and turned the
    # character into a backslash.
    assert parse_expression('"a\x00b"') == ir.Text("a\x00b")
    assert to_text(parse_expression('"a\x00b"')) == '"a\x00b"'


def test_escapes_in_quoted_text_still_work() -> None:
    # \\ is a backslash, \" and \' are quote marks; any other backslash is kept as written.
    assert parse_expression(r'"say \"hi\" \\ now"') == ir.Text('say "hi" \\ now')
    assert parse_expression(r"'it\'s'") == ir.Text("it's")
    assert parse_expression(r'"a\nb"') == ir.Text("a\\nb")
    assert parse_expression(r'"\\\""') == ir.Text('\\"')


def test_a_date_time_before_the_year_1000_prints_with_four_digit_year() -> None:
    # Found as `d1 = 999-01-01T00:00:00`: strftime drops leading zeros of the year, so the
    # printed text did not parse.
    moment = ir.DateTime(dt.datetime(999, 1, 1, 7, 5, 9))
    assert to_text(moment) == "0999-01-01T07:05:09"
    assert parse_expression(to_text(moment)) == moment


# ------------------------------------------------------------------ engine
def test_adding_working_days_to_a_date_time_keeps_the_time_of_day() -> None:
    # Found as `0 working days + (2019-01-01 + 1 minute)`: the engine gave 2019-01-02T00:00.
    # 1 January 2019 is a bank holiday, so the clock starts on Wednesday 2 January, 00:01.
    # Monday 4 March 2024 15:00 + 2 working days is Wednesday 6 March 15:00.
    # Saturday 9 March 2024 10:00 rolls forward to Monday 11 March, + 1 is Tuesday 12th.
    result = column(
        "t1 + 2 working days",
        [0, 1, 2],
        t1=[dt.datetime(2024, 3, 4, 15, 0), None, dt.datetime(2024, 3, 8, 9, 30)],
    )
    # Friday 8 March 09:30 + 2 working days is Tuesday 12 March 09:30.
    assert result == [pd.Timestamp("2024-03-06 15:00"), None, pd.Timestamp("2024-03-12 09:30")]
    assert column("0 working days + (2019-01-01 + 1 minute)", [4], t1=[None]) == [
        pd.Timestamp("2019-01-02 00:01")
    ]
    assert column("1 working day + t1", [4], t1=[dt.datetime(2024, 3, 9, 10, 0)]) == [
        pd.Timestamp("2024-03-12 10:00")
    ]


def test_a_fixed_date_moved_by_a_different_amount_on_each_row() -> None:
    # Found as `(if false then 0 months else if b then 0 months else 0 months) + 2019-01-01`
    # on an empty frame (IndexError), and wrong on frames whose index is not 0..n-1.
    # 31 January 2024 + 1 month is 29 February (2024 is a leap year); + 2 months is 31 March;
    # an unknown condition chooses neither branch: the date is unknown.
    result = column(
        "2024-01-31 + (if b then 1 month else 2 months)", [5, 9, 12], b=[True, False, None]
    )
    assert result == [pd.Timestamp("2024-02-29"), pd.Timestamp("2024-03-31"), None]
    # 2024-01-05 is a Friday: - 1 working day is Thursday 4th, - 3 is Tuesday 2nd.
    result = column(
        "2024-01-05 - (if b then 1 working day else 3 working days)", [7, 8], b=[True, False]
    )
    assert result == [pd.Timestamp("2024-01-04"), pd.Timestamp("2024-01-02")]
    assert column("(if b then 1 month else 2 months) + 2019-01-01", [], b=[]) == []


def test_dividing_by_a_zero_duration_is_missing() -> None:
    # Found by probing `(t1 - d1) / 0 minutes`: the engine gave inf, because a zero
    # Timedelta does not compare equal to the number 0 it checked for.
    # 09:30 after midnight divided by 30 minutes is 19; by 0 minutes it is missing.
    t1 = [dt.datetime(2024, 3, 4, 9, 30), dt.datetime(2024, 3, 4, 0, 0)]
    d1 = [dt.datetime(2024, 3, 4), dt.datetime(2024, 3, 4)]
    assert column("(t1 - d1) / 30 minutes", [1, 2], t1=t1, d1=d1) == [19.0, 0.0]
    assert column("(t1 - d1) / 0 minutes", [1, 2], t1=t1, d1=d1) == [None, None]
    # The second row's divisor t1 - d1 is zero; the first's is 9.5 hours.
    assert column("1 hour / (t1 - d1) is missing", [1, 2], t1=t1, d1=d1) == [False, True]


def test_between_an_aggregate_over_no_dates_is_unknown_not_a_crash() -> None:
    # Found by the property tests: `d1 between min(d1) and 2019-01-01` on a column with no
    # dates raised TypeError (datetime64 compared with NA). min over no values is missing,
    # so each row's `between` is unknown, as `d1 >= min(d1)` already was.
    assert column("d1 between min(d1) and 2019-01-01", [1, 2], d1=[None, None]) == [None, None]
    # With one date, 2018-06-01, min is that date: the row is between, the other unknown.
    d1 = [dt.datetime(2018, 6, 1), None]
    assert column("d1 between min(d1) and 2019-01-01", [1, 2], d1=d1) == [True, None]


def test_hours_between_counts_the_hour_lost_at_the_clock_change() -> None:
    # Found by the property tests once elapsed time became true elapsed time: 1 January to
    # 1 April 2019 is 90 days, 2,160 hours on the wall clock, but London's clocks went
    # forward on 31 March, so 2,159 hours passed; the reference had kept wall-clock hours.
    assert column("hours_between(2019-01-01, 2019-04-01)", [1], n1=[None]) == [2159.0]
    # Within one season nothing is lost: 1 to 2 January is 24 hours.
    assert column("hours_between(2019-01-01, 2019-01-02)", [1], n1=[None]) == [24.0]


def test_round_takes_the_places_of_each_row() -> None:
    # Found by probing `round(n1 + 1.25, if b then 1 else 0)`: every row was rounded to the
    # places of the first row. 2.5 to 1 place is 2.5; 1.25 to 0 places is 1 (a half goes
    # to the even neighbour); missing places (an unknown condition) give a missing result.
    result = column(
        "round(n1 + 1.25, if b then 1 else 0)",
        [3, 4, 5, 6],
        n1=[1.25, 0.0, None, 1.0],
        b=[True, False, True, None],
    )
    assert result == [2.5, 1.0, None, None]
    result = column("round(n1, n2)", [3, 4, 5], n1=[2.25, 2.25, 7.0], n2=[0.0, 1.0, None])
    assert result == [2.0, 2.2, None]


def test_working_days_between_counts_the_same_days_backwards() -> None:
    # Found as `count(d) + sum(abs(working_days_between(2022-01-01, d.d2)))` with d2 =
    # 2021-01-31: the engine gave 232 working days, the reference 233. When the second date
    # is earlier, numpy's busday_count counts a range one day later at both ends.
    # Monday 8 to Friday 12 January 2024: the days after the 8th up to the 12th are Tuesday
    # to Friday, 4 working days; backwards it is -4 (the engine said -3).
    result = column(
        "working_days_between(d1, d2)",
        [0, 1, 2],
        d1=[dt.datetime(2024, 1, 8), dt.datetime(2024, 1, 12), dt.datetime(2020, 12, 29)],
        d2=[dt.datetime(2024, 1, 12), dt.datetime(2024, 1, 8), dt.datetime(2020, 12, 24)],
    )
    # Thursday 24 to Tuesday 29 December 2020: 25th (Christmas), 26th-27th (weekend), 28th
    # (Boxing Day, moved to Monday) are not working days, the 29th is: -1 backwards.
    assert result == [4.0, -4.0, -1.0]


def test_grammar_cache_lives_in_the_user_cache_folder(tmp_path, monkeypatch) -> None:
    from specrules.dsl import parser

    monkeypatch.delenv("SPECRULES_NO_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert parser._cache_path() == str(tmp_path / "specrules" / "expression-grammar.lark-cache")
    monkeypatch.setenv("SPECRULES_NO_CACHE", "1")
    assert parser._cache_path() is False


def test_grammar_cache_that_is_unwritable_or_corrupt_is_not_fatal(tmp_path, monkeypatch) -> None:
    from specrules.dsl import parser

    monkeypatch.delenv("SPECRULES_NO_CACHE", raising=False)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    assert parser._cache_path() is False  # cannot make a folder under a file

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cached = tmp_path / "cache" / "specrules" / "expression-grammar.lark-cache"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"garbage, not the analysed grammar\n")
    parser._parser.cache_clear()
    try:
        assert to_text(parse_expression("a + 1 > 2")) == "a + 1 > 2"
    finally:
        parser._parser.cache_clear()
    # lark rebuilt the tables and wrote a good cache over the garbage
    assert cached.read_bytes()[:7] != b"garbage"


# ------------------------------------------------------------------ dates beyond pandas' range
# pandas holds dates from 1678 to 2261 (nanoseconds in 64 bits); found by the hostile-input
# sweep as OutOfBoundsDatetime tracebacks from specs that validate. A result beyond the range
# is missing on the rows where it falls, as an unreadable value is.
def test_a_date_moved_beyond_2261_by_months_is_missing() -> None:
    days = [dt.datetime(2024, 1, 31), dt.datetime(2024, 3, 1)]
    # 199,000 years later: beyond 2261, so missing (and the comparison unknown)
    assert column("d1 + 199 years * 1000 > d1", [0, 1], d1=days) == [None, None]
    # n1 months on each row: 1 month lands on 29 February 2024; 3,000 months is year 2274
    moved = column("d1 + n1 * 1 month", [0, 1], d1=days, n1=[1.0, 3000.0])
    assert moved == [pd.Timestamp(2024, 2, 29), None]


def test_a_duration_too_long_to_hold_is_missing_on_its_rows_only() -> None:
    days = [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1)]
    # 1 day × 99,999,999 is 273,785 years: no row can hold it
    assert column("d1 + (1 day * 99999999) > d1", [0, 1], d1=days) == [None, None]
    # 10 days on row 0 (11 January 2024); 10^9 days on row 1 (beyond 2261): missing
    shifted = column("d1 + n1 * 1 day", [0, 1], d1=days, n1=[10.0, 1e9])
    assert shifted == [pd.Timestamp(2024, 1, 11), None]


def test_round_refuses_places_written_out_that_no_engine_rounds_alike() -> None:
    import pytest

    from specrules.dsl.checker import TypeCheckError

    # 400 places: pandas gave 0 rows over `round(1.5, 400) > 0`, DuckDB 1 (hostile sweep)
    for places, shown in (("400", "400"), ("-400", "-400"), ("0.5", "0.5")):
        with pytest.raises(TypeCheckError, match=f"from -15 to 15, not {shown}$"):
            check(parse_expression(f"round(n1, {places})"), CATALOG, "d")
    for places in ("15", "-15", "2", "-3"):
        check(parse_expression(f"round(n1, {places})"), CATALOG, "d")  # accepted


def test_working_days_outside_the_calendar_years_are_missing() -> None:
    # The SQL engines count working days over a calendar of 1900 to 2100; pandas counted
    # weekdays past it (-45,571 from 2200 back to 2024, where DuckDB had none). Monday 3 to
    # Friday 7 June 2024 is 4 working days; to 2150 it is missing.
    starts = [dt.datetime(2024, 6, 3), dt.datetime(2024, 6, 3)]
    ends = [dt.datetime(2024, 6, 7), dt.datetime(2150, 6, 7)]
    assert column("working_days_between(d1, d2)", [0, 1], d1=starts, d2=ends) == [4.0, None]
    # 3 working days after Friday 7 June 2024 is Wednesday 12 June; after 2101, missing
    moved = column("d1 + 3 working days", [0, 1], d1=[ends[0], dt.datetime(2101, 1, 3)])
    assert moved == [pd.Timestamp(2024, 6, 12), None]


def test_dates_more_than_292_years_apart_are_counted_not_an_overflow() -> None:
    # 1 January 1680 to 1 May 2024: 344 years of 365 days, plus 83 leap days (86 years
    # divisible by 4 from 1680 to 2020, less 1700, 1800 and 1900), plus 31 + 29 + 31 + 30
    # days of 2024: 125,643 + 121 = 125,764 days. In nanoseconds the difference overflowed.
    born, seen = [dt.datetime(1680, 1, 1)], [dt.datetime(2024, 5, 1)]
    assert column("days_between(d1, d2)", [0], d1=born, d2=seen) == [125_764.0]
    # elapsed time between London wall clocks: less 1 hour (summer time on 1 May 2024) and
    # 75 seconds (London's mean time in 1680 was 1 min 15 s behind UTC)
    hours = column("hours_between(t1, d2)", [0], t1=born, d2=seen)
    assert hours[0] == pytest.approx(125_764 * 24 - 1 - 75 / 3600)
    # 70,000 working days after 2024 lands past the calendar (2100): missing, not an error
    moved = column("d1 + n1 * 1 working day", [0], d1=seen, n1=[70_000.0])
    assert moved == [None]
