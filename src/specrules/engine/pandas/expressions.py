"""Checked IR → whole-column pandas operations.

Values are pandas Series aligned to the rows being evaluated (or plain scalars for
literals). Booleans use pandas' nullable "boolean" dtype, whose `&`, `|` and `~` follow
SQL's three-valued (Kleene) logic; every comparison with a missing value is missing.
There is no loop over rows anywhere in this module.

Each node type maps to one function in `_HANDLERS`, so a reader can find how any construct
is evaluated, and a new backend is a new table.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from specrules.data import instants
from specrules.datetimes import ELAPSED_FUNCTIONS, instant_column, zone_of
from specrules.dsl import ir
from specrules.dsl.types import SECONDS_IN, Type
from specrules.engine.common.calendar import in_calendar, working_day_calendar

Value = Any  # a pandas Series or a scalar


@dataclass
class Context:
    """What an expression is evaluated against.

    `frames` are the datasets (already period-filtered where the caller wants that);
    `dataset`/`frame` are the rows an expression is computed for (None at the top level,
    where only aggregates may read data). `link_frames` are the full datasets that
    many-to-one links and per-row aggregates read from.
    """

    frames: dict[str, pd.DataFrame]
    dataset: str | None = None
    frame: pd.DataFrame | None = None
    link_frames: dict[str, pd.DataFrame] | None = None
    keys: dict[str, str] | None = None  # dataset -> its single key column
    links: dict[str, dict[str, tuple[str, str]]] | None = None  # dataset -> link -> (ds, col)
    zones: dict[str, str] | None = None  # dataset -> its time zone (specrules.datetimes)

    def rows(self, dataset: str, frame: pd.DataFrame) -> Context:
        return Context(
            self.frames, dataset, frame, self.link_frames, self.keys, self.links, self.zones
        )


def dtype_for(t: Type | None) -> str | None:
    if t is None:
        return None
    if t.kind == "boolean":
        return "boolean"
    if t.kind == "number":
        return "Float64"
    if t.kind == "text":
        return "string"
    if t.kind in ("date", "datetime"):
        return "datetime64[ns]"
    if t.kind == "duration":
        return "timedelta64[ns]" if t.duration_kind == "time" else "Float64"
    return None


def missing(value: Value) -> Value:
    if isinstance(value, pd.Series):
        return value.isna()
    return value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value))


def as_series(value: Value, index: pd.Index, t: Type | None) -> pd.Series:
    if isinstance(value, pd.Series):
        return value
    dtype = dtype_for(t)
    if value is None or value is pd.NA:
        return pd.Series(pd.NA if dtype != "datetime64[ns]" else pd.NaT, index=index, dtype=dtype)
    if isinstance(value, list | tuple):
        return pd.Series([value] * len(index), index=index, dtype=dtype)
    return pd.Series(value, index=index, dtype=dtype)  # a scalar, broadcast without a list


def to_boolean(raw: Value, mask: Value) -> Value:
    """A comparison's raw result as nullable booleans, missing wherever `mask` is true."""
    if not isinstance(raw, pd.Series):
        return pd.NA if mask is True or (mask is not False and bool(mask)) else bool(raw)
    result = raw.astype("boolean")
    if isinstance(mask, pd.Series):
        if mask.any():
            result = result.mask(mask.to_numpy(dtype=bool, na_value=True))
    elif mask:
        result = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    return result


def true_mask(value: Value, index: pd.Index) -> np.ndarray:
    """Where a condition is definitely true (missing counts as not true)."""
    if isinstance(value, pd.Series):
        return value.fillna(False).to_numpy(dtype=bool)
    return np.full(len(index), value is True or (value is not pd.NA and bool(value)), dtype=bool)


# ------------------------------------------------------------------ literals
def _literal(node: ir.Node, ctx: Context) -> Value:
    if isinstance(node, ir.Number):
        return float(node.value)
    if isinstance(node, ir.Percent):
        return node.fraction
    if isinstance(node, ir.Money):
        return node.value
    if isinstance(node, ir.Text | ir.Boolean):
        return node.value
    if isinstance(node, ir.Date | ir.DateTime):
        return pd.Timestamp(node.value)
    if isinstance(node, ir.Duration):
        return duration_value(node)
    if isinstance(node, ir.ListOf):
        return [_literal(i, ctx) for i in node.items]
    raise TypeError(type(node).__name__)


def duration_value(node: ir.Duration) -> Value:
    unit = node.unit
    if unit == "working days":
        return float(node.amount)
    if unit in ("months", "years"):
        return float(node.amount) * (12 if unit == "years" else 1)
    # nanoseconds, as the data's durations: pandas makes `Timedelta(minutes=1)` in
    # microseconds, so that `1 minute / 7` would be cut to whole microseconds
    return pd.Timedelta(**{unit: node.amount}).as_unit("ns")


# ------------------------------------------------------------------ names
def _reference(node: ir.Reference, ctx: Context) -> Value:
    assert ctx.frame is not None and node.column is not None
    if node.via_link is None:
        return ctx.frame[node.column]
    # Follow a many-to-one link: look each foreign key up in the parent's column.
    assert ctx.links is not None and ctx.link_frames is not None and ctx.keys is not None
    parent, foreign_key = ctx.links[ctx.dataset][node.via_link]
    parent_frame = ctx.link_frames[parent]
    lookup = parent_frame.drop_duplicates(ctx.keys[parent]).set_index(ctx.keys[parent])[node.column]
    values = ctx.frame[foreign_key].map(lookup)
    return values.astype(parent_frame[node.column].dtype)


# ------------------------------------------------------------------ operators
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _compare(node: ir.Compare, ctx: Context) -> Value:
    return _compared(node.op, evaluate(node.left, ctx), evaluate(node.right, ctx))


def _compared(op: str, left: Value, right: Value) -> Value:
    """A comparison in three-valued logic: unknown where either side is missing."""
    mask = _either_missing(left, right)
    if mask is True:  # a missing scalar (an aggregate over no values): unknown everywhere
        return pd.NA
    if isinstance(left, pd.Series) or isinstance(right, pd.Series):
        left, right = _fill(left), _fill(right)
    return to_boolean(_COMPARE[op](left, right), mask)


def _fill(value: Value) -> Value:
    """Replace missing values with a placeholder of the same type (they are masked after)."""
    if isinstance(value, pd.Series) and value.dtype == "string":
        return value.fillna("")
    if isinstance(value, pd.Series) and value.dtype == "boolean":
        return value.fillna(False)
    if isinstance(value, pd.Series) and value.dtype == "Float64":
        return value.fillna(0.0)
    return value


def _either_missing(*values: Value) -> Value:
    result: Value = False
    for v in values:
        m = missing(v)
        if isinstance(m, pd.Series):
            result = m if result is False else (result | m) if isinstance(result, pd.Series) else m
        elif m:
            return True
    return result


def _arithmetic(node: ir.Arithmetic, ctx: Context) -> Value:
    left, right = evaluate(node.left, ctx), evaluate(node.right, ctx)
    lt, rt = node.left.type, node.right.type
    assert lt is not None and rt is not None
    if missing(left) is True or missing(right) is True:
        return None if node.type is None else _missing_of(node.type, ctx)
    if lt.is_temporal and rt.kind == "duration" and rt.duration_kind != "time":
        return shift_date(left, right, rt.duration_kind, sign=1 if node.op == "+" else -1)
    if lt.kind == "duration" and lt.duration_kind != "time" and rt.is_temporal:
        return shift_date(right, left, lt.duration_kind, sign=1)
    try:
        return _operate(node, left, right, lt, rt, ctx)
    except _OVERFLOW:  # a date or duration beyond what pandas holds (years 1678 to 2261)
        return _operate_where_it_fits(node, left, right, lt, rt, ctx)


# pandas' errors for a date or length of time it cannot hold (nanoseconds in 64 bits)
_OVERFLOW = (OverflowError, pd.errors.OutOfBoundsDatetime, pd.errors.OutOfBoundsTimedelta)
_LARGEST_NANOSECONDS = 9.2e18  # within 2**63: dates from 1678 to 2261, durations of 292 years


def _nanoseconds(value: Value) -> Value:
    """A date, date-time or duration as float nanoseconds (NaN where missing); numbers as
    they are: an estimate of where an operation's result would land."""
    if isinstance(value, pd.Series):
        if pd.api.types.is_datetime64_any_dtype(value):
            return value.to_numpy("datetime64[ns]").view("i8").astype(float) * np.where(
                value.isna().to_numpy(), np.nan, 1.0
            )
        if pd.api.types.is_timedelta64_dtype(value):
            return value.dt.total_seconds().to_numpy(dtype=float, na_value=np.nan) * 1e9
        return value.to_numpy(dtype=float, na_value=np.nan)
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return (pd.Timestamp(value) - pd.Timestamp(0)).total_seconds() * 1e9
    if isinstance(value, pd.Timedelta | dt.timedelta):
        return pd.Timedelta(value).total_seconds() * 1e9
    return np.nan if missing(value) is True else float(value)


def _operate_where_it_fits(
    node: ir.Arithmetic, left: Value, right: Value, lt: Type, rt: Type, ctx: Context
) -> Value:
    """The operation on the rows whose result pandas can hold; missing on the others (as a
    value that cannot be read is missing)."""
    estimate = _ARITHMETIC[node.op](
        np.asarray(_nanoseconds(left), dtype=float), np.asarray(_nanoseconds(right), dtype=float)
    )
    fits = np.abs(estimate) < _LARGEST_NANOSECONDS
    if not isinstance(left, pd.Series) and not isinstance(right, pd.Series):
        return _missing_of(node.type, ctx)
    index = (left if isinstance(left, pd.Series) else right).index
    fits = pd.Series(np.broadcast_to(fits, len(index)), index=index)
    if not fits.any():
        return _missing_of(node.type, ctx)
    kept = [v[fits] if isinstance(v, pd.Series) else v for v in (left, right)]
    done = _operate(node, *kept, lt, rt, ctx)
    whole = _missing_of(node.type, ctx)
    if isinstance(whole, pd.Series) and isinstance(done, pd.Series):
        whole = whole.astype(done.dtype)
        whole[fits.to_numpy()] = done.to_numpy()
    return whole


_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def _operate(node: ir.Arithmetic, left: Value, right: Value, lt: Type, rt: Type, ctx: Context):
    if lt.kind == rt.kind == "datetime" and node.op == "-":
        # The time between two moments is elapsed time: between instants, not wall clocks.
        elapsed = instant_values(node.left, ctx) - instant_values(node.right, ctx)
        return elapsed if ctx.frame is not None else elapsed.iloc[0]
    op = _ARITHMETIC[node.op]
    if node.op == "/":
        # A duration's zero is a zero Timedelta, which does not compare equal to 0.
        time = rt.kind == "duration" and rt.duration_kind == "time"
        zero = right == (pd.Timedelta(0) if time else 0)
        if isinstance(right, pd.Series):
            result = op(left, right.mask(zero.fillna(False).astype(bool)))
            return result
        if zero:
            return _missing_of(node.type, ctx)
    return op(left, right)


def _missing_of(t: Type | None, ctx: Context) -> Value:
    if ctx.frame is None:
        return pd.NA
    return as_series(None, ctx.frame.index, t)


def shift_date(dates: Value, amount: Value, kind: str | None, sign: int) -> Value:
    """Add calendar months or working days to dates, whole columns at a time."""
    if isinstance(amount, pd.Series) and not isinstance(dates, pd.Series):
        # One date moved by a different amount on each row: a column of that date.
        dates = pd.Series([dates] * len(amount), index=amount.index, dtype="datetime64[ns]")
    dates_s = dates if isinstance(dates, pd.Series) else pd.Series([dates])
    amounts = (
        amount
        if isinstance(amount, pd.Series)
        else pd.Series([amount] * len(dates_s), index=dates_s.index, dtype="Float64")
    )
    result = pd.Series(pd.NaT, index=dates_s.index, dtype="datetime64[ns]")
    valid = (~dates_s.isna() & ~amounts.isna()).to_numpy(dtype=bool)
    # a date moved beyond the years pandas holds (1678 to 2261) is missing, not an error
    steps = amounts.to_numpy(dtype=float, na_value=np.nan) * sign
    if kind == "working":  # within the calendar's 201 years of about 261 working days
        valid = valid & (np.abs(np.nan_to_num(steps)) < 60_000)
    else:
        start = dates_s.to_numpy("datetime64[M]").astype("int64")  # months since 1970
        target = 1970 + (start + np.nan_to_num(steps)) // 12
        valid = valid & (target >= 1678) & (target <= 2261)
    if kind == "working":
        days = dates_s[valid].to_numpy(dtype="datetime64[D]")
        steps = (amounts[valid].to_numpy(dtype=float) * sign).astype(int)
        # roll forward from a weekend or holiday, as a clock started then would.
        shifted = np.busday_offset(days, steps, roll="forward", busdaycal=working_day_calendar())
        # a start or an end outside the calendar: missing (pandas is given no such day)
        counted = in_calendar(days) & in_calendar(shifted)
        valid[valid] = counted
        start = dates_s[valid]
        # Keep the time of day, as adding days or months does.
        moved = pd.to_datetime(shifted[counted]) + (start - start.dt.normalize()).to_numpy()
        result[valid] = moved.to_numpy()
    else:
        # One vectorized DateOffset per distinct number of months (usually one or two).
        month_counts = (amounts * sign).astype("Float64")
        for months in month_counts[valid].unique():
            rows = valid & (month_counts == months).fillna(False).to_numpy(dtype=bool)
            result[rows] = dates_s[rows] + pd.DateOffset(months=int(months))
    return result if isinstance(dates, pd.Series) else result.iloc[0]


def _negate(node: ir.Negate, ctx: Context) -> Value:
    value = evaluate(node.operand, ctx)
    return None if missing(value) is True else -value


def _and(node: ir.And, ctx: Context) -> Value:
    return _kleene(evaluate(node.left, ctx), evaluate(node.right, ctx), "and")


def _or(node: ir.Or, ctx: Context) -> Value:
    return _kleene(evaluate(node.left, ctx), evaluate(node.right, ctx), "or")


def _kleene(left: Value, right: Value, op: str) -> Value:
    if not isinstance(left, pd.Series) and not isinstance(right, pd.Series):
        values = {left if left is not None else pd.NA, right if right is not None else pd.NA}
        if op == "and":
            return False if False in values else pd.NA if pd.NA in values else True
        return True if True in values else pd.NA if pd.NA in values else False
    if not isinstance(left, pd.Series):
        left, right = right, left
    right = pd.NA if right is None else right
    return (left & right) if op == "and" else (left | right)


def _not(node: ir.Not, ctx: Context) -> Value:
    value = evaluate(node.operand, ctx)
    if isinstance(value, pd.Series):
        return ~value
    return pd.NA if missing(value) else not value


def _is_missing(node: ir.IsMissing, ctx: Context) -> Value:
    value = missing(evaluate(node.operand, ctx))
    if isinstance(value, pd.Series):
        value = value.astype("boolean")
        return ~value if node.negated else value
    return (not value) if node.negated else bool(value)


def _in_list(node: ir.InList, ctx: Context) -> Value:
    value = evaluate(node.operand, ctx)
    items = [v for v in _literal(node.items, ctx) if not missing(v)]
    if isinstance(value, pd.Series):
        result = to_boolean(value.isin(items), value.isna())
        return ~result if node.negated else result
    if missing(value):
        return pd.NA
    found = value in items
    return (not found) if node.negated else found


def _between(node: ir.Between, ctx: Context) -> Value:
    value = evaluate(node.operand, ctx)
    low, high = evaluate(node.low, ctx), evaluate(node.high, ctx)
    return _kleene(_compared(">=", value, low), _compared("<=", value, high), "and")


def _if_then_else(node: ir.IfThenElse, ctx: Context) -> Value:
    condition = evaluate(node.condition, ctx)
    then, otherwise = evaluate(node.then, ctx), evaluate(node.otherwise, ctx)
    if not isinstance(condition, pd.Series):
        # An unknown condition chooses neither branch: the result is unknown too.
        if condition is None or condition is pd.NA:
            return None
        return then if condition is True else otherwise
    index = condition.index
    chosen = true_mask(condition, index)
    then_s = as_series(then, index, node.type)
    otherwise_s = as_series(otherwise, index, node.type)
    dtype = dtype_for(node.type)
    if dtype:
        then_s, otherwise_s = then_s.astype(dtype), otherwise_s.astype(dtype)
    result = then_s.where(chosen, otherwise_s)
    return result.mask(condition.isna().to_numpy(dtype=bool))


# ------------------------------------------------------------------ functions
def _call(node: ir.Call, ctx: Context) -> Value:
    if node.over is not None:
        from specrules.engine.pandas.aggregates import evaluate_aggregate

        return evaluate_aggregate(node, ctx)
    index = ctx.frame.index if ctx.frame is not None else pd.RangeIndex(1)
    if node.name in ELAPSED_FUNCTIONS:  # elapsed time: between instants, not wall clocks
        args = [instant_values(a, ctx) for a in node.args]
    else:
        args = [as_series(evaluate(a, ctx), index, a.type) for a in node.args]
    result = ROW_FUNCTIONS[node.name](*args)
    if ctx.frame is None:
        return result.iloc[0] if not result.isna().iloc[0] else pd.NA
    return result


def instant_values(node: ir.Node, ctx: Context) -> pd.Series:
    """A date-time expression's instants (UTC): a datetime field's hidden instant column
    (specrules.data), else its local times placed in the dataset's zone."""
    frame = ctx.frame
    if isinstance(node, ir.Reference) and node.via_link is None and frame is not None:
        hidden = instant_column(node.column or "")
        if hidden in frame:
            return frame[hidden]
    index = frame.index if frame is not None else pd.RangeIndex(1)
    return instants(
        as_series(evaluate(node, ctx), index, node.type), zone_of(ctx.zones, ctx.dataset)
    )


def _dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s).dt.normalize()


def ticks_between(start: pd.Series, end: pd.Series, unit: str) -> pd.Series:
    """end - start in whole `unit`s (D: days, us: microseconds) as Float64, missing where
    either is: counted as numbers, as two moments 300 years apart overflow nanoseconds."""
    ticks = [
        pd.to_datetime(x).to_numpy(f"datetime64[{unit}]").astype("int64") for x in (start, end)
    ]
    counted = pd.Series((ticks[1] - ticks[0]).astype(float), index=start.index, dtype="Float64")
    return counted.mask(start.isna() | end.isna())


def _days_between(a: pd.Series, b: pd.Series) -> pd.Series:
    return ticks_between(a, b, "D")  # calendar days: a date-time counts as its day


def _working_days_between(a: pd.Series, b: pd.Series) -> pd.Series:
    valid = (~a.isna() & ~b.isna()).to_numpy(dtype=bool).copy()
    result = pd.Series(pd.NA, index=a.index, dtype="Float64")
    one = np.timedelta64(1, "D")
    first = _dates(a[valid]).to_numpy(dtype="datetime64[D]")
    second = _dates(b[valid]).to_numpy(dtype="datetime64[D]")
    counted = in_calendar(first) & in_calendar(second)  # outside the calendar: missing
    valid[valid] = counted
    first, second = first[counted], second[counted]
    # Count the days d with earlier < d <= later, then give the sign. (busday_count with
    # its dates reversed counts a different half-open range, one day out at each end.)
    earlier, later = np.minimum(first, second), np.maximum(first, second)
    counts = np.busday_count(earlier + one, later + one, busdaycal=working_day_calendar())
    result[valid] = np.where(second < first, -counts, counts).astype(float)
    return result


def _time_between(unit: str) -> Callable[[pd.Series, pd.Series], pd.Series]:
    """hours_between, minutes_between, seconds_between: elapsed time, with fractions."""

    def run(a: pd.Series, b: pd.Series) -> pd.Series:
        return ticks_between(a, b, "us") / (SECONDS_IN[unit] * 1e6)

    return run


def _age_at(born: pd.Series, on: pd.Series) -> pd.Series:
    born, on = pd.to_datetime(born), pd.to_datetime(on)
    years = on.dt.year - born.dt.year
    before_birthday = (on.dt.month * 100 + on.dt.day) < (born.dt.month * 100 + born.dt.day)
    return (years - before_birthday.astype("Float64")).astype("Float64")


def _pct_change(before: pd.Series, after: pd.Series) -> pd.Series:
    before = before.astype("Float64")
    return ((after - before) / before.mask(before == 0)).astype("Float64")


def _coalesce(*values: pd.Series) -> pd.Series:
    result = values[0]
    for other in values[1:]:
        result = result.where(~result.isna(), other)
    return result


def _row_extreme(how: str) -> Callable[..., pd.Series]:
    def run(*values: pd.Series) -> pd.Series:
        frame = pd.concat(values, axis=1)
        result = frame.min(axis=1) if how == "min" else frame.max(axis=1)
        return result.astype(values[0].dtype)

    return run


def _round(value: pd.Series, digits: pd.Series | None = None) -> pd.Series:
    if digits is None:
        return value.round(0)
    # The places may differ from row to row: one vectorized round per distinct number.
    places = digits.astype("Float64")
    result = pd.Series(pd.NA, index=value.index, dtype="Float64")
    for count in places.dropna().unique():
        rows = (places == count).fillna(False).to_numpy(dtype=bool)
        result[rows] = value[rows].astype("Float64").round(int(count))
    return result


def _contains(text: pd.Series, part: pd.Series) -> pd.Series:
    mask = text.isna() | part.isna()
    found = (
        np.char.find(text.fillna("").to_numpy(dtype=str), part.fillna("").to_numpy(dtype=str)) >= 0
    )
    return to_boolean(pd.Series(found, index=text.index), mask)


ROW_FUNCTIONS: dict[str, Callable[..., pd.Series]] = {
    "days_between": _days_between,
    "working_days_between": _working_days_between,
    "hours_between": _time_between("hours"),
    "minutes_between": _time_between("minutes"),
    "seconds_between": _time_between("seconds"),
    "age_at": _age_at,
    "pct_change": _pct_change,
    "coalesce": _coalesce,
    "least": _row_extreme("min"),
    "greatest": _row_extreme("max"),
    "year": lambda d: pd.to_datetime(d).dt.year.astype("Float64"),
    "month": lambda d: pd.to_datetime(d).dt.month.astype("Float64"),
    "weekday": lambda d: (pd.to_datetime(d).dt.day_of_week + 1).astype("Float64"),
    "hour": lambda d: (pd.to_datetime(d).dt.hour + pd.to_datetime(d).dt.minute / 60).astype(
        "Float64"
    ),
    "abs": lambda x: x.abs(),
    "round": _round,
    "lower": lambda t: t.str.lower(),
    "upper": lambda t: t.str.upper(),
    "contains": _contains,
}


_HANDLERS: dict[type, Callable[[Any, Context], Value]] = {
    ir.Reference: _reference,
    ir.Compare: _compare,
    ir.Arithmetic: _arithmetic,
    ir.Negate: _negate,
    ir.And: _and,
    ir.Or: _or,
    ir.Not: _not,
    ir.IsMissing: _is_missing,
    ir.InList: _in_list,
    ir.Between: _between,
    ir.IfThenElse: _if_then_else,
    ir.Call: _call,
}


def evaluate(node: ir.Node, ctx: Context) -> Value:
    """Evaluate a checked expression for every row of `ctx.frame` at once."""
    handler = _HANDLERS.get(type(node))
    if handler is None:
        return _literal(node, ctx)
    return handler(node, ctx)


def evaluate_column(node: ir.Node, ctx: Context) -> pd.Series:
    """Like `evaluate`, but always a Series over the context's rows, typed by the node."""
    assert ctx.frame is not None
    value = as_series(evaluate(node, ctx), ctx.frame.index, node.type)
    dtype = dtype_for(node.type)
    if dtype and str(value.dtype) != dtype:
        value = value.astype(dtype)
    return value
