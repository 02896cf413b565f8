"""Contract periods: years that begin on the contract's year start, their quarters, months.

Labels: a year `2019/20` (the year that starts in 2019), a quarter `2019/20-Q3` (`2019-Q3`
only where the years are calendar years: elsewhere it is ambiguous), a calendar month
`2020-01`, and `contract` (the whole term).
All periods are closed date ranges [start, end].
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from specrules.errors import PeriodError
from specrules.spec.models import Contract

GRANULARITY = {"month": 0, "quarter": 1, "year": 2, "contract": 3}
MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    end: dt.date
    kind: str
    label: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end


def _add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole calendar months, clipped to the month's end (31 Jan + 1 = 29 Feb).

    Written with the standard library so that validating a spec does not import pandas.
    """
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    return day.replace(
        year=year, month=month + 1, day=min(day.day, calendar.monthrange(year, month + 1)[1])
    )


def year_start(contract: Contract) -> tuple[int, int]:
    """(month, day) on which the spec's years begin."""
    if contract.periods == "financial_year":
        return (4, 1)
    if contract.year_start:
        month, day = (int(p) for p in contract.year_start.split("-"))
        return (month, day)
    return (contract.start.month, contract.start.day)


def contract_end(contract: Contract) -> dt.date:
    return max([contract.end, *(e.until for e in contract.extensions)])


def _year_label(first: int, month_day: tuple[int, int]) -> str:
    return str(first) if month_day == (1, 1) else f"{first}/{(first + 1) % 100:02d}"


def year_containing(day: dt.date, contract: Contract) -> Period:
    month, dom = year_start(contract)
    first = day.year if (day.month, day.day) >= (month, dom) else day.year - 1
    start = dt.date(first, month, min(dom, 28) if month == 2 else dom)
    end = _add_months(start, 12) - dt.timedelta(days=1)
    return Period(start, end, "year", _year_label(first, (month, dom)))


def period_containing(day: dt.date, kind: str, contract: Contract) -> Period:
    if kind == "contract":
        return Period(contract.start, contract_end(contract), "contract", "contract")
    if kind == "month":
        start = dt.date(day.year, day.month, 1)
        end = _add_months(start, 1) - dt.timedelta(days=1)
        return Period(start, end, "month", f"{day.year}-{day.month:02d}")
    year = year_containing(day, contract)
    if kind == "year":
        return year
    for n in range(4):
        start = _add_months(year.start, 3 * n)
        end = _add_months(year.start, 3 * (n + 1)) - dt.timedelta(days=1)
        if start <= day <= end:
            return Period(start, end, "quarter", f"{year.label}-Q{n + 1}")
    raise AssertionError("a day falls in one of four quarters")  # pragma: no cover


def periods_within(outer: Period, kind: str, contract: Contract) -> list[Period]:
    """The periods of `kind` that overlap `outer`, in order."""
    found: list[Period] = []
    day = outer.start
    while day <= outer.end:
        period = period_containing(day, kind, contract)
        found.append(period)
        day = period.end + dt.timedelta(days=1)
    return found


_YEAR = re.compile(r"^(\d{4})(?:/(\d{2}))?$")
_QUARTER = re.compile(r"^(\d{4})(?:/(\d{2}))?-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(label: str, contract: Contract) -> Period:
    """A period from its label; PeriodError if it is malformed or outside the contract."""
    text = label.strip()
    month, dom = year_start(contract)
    period: Period | None = None
    if text.lower() == "contract":
        period = period_containing(contract.start, "contract", contract)
    elif match := _QUARTER.match(text):
        first = int(match.group(1))
        year = year_containing(dt.date(first, month, dom), contract)
        period = periods_within(year, "quarter", contract)[int(match.group(3)) - 1]
        if not match.group(2) and (month, dom) != (1, 1):
            # `2024-Q1` may mean January to March 2024 or the first quarter of 2024/25
            calendar = period_containing(
                dt.date(first, 3 * int(match.group(3)) - 2, 1), "quarter", contract
            )
            raise PeriodError(
                f"`{label}` is ambiguous: this contract's years start on {year.start.day} "
                f"{year.start:%B}; write {period.label} ({period.start} to {period.end}) or, "
                f"for the calendar quarter, {calendar.label} ({calendar.start} to {calendar.end})"
            )
    elif match := _MONTH.match(text):
        if not 1 <= int(match.group(2)) <= 12:
            first = int(match.group(1))
            year = _year_label(first, (month, dom))
            instead = f"write {year} for the year from {first}, or {first}-MM for a month"
            raise PeriodError(f"`{label}`: there is no month {match.group(2)}; {instead}")
        period = period_containing(
            dt.date(int(match.group(1)), int(match.group(2)), 1), "month", contract
        )
    elif match := _YEAR.match(text):
        first = int(match.group(1))
        if match.group(2) and int(match.group(2)) != (first + 1) % 100:
            raise PeriodError(f"`{label}` is not a year: write {first}/{(first + 1) % 100:02d}")
        if not match.group(2) and (month, dom) != (1, 1):
            # The contract's years straddle two calendar years: `2024` would be a guess.
            this, before = (
                year_containing(dt.date(y, month, dom), contract) for y in (first, first - 1)
            )
            raise PeriodError(
                f"`{label}` is ambiguous: this contract's years start on "
                f"{this.start.day} {this.start:%B}; "
                f"write {this.label} ({this.start} to {this.end}) or {before.label} "
                f"({before.start} to {before.end})"
            )
        period = year_containing(dt.date(first, month, dom), contract)
    if period is None:
        raise PeriodError(
            f"`{label}` is not a period; write a contract year (2019/20), a quarter "
            "(2019/20-Q3), a month (2020-01), `contract` or `all`"
        )
    end = contract_end(contract)
    if period.end < contract.start or period.start > end:
        raise PeriodError(
            f"period {period.label} ({period.start} to {period.end}) lies outside the contract "
            f"({contract.start} to {end})"
        )
    return period
