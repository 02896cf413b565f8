"""How date-times in the data are written and read, the same on every engine.

A value with a UTC offset (`2024-10-27T01:30:00+01:00`, `Z`) is an instant; one without is
local time in the spec's (or dataset's) time zone, `Europe/London` unless the spec says
otherwise. A local time that does not exist (the hour the clocks go forward) or happens
twice (the hour they go back) cannot be placed and is a data issue, unless an offset
settles it. Values are kept as local wall-clock times, so a row's date, period, weekday and
hour are the ones a person there would write; elapsed time is worked out from instants.
The patterns are plain regular expressions that Python, DuckDB (RE2) and Spark (Java) read
alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_TIMEZONE = "Europe/London"
# Functions giving the time elapsed between two date-times: worked out from instants.
ELAPSED_FUNCTIONS = frozenset({"hours_between", "minutes_between", "seconds_between"})


def instant_column(field: str) -> str:
    """The hidden column beside a datetime field holding each value's instant (UTC): the
    local time alone cannot say which of the two 01:30s of 27 October 2024 a value was."""
    return f"{field}__utc"


def dataset_zones(spec: Any) -> dict[str, str]:
    """Each dataset's time zone: its own `timezone`, else the spec's."""
    return {name: ds.timezone or spec.timezone for name, ds in spec.datasets.items()}


def zone_of(zones: Mapping[str, str] | None, dataset: str | None) -> str:
    return (zones or {}).get(dataset or "", DEFAULT_TIMEZONE)


# ISO 8601 with or without a time, with or without a UTC offset, or day/month/year as spreadsheets
# write it. Nothing else: pandas alone would also read `2024-01`, `20240105` or `12/31/2022`.
# A time of day from 00:00 to 23:59:59: engines differ on `24:00` (DuckDB reads the next
# midnight, pandas refuses it), so it is not a time here, on any engine.
_TIME = "([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]{1,9})?)?"
ISO_LOCAL = f"[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}([T ]{_TIME})?"
ISO_INSTANT = (
    f"[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}[T ]{_TIME}(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)"
)
# Day first: (pattern, strftime format, Spark's format); a two-digit year is 20xx.
DAY_FIRST = (
    ("[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}", "%d/%m/%Y", "d/M/yyyy"),
    ("[0-9]{1,2}/[0-9]{1,2}/[0-9]{4} [0-9]{1,2}:[0-9]{2}", "%d/%m/%Y %H:%M", "d/M/yyyy H:mm"),
    (
        "[0-9]{1,2}/[0-9]{1,2}/[0-9]{4} [0-9]{1,2}:[0-9]{2}:[0-9]{2}",
        "%d/%m/%Y %H:%M:%S",
        "d/M/yyyy H:mm:ss",
    ),
    ("[0-9]{1,2}/[0-9]{1,2}/[0-9]{2}", "%d/%m/%y", "d/M/yy"),
)
# Dates every engine can hold (pandas holds nanoseconds: 1677 to 2262); 0001-01-01 is a
# placeholder, not a date.
EARLIEST, LATEST = "1678-01-01", "2262-01-01"  # from the first, up to (not including) the last
# A number written with commas is read only when they group thousands (1,234,567.5, £2,000):
# `9,5` (a decimal comma) or `1,2,3` are not numbers, rather than 95 and 123.
GROUPED_NUMBER = "£?[+-]?[0-9]{1,3}(,[0-9]{3})+([.][0-9]*)?"
NOT_A_DATE = "not a date (write YYYY-MM-DD or DD/MM/YYYY)"
# A date the file holds as a date (Parquet), outside the years every engine can hold.
OUTSIDE_YEARS = (
    "a date outside the years 1678 to 2261, which specrules can hold (for no date, leave "
    "the value empty rather than write a placeholder such as 9999-12-31)"
)
NOT_A_DATETIME = (
    "not a date-time (write YYYY-MM-DD HH:MM[:SS] or DD/MM/YYYY HH:MM, with a UTC offset "
    "such as +01:00 or Z if it has one)"
)
NO_SUCH_TIME = (
    "no such local time in {zone}: the clocks went forward; write the UTC offset "
    "(such as 2024-03-31T01:30:00+00:00, which is 02:30 after the change in London)"
)
TWICE = (
    "this local time happens twice in {zone}, as the clocks went back; write the UTC offset "
    "(such as 2024-10-27T01:30:00+01:00 for the first, +00:00 for the second)"
)
# The largest whole number a count can hold exactly (2^53); beyond it, a typo or an overflow.
LARGEST_WHOLE = 2.0**53
TOO_LARGE = "too large for a whole number (more than 9007199254740992)"
