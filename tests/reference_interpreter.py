"""A slow, row-at-a-time reference interpreter for checked expressions. Used only in tests.

It is written from the semantics in DESIGN.md section 4 and the function docs, not from the
pandas backend, so that the property tests compare two independent readings:

- a value is a plain Python value, `None` when missing: numbers are floats, text is `str`,
  booleans are `bool`, dates and date-times are naive `datetime` (a date at midnight),
  fixed-length durations are `timedelta`, calendar durations are a number of months and
  working-day durations a number of working days;
- elapsed time (`hours_between` and its kin, one date-time minus another) is true elapsed
  time: local times are placed in Europe/London (the default zone), a time that happens
  twice taken as the first, one that does not exist read with the offset before the change;
- `and`, `or`, `not` follow Kleene's three-valued logic, any comparison or arithmetic with a
  missing operand is missing, division by zero is missing;
- `if c then a else b` takes `b` unless `c` is true (an unknown condition takes `else`);
- aggregates ignore missing values, keep only the rows whose `where` is true, and give
  missing when nothing is left (except counts, which give 0).
"""

from __future__ import annotations

import calendar
import datetime as dt
import operator
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from specrules.dsl import ir
from specrules.engine.common.calendar import bank_holidays

Row = Mapping[str, Any]
Tables = Mapping[str, Sequence[Row]]

_ONE_DAY = dt.timedelta(days=1)
_ZONE = ZoneInfo("Europe/London")


def instant(local: dt.datetime) -> dt.datetime:
    """A local wall-clock time as its UTC instant (fold=0: the first of a repeated hour)."""
    return local.replace(tzinfo=_ZONE, fold=0).astimezone(dt.UTC)


# ------------------------------------------------------------------ logic
def kleene_and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def kleene_or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def kleene_not(a: bool | None) -> bool | None:
    return None if a is None else not a


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def compare(op: str, a: Any, b: Any) -> bool | None:
    if a is None or b is None:
        return None
    return bool(_COMPARE[op](a, b))


# ------------------------------------------------------------------ calendar helpers
@cache
def _holidays() -> frozenset[dt.date]:
    return frozenset(d.astype(dt.date) for d in bank_holidays())


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _holidays()


def working_days_between(a: dt.date, b: dt.date) -> int:
    """Working days d with a < d <= b; minus those with b < d <= a when b is earlier."""
    if b < a:
        return -working_days_between(b, a)
    count = 0
    day = a + _ONE_DAY
    while day <= b:
        count += is_working_day(day)
        day += _ONE_DAY
    return count


def add_working_days(moment: dt.datetime, steps: int) -> dt.datetime:
    """Start on the next working day if `moment` is not on one, then step over working days.

    The time of day is kept, as it is when adding hours, days or months.
    """
    day = moment.date()
    while not is_working_day(day):
        day += _ONE_DAY
    step = _ONE_DAY if steps >= 0 else -_ONE_DAY
    for _ in range(abs(steps)):
        day += step
        while not is_working_day(day):
            day += step
    return dt.datetime.combine(day, moment.time())


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """The same day `months` later, or the last day of that month if it is shorter."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def age_at(born: dt.date, on: dt.date) -> int:
    """Whole years; someone born on 29 February has a birthday on 1 March in other years."""
    if born.month == 2 and born.day == 29 and not calendar.isleap(on.year):
        birthday = dt.date(on.year, 3, 1)
    else:
        birthday = dt.date(on.year, born.month, born.day)
    return on.year - born.year - (1 if on < birthday else 0)


def round_half_even(value: float, places: int) -> float:
    """Round the number as written (its shortest decimal form), halves to the even digit."""
    exponent = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(exponent, rounding=ROUND_HALF_EVEN))


# ------------------------------------------------------------------ literals
def literal(node: ir.Node) -> Any:
    if isinstance(node, ir.Number):
        return float(node.value)
    if isinstance(node, ir.Percent):
        return float(node.value) / 100
    if isinstance(node, ir.Money):
        return node.value
    if isinstance(node, ir.Text | ir.Boolean):
        return node.value
    if isinstance(node, ir.Date):
        return dt.datetime.combine(node.value, dt.time())
    if isinstance(node, ir.DateTime):
        return node.value
    if isinstance(node, ir.Duration):
        if node.unit == "working days":
            return float(node.amount)
        if node.unit == "months":
            return float(node.amount)
        if node.unit == "years":
            return float(node.amount) * 12
        return dt.timedelta(**{node.unit: node.amount})
    if isinstance(node, ir.ListOf):
        return [literal(i) for i in node.items]
    raise TypeError(f"not a literal: {type(node).__name__}")


# ------------------------------------------------------------------ arithmetic
def _whole(amount: float) -> int:
    if amount != int(amount):
        raise ValueError(
            f"the reference does not define fractional months or working days: {amount}"
        )
    return int(amount)


def arithmetic(node: ir.Arithmetic, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    lt, rt, op = node.left.type, node.right.type, node.op
    assert lt is not None and rt is not None
    # A date moved by calendar months or working days.
    if lt.is_temporal and rt.kind == "duration" and rt.duration_kind != "time":
        steps = _whole(right) * (1 if op == "+" else -1)
        return shift(left, steps, rt.duration_kind)
    if lt.kind == "duration" and lt.duration_kind != "time" and rt.is_temporal:
        return shift(right, _whole(left), lt.duration_kind)
    if op == "-" and lt.kind == rt.kind == "datetime":
        return instant(left) - instant(right)
    if op == "/":
        if right == 0 or right == dt.timedelta(0):
            return None
        return left / right
    return {"+": operator.add, "-": operator.sub, "*": operator.mul}[op](left, right)


def shift(moment: dt.datetime, steps: int, kind: str | None) -> dt.datetime:
    if kind == "working":
        return add_working_days(moment, steps)
    return add_months(moment, steps)


# ------------------------------------------------------------------ row functions
def _days(value: dt.datetime) -> dt.date:
    return value.date()


def _row_function(name: str, args: list[Any]) -> Any:
    if name == "coalesce":
        return next((a for a in args if a is not None), None)
    if name in ("least", "greatest"):
        present = [a for a in args if a is not None]
        if not present:
            return None
        return min(present) if name == "least" else max(present)
    if name == "round":
        value = args[0]
        places = args[1] if len(args) > 1 else 0.0
        if value is None or places is None:
            return None
        return round_half_even(value, _whole(places))
    if any(a is None for a in args):
        return None
    if name == "days_between":
        return float((_days(args[1]) - _days(args[0])).days)
    if name == "working_days_between":
        return float(working_days_between(_days(args[0]), _days(args[1])))
    if name in ("hours_between", "minutes_between", "seconds_between"):
        per = {"hours": 3600, "minutes": 60, "seconds": 1}[name.removesuffix("_between")]
        return (instant(args[1]) - instant(args[0])).total_seconds() / per
    if name == "age_at":
        return float(age_at(_days(args[0]), _days(args[1])))
    if name == "pct_change":
        before, after = args
        return None if before == 0 else (after - before) / before
    if name == "year":
        return float(args[0].year)
    if name == "month":
        return float(args[0].month)
    if name == "weekday":
        return float(args[0].isoweekday())
    if name == "hour":
        return args[0].hour + args[0].minute / 60
    if name == "abs":
        return abs(args[0])
    if name == "lower":
        return args[0].lower()
    if name == "upper":
        return args[0].upper()
    if name == "contains":
        return args[1] in args[0]
    raise NotImplementedError(name)


# ------------------------------------------------------------------ aggregates
def _median(values: list[Any]) -> Any:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return ordered[middle - 1] + (ordered[middle] - ordered[middle - 1]) / 2


def _percentile(values: list[Any], centile: float) -> Any:
    """Linear interpolation at position (n - 1) × p / 100 of the sorted values (numpy's)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * centile / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def aggregate(node: ir.Call, rows: Sequence[Row], tables: Tables) -> Any:
    """An aggregate over `rows` (the rows of the dataset it runs over)."""
    kept = [r for r in rows if node.where is None or evaluate(node.where, r, tables) is True]
    if node.name == "count" and not node.args:
        return float(len(kept))
    values = [evaluate(node.args[0], r, tables) for r in kept]
    if node.name == "share":
        if not kept:
            return None
        return sum(1 for v in values if v is True) / len(kept)
    present = [v for v in values if v is not None]
    if node.name == "count":
        return float(len(set(present)) if node.distinct else len(present))
    if not present:
        return None
    if node.name == "sum":
        return sum(present[1:], present[0])
    if node.name == "mean":
        return sum(present[1:], present[0]) / len(present)
    if node.name == "median":
        return _median(present)
    if node.name == "percentile":
        return _percentile(present, node.args[1].value)
    if node.name == "min":
        return min(present)
    if node.name == "max":
        return max(present)
    raise NotImplementedError(node.name)


# ------------------------------------------------------------------ the walk
def evaluate(node: ir.Node, row: Row | None, tables: Tables) -> Any:
    """The value of a checked expression for one `row` (None at the top level).

    `tables` maps each dataset name to its rows, for aggregates.
    """
    if isinstance(node, ir.Reference):
        if node.via_link is not None:
            raise NotImplementedError("links are not modelled by the reference interpreter")
        assert row is not None and node.column is not None
        return row[node.column]
    if isinstance(node, ir.Compare):
        return compare(node.op, evaluate(node.left, row, tables), evaluate(node.right, row, tables))
    if isinstance(node, ir.Arithmetic):
        return arithmetic(node, evaluate(node.left, row, tables), evaluate(node.right, row, tables))
    if isinstance(node, ir.Negate):
        value = evaluate(node.operand, row, tables)
        return None if value is None else -value
    if isinstance(node, ir.And):
        return kleene_and(evaluate(node.left, row, tables), evaluate(node.right, row, tables))
    if isinstance(node, ir.Or):
        return kleene_or(evaluate(node.left, row, tables), evaluate(node.right, row, tables))
    if isinstance(node, ir.Not):
        return kleene_not(evaluate(node.operand, row, tables))
    if isinstance(node, ir.IsMissing):
        is_missing = evaluate(node.operand, row, tables) is None
        return not is_missing if node.negated else is_missing
    if isinstance(node, ir.InList):
        value = evaluate(node.operand, row, tables)
        if value is None:
            return None
        found = any(value == item for item in literal(node.items) if item is not None)
        return not found if node.negated else found
    if isinstance(node, ir.Between):
        value = evaluate(node.operand, row, tables)
        low, high = evaluate(node.low, row, tables), evaluate(node.high, row, tables)
        return kleene_and(compare(">=", value, low), compare("<=", value, high))
    if isinstance(node, ir.IfThenElse):
        condition = evaluate(node.condition, row, tables)
        if condition is None:  # unknown: neither branch
            return None
        return evaluate(node.then if condition else node.otherwise, row, tables)
    if isinstance(node, ir.Call):
        if node.over is not None:
            if node.correlated_link is not None:
                raise NotImplementedError("correlated aggregates are not modelled")
            return aggregate(node, tables[node.over], tables)
        return _row_function(node.name, [evaluate(a, row, tables) for a in node.args])
    return literal(node)
