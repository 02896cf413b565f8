"""The functions of the expression language: their signatures and one-line docs.

Backends implement each name; the checker uses `result_type` to type a call before any data
is read. `example` is shown in the reference docs and run by a test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from specrules.dsl.types import BOOLEAN, NUMBER, TEXT, Type, unify


class SignatureError(Exception):
    """The arguments do not fit the function; `argument` is the index of the bad one."""

    def __init__(self, message: str, argument: int | None = None, hint: str | None = None):
        self.argument = argument
        self.hint = hint
        super().__init__(message)


Typer = Callable[[list[Type]], Type]


@dataclass(frozen=True)
class Function:
    name: str
    kind: Literal["row", "aggregate"]
    min_args: int
    max_args: int | None
    result: Typer
    doc: str
    example: str


def _want(types: list[Type], index: int, ok: Callable[[Type], bool], what: str) -> None:
    if not ok(types[index]):
        raise SignatureError(f"argument {index + 1} must be {what}, not {types[index]}", index)


def _temporal_pair(types: list[Type]) -> Type:
    for i in range(2):
        _want(types, i, lambda t: t.is_temporal, "a date or date-time")
    return NUMBER


def _numbers(types: list[Type]) -> Type:
    for i in range(len(types)):
        _want(types, i, lambda t: t.kind == "number", "a number")
    return NUMBER


def _one_temporal(types: list[Type]) -> Type:
    _want(types, 0, lambda t: t.is_temporal, "a date or date-time")
    return NUMBER


def _one_text(types: list[Type]) -> Type:
    _want(types, 0, lambda t: t.kind == "text", "text")
    return TEXT


def _contains(types: list[Type]) -> Type:
    for i in range(2):
        _want(types, i, lambda t: t.kind == "text", "text")
    return BOOLEAN


def _same_type(types: list[Type]) -> Type:
    result = types[0]
    for i, t in enumerate(types[1:], start=1):
        unified = unify(result, t)
        if unified is None:
            raise SignatureError(f"argument {i + 1} is {t}, but argument 1 is {result}", i)
        result = unified
    return result


def _ordered(types: list[Type]) -> Type:
    result = _same_type(types)
    if result.kind not in ("number", "date", "datetime", "duration", "text"):
        raise SignatureError(f"cannot order values of type {result}", 0)
    return result


def _round(types: list[Type]) -> Type:
    return _numbers(types)


# --------------------------------------------------------------- aggregate typing
def _agg_count(types: list[Type]) -> Type:
    return NUMBER


def _agg_number(types: list[Type]) -> Type:
    if not types:
        raise SignatureError("needs the values to aggregate, for instance sum(cost)")
    if types[0].kind not in ("number", "duration"):
        raise SignatureError(f"needs numbers, not {types[0]}", 0)
    return types[0] if types[0].kind == "duration" else NUMBER


def _agg_percentile(types: list[Type]) -> Type:
    result = _agg_number(types[:1])
    _want(types, 1, lambda t: t.kind == "number", "the centile, a number from 0 to 100")
    return result


def _agg_ordered(types: list[Type]) -> Type:
    if not types:
        raise SignatureError("needs the values to compare, for instance min(offered_on)")
    return _ordered(types[:1])


def _agg_share(types: list[Type]) -> Type:
    if not types or types[0].kind != "boolean":
        raise SignatureError(
            "needs a condition, for instance share(quit_at_4_weeks where quit_date_set)", 0
        )
    return NUMBER


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in [
        Function(
            "days_between",
            "row",
            2,
            2,
            _temporal_pair,
            "Whole calendar days from the first date to the second (negative if earlier).",
            "days_between(2024-01-01, 2024-01-15) = 14",
        ),
        Function(
            "working_days_between",
            "row",
            2,
            2,
            _temporal_pair,
            "Working days after the first date up to and including the second, skipping "
            "weekends and England and Wales bank holidays.",
            "working_days_between(2024-12-20, 2024-12-30) = 4",
        ),
        Function(
            "hours_between",
            "row",
            2,
            2,
            _temporal_pair,
            "Hours (with fractions) from the first date-time to the second.",
            "hours_between(2024-01-01T09:00, 2024-01-03T09:00) = 48",
        ),
        Function(
            "minutes_between",
            "row",
            2,
            2,
            _temporal_pair,
            "Minutes (with fractions) from the first date-time to the second.",
            "minutes_between(2024-01-01T09:00, 2024-01-01T09:07:30) = 7.5",
        ),
        Function(
            "seconds_between",
            "row",
            2,
            2,
            _temporal_pair,
            "Seconds from the first date-time to the second.",
            "seconds_between(2024-01-01T09:00, 2024-01-01T09:07:30) = 450",
        ),
        Function(
            "age_at",
            "row",
            2,
            2,
            _temporal_pair,
            "Age in whole years on the second date of someone born on the first.",
            "age_at(2000-02-29, 2016-02-28) = 15",
        ),
        Function(
            "pct_change",
            "row",
            2,
            2,
            _numbers,
            "Change from the first number to the second as a fraction of the first "
            "(missing when the first is 0).",
            "pct_change(100, 95) = -5%",
        ),
        Function(
            "coalesce",
            "row",
            1,
            None,
            _same_type,
            "The first argument that is not missing.",
            "coalesce(1, 2) = 1",
        ),
        Function(
            "least",
            "row",
            1,
            None,
            _ordered,
            "The smallest of its arguments, ignoring missing ones.",
            "least(3, 1, 2) = 1",
        ),
        Function(
            "greatest",
            "row",
            1,
            None,
            _ordered,
            "The largest of its arguments, ignoring missing ones.",
            "greatest(3, 1, 2) = 3",
        ),
        Function(
            "year",
            "row",
            1,
            1,
            _one_temporal,
            "The calendar year of a date.",
            "year(2024-03-01) = 2024",
        ),
        Function(
            "month",
            "row",
            1,
            1,
            _one_temporal,
            "The month (1-12) of a date.",
            "month(2024-03-01) = 3",
        ),
        Function(
            "weekday",
            "row",
            1,
            1,
            _one_temporal,
            "The day of the week, 1 for Monday to 7 for Sunday.",
            "weekday(2024-03-01) = 5",
        ),
        Function(
            "hour",
            "row",
            1,
            1,
            _one_temporal,
            "The time of day in hours, with minutes as a fraction (09:30 is 9.5).",
            "hour(2024-03-01T09:30) = 9.5",
        ),
        Function("abs", "row", 1, 1, _numbers, "The absolute value of a number.", "abs(-2) = 2"),
        Function(
            "round",
            "row",
            1,
            2,
            _round,
            "A number rounded to the given number of decimal places (default 0; "
            "halves go to the even neighbour).",
            "round(0.125, 2) = 0.12",
        ),
        Function(
            "lower", "row", 1, 1, _one_text, "Text in lower case.", 'lower("Wigan") = "wigan"'
        ),
        Function(
            "upper", "row", 1, 1, _one_text, "Text in upper case.", 'upper("Wigan") = "WIGAN"'
        ),
        Function(
            "contains",
            "row",
            2,
            2,
            _contains,
            "Whether the first text contains the second.",
            'contains("Wigan Borough", "Borough") = true',
        ),
        # ---------------------------------------------------------- aggregates
        Function(
            "count",
            "aggregate",
            0,
            1,
            _agg_count,
            "Rows (count()), rows of a dataset (count(referrals)), values that are not "
            "missing (count(x)) or different values (count(distinct x)); `where` filters.",
            "count(distinct client_id where quit_date is not missing)",
        ),
        Function(
            "sum",
            "aggregate",
            1,
            1,
            _agg_number,
            "The total of the values that are not missing.",
            "sum(cost where lot = 2)",
        ),
        Function(
            "mean",
            "aggregate",
            1,
            1,
            _agg_number,
            "The average of the values that are not missing.",
            "mean(weight_change)",
        ),
        Function(
            "median",
            "aggregate",
            1,
            1,
            _agg_number,
            "The middle value of those not missing.",
            "median(days_between(received_on, first_contact_on))",
        ),
        Function(
            "percentile",
            "aggregate",
            2,
            2,
            _agg_percentile,
            "The centile (0 to 100) of the values not missing, by linear interpolation "
            "(numpy's default, Excel PERCENTILE.INC); the filter goes before the centile.",
            "percentile(minutes_to_arrive where category = 1, 90)",
        ),
        Function(
            "min",
            "aggregate",
            1,
            1,
            _agg_ordered,
            "The smallest value that is not missing.",
            "min(appointments.offered_on)",
        ),
        Function(
            "max",
            "aggregate",
            1,
            1,
            _agg_ordered,
            "The largest value that is not missing.",
            "max(sessions_attended)",
        ),
        Function(
            "share",
            "aggregate",
            1,
            1,
            _agg_share,
            "The fraction of rows (those passing `where`) for which the condition is true; "
            "a condition that is unknown counts as not true.",
            "share(quit_at_4_weeks where quit_date is not missing)",
        ),
    ]
}
