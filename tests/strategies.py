"""Hypothesis strategies: random well-typed expressions and random frames full of gaps.

Everything runs over one small fixed catalog, dataset `d`:

    n1, n2  number          t   text          e   enumeration (phone, online, in person)
    b       boolean         d1, d2  date      t1  date-time

Expressions are built per result kind from the grammar's constructs (literals, references,
arithmetic, comparisons, and/or/not, in, between, is missing, if-then-else, row functions,
aggregates), so every generated tree type-checks. `wild=True` widens the literals (any
non-negative number, any text without a newline, any year) for the print/parse round trip;
the default keeps them in ranges both backends evaluate exactly.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import pandas as pd
from hypothesis import strategies as st

from specrules.dsl import ir
from specrules.dsl.checker import Catalog, DatasetSchema
from specrules.dsl.types import BOOLEAN, DATE, DATETIME, NUMBER, TEXT, Type

ENUM_VALUES = ("phone", "online", "in person")
ENUM = Type("text", values=ENUM_VALUES)

FIELDS: dict[str, Type] = {
    "n1": NUMBER,
    "n2": NUMBER,
    "t": TEXT,
    "e": ENUM,
    "b": BOOLEAN,
    "d1": DATE,
    "d2": DATE,
    "t1": DATETIME,
}
DTYPES = {
    "n1": "Float64",
    "n2": "Float64",
    "t": "string",
    "e": "string",
    "b": "boolean",
    "d1": "datetime64[ns]",
    "d2": "datetime64[ns]",
    "t1": "datetime64[ns]",
}
CATALOG = Catalog({"d": DatasetSchema("d", dict(FIELDS), key=())})

# Result kinds of generated expressions. ENUM expressions may be compared with the
# enumeration's own values only (the checker rejects any other text literal there).
NUM, TXT, ENM, BOOL, DATE_K, DATETIME_K = "num", "text", "enum", "bool", "date", "datetime"
DUR_TIME, DUR_CAL, DUR_WORK = "dur_time", "dur_cal", "dur_work"
KINDS = (NUM, TXT, ENM, BOOL, DATE_K, DATETIME_K, DUR_TIME, DUR_CAL, DUR_WORK)
# Top-level kinds for row expressions, weighted towards conditions and numbers (what rules
# are made of).
ROW_KINDS = (BOOL, BOOL, BOOL, NUM, NUM, TXT, ENM, DATE_K, DATETIME_K, DUR_TIME, DUR_CAL, DUR_WORK)
_FIELDS_OF_KIND = {
    NUM: ("n1", "n2"),
    TXT: ("t",),
    ENM: ("e",),
    BOOL: ("b",),
    DATE_K: ("d1", "d2"),
    DATETIME_K: ("t1",),
}
_COMPARATORS = ("=", "!=", "<", "<=", ">", ">=")
_FIRST_DAY, _LAST_DAY = dt.date(2019, 1, 1), dt.date(2024, 12, 31)


# ------------------------------------------------------------------ literals
def _decimal(places: int, low: int, high: int) -> st.SearchStrategy[float]:
    return st.integers(low * 10**places, high * 10**places).map(lambda i: i / 10**places)


def number_values(wild: bool) -> st.SearchStrategy[float | int]:
    """Non-negative numbers as the parser produces them (a minus sign is `Negate`)."""
    if wild:
        return st.one_of(
            st.integers(0, 10**15),
            st.floats(1e-6, 1e12, allow_nan=False, allow_infinity=False),
            st.just(0.0),
        )
    return st.one_of(
        st.sampled_from([0, 1, 2, 3, 10, 100, 0.5, 2.5, 0.25, 1.5]),
        st.integers(0, 200),
        _decimal(2, 0, 100),
    )


def text_values(wild: bool) -> st.SearchStrategy[str]:
    if wild:
        return st.text(
            st.characters(exclude_categories=("Cs",), exclude_characters="\n"), max_size=8
        )
    return st.one_of(
        st.sampled_from(["", "a", "ab", "B", "Wigan", "x y"]), st.text("abAB ", max_size=3)
    )


def date_values(wild: bool) -> st.SearchStrategy[dt.date]:
    if wild:
        return st.dates()
    return st.one_of(
        st.dates(_FIRST_DAY, _LAST_DAY),
        # Around Christmas and Easter, where bank holidays crowd together.
        st.dates(dt.date(2020, 12, 18), dt.date(2021, 1, 6)),
        st.dates(dt.date(2023, 4, 5), dt.date(2023, 4, 12)),
        st.sampled_from([dt.date(2020, 2, 29), dt.date(2024, 2, 29), dt.date(2021, 1, 31)]),
    )


def datetime_values(wild: bool) -> st.SearchStrategy[dt.datetime]:
    """Date-times to the second (the grammar has no fractions of a second)."""
    if wild:
        return st.datetimes().map(lambda v: v.replace(microsecond=0))
    return st.builds(
        lambda day, minute: dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=minute),
        date_values(False),
        st.one_of(st.just(0), st.integers(0, 24 * 60 - 1)),  # midnight: equal to a date
    )


def money_texts(wild: bool) -> st.SearchStrategy[str]:
    amount = st.integers(0, 10**9 if wild else 10**6).map(str)
    pence = st.sampled_from(["", ".5", ".25", ".05"])
    return st.builds(lambda a, p, s: f"£{a}{p}{s}", amount, pence, st.sampled_from(["", "k", "m"]))


def number_literal(wild: bool) -> st.SearchStrategy[ir.Node]:
    return st.one_of(
        number_values(wild).map(ir.Number),
        number_values(wild).map(ir.Percent),
        money_texts(wild).map(ir.Money),
    )


def duration_literal(kind: str, wild: bool) -> st.SearchStrategy[ir.Duration]:
    whole = st.one_of(st.just(0), st.integers(0, 10**6 if wild else 40))  # zero divides
    if kind == DUR_TIME:
        amount = number_values(wild) if wild else st.one_of(whole, _decimal(2, 0, 30))
        units = st.sampled_from(["minutes", "hours", "days", "weeks"])
        return st.builds(ir.Duration, amount, units)
    if kind == DUR_CAL:
        return st.builds(ir.Duration, whole, st.sampled_from(["months", "years"]))
    return st.builds(ir.Duration, whole, st.just("working days"))


def literal_of(kind: str, wild: bool) -> st.SearchStrategy[ir.Node]:
    if kind == NUM:
        return number_literal(wild)
    if kind == TXT:
        return text_values(wild).map(ir.Text)
    if kind == ENM:
        return st.sampled_from(ENUM_VALUES).map(ir.Text)
    if kind == BOOL:
        return st.booleans().map(ir.Boolean)
    if kind == DATE_K:
        return date_values(wild).map(ir.Date)
    if kind == DATETIME_K:
        return datetime_values(wild).map(ir.DateTime)
    return duration_literal(kind, wild)


def list_literal(kind: str, wild: bool) -> st.SearchStrategy[ir.ListOf]:
    """`[..]` for `in`: lists hold plain literals (no minus signs, no expressions)."""
    item = number_values(wild).map(ir.Number) if kind == NUM else literal_of(kind, wild)
    return st.lists(item, max_size=4).map(lambda items: ir.ListOf(tuple(items)))


# ------------------------------------------------------------------ expressions
def _reference(name: str, qualified: bool) -> st.SearchStrategy[ir.Reference]:
    if qualified:
        return st.just(ir.Reference(("d", name)))
    return st.sampled_from([ir.Reference((name,)), ir.Reference(("d", name))])


def _call(name: str, *args: st.SearchStrategy[ir.Node]) -> st.SearchStrategy[ir.Call]:
    return st.tuples(*args).map(lambda a: ir.Call(name, tuple(a)))


def _variadic(name: str, arg: st.SearchStrategy[ir.Node]) -> st.SearchStrategy[ir.Call]:
    return st.lists(arg, min_size=1, max_size=3).map(lambda a: ir.Call(name, tuple(a)))


def _binary(cls: type, op: str | st.SearchStrategy[str], left, right) -> st.SearchStrategy:
    ops = op if isinstance(op, st.SearchStrategy) else st.just(op)
    return st.builds(cls, ops, left, right)


@cache
def expressions(
    kind: str, depth: int = 3, wild: bool = False, qualified: bool = False, aggregates: bool = True
) -> st.SearchStrategy[ir.Node]:
    """Unchecked trees whose type is `kind`, for rows of dataset `d`.

    `qualified` writes every field as `d.field` (needed inside top-level aggregates);
    `aggregates` allows count/min/max over `d` inside a row expression.
    """
    leaves: list[st.SearchStrategy[ir.Node]] = [literal_of(kind, wild)]
    for name in _FIELDS_OF_KIND.get(kind, ()):
        leaves.append(_reference(name, qualified))
    leaf = st.one_of(leaves)
    if depth <= 0:
        return leaf

    def sub(k: str) -> st.SearchStrategy[ir.Node]:
        return expressions(k, depth - 1, wild, qualified, aggregates)

    def temporal() -> st.SearchStrategy[ir.Node]:
        return st.one_of(sub(DATE_K), sub(DATETIME_K))

    def if_then_else() -> st.SearchStrategy[ir.Node]:
        return st.builds(ir.IfThenElse, sub(BOOL), sub(kind), sub(kind))

    options: list[st.SearchStrategy[ir.Node]] = [if_then_else()]
    if kind == NUM:
        options += [
            _binary(ir.Arithmetic, st.sampled_from("+-*/"), sub(NUM), sub(NUM)),
            st.builds(ir.Negate, sub(NUM)),
            st.sampled_from([DUR_TIME, DUR_CAL, DUR_WORK]).flatmap(
                lambda k: _binary(ir.Arithmetic, "/", sub(k), sub(k))
            ),
            st.sampled_from(
                [
                    "days_between",
                    "working_days_between",
                    "hours_between",
                    "minutes_between",
                    "seconds_between",
                    "age_at",
                ]
            ).flatmap(lambda name: _call(name, temporal(), temporal())),
            _call("pct_change", sub(NUM), sub(NUM)),
            st.sampled_from(["year", "month", "weekday", "hour"]).flatmap(
                lambda name: _call(name, temporal())
            ),
            _call("abs", sub(NUM)),
            _call("round", sub(NUM)),
            _call("round", sub(NUM), round_digits(wild, sub(BOOL))),
            st.sampled_from(["coalesce", "least", "greatest"]).flatmap(
                lambda name: _variadic(name, sub(NUM))
            ),
        ]
        if aggregates:
            options.append(row_aggregates(depth - 1, wild, qualified))
    elif kind == BOOL:
        ordered = st.sampled_from([NUM, TXT, ENM, DATE_K, DATETIME_K, DUR_TIME, DUR_CAL, DUR_WORK])
        options += [
            st.builds(ir.And, sub(BOOL), sub(BOOL)),
            st.builds(ir.Or, sub(BOOL), sub(BOOL)),
            st.builds(ir.Not, sub(BOOL)),
            ordered.flatmap(
                lambda k: _binary(ir.Compare, st.sampled_from(_COMPARATORS), sub(k), sub(k))
            ),
            _binary(ir.Compare, st.sampled_from(["=", "!="]), sub(BOOL), sub(BOOL)),
            _binary(ir.Compare, st.sampled_from(_COMPARATORS), temporal(), temporal()),
            st.sampled_from(KINDS).flatmap(
                lambda k: st.builds(ir.IsMissing, sub(k), negated=st.booleans())
            ),
            st.sampled_from([NUM, TXT, ENM, DATE_K, DATETIME_K, BOOL, DUR_TIME]).flatmap(
                lambda k: st.builds(ir.InList, sub(k), list_literal(k, wild), negated=st.booleans())
            ),
            st.sampled_from([NUM, TXT, DATE_K, DUR_TIME]).flatmap(
                lambda k: st.builds(ir.Between, sub(k), sub(k), sub(k))
            ),
            _call("contains", st.one_of(sub(TXT), sub(ENM)), sub(TXT)),
        ]
    elif kind == TXT:
        options += [
            st.sampled_from(["lower", "upper"]).flatmap(
                lambda name: _call(name, st.one_of(sub(TXT), sub(ENM)))
            ),
            st.sampled_from(["coalesce", "least", "greatest"]).flatmap(
                lambda name: _variadic(name, sub(TXT))
            ),
        ]
    elif kind == ENM:
        options += [
            st.sampled_from(["coalesce", "least", "greatest"]).flatmap(
                lambda name: _variadic(name, sub(ENM))
            ),
        ]
    elif kind in (DATE_K, DATETIME_K):
        base = sub(kind) if kind == DATE_K else temporal()
        durations = st.sampled_from([DUR_TIME, DUR_CAL, DUR_WORK]).flatmap(sub)
        options += [
            _binary(ir.Arithmetic, st.sampled_from("+-"), base, durations),
            st.builds(lambda dur, date: ir.Arithmetic("+", dur, date), durations, base),
            st.sampled_from(["coalesce", "least", "greatest"]).flatmap(
                lambda name: _variadic(name, base)
            ),
        ]
        if aggregates:
            options.append(
                st.builds(
                    lambda name, arg: ir.Call(name, (arg,)),
                    st.sampled_from(["min", "max"]),
                    _reference("d1" if kind == DATE_K else "t1", qualified),
                )
            )
    else:  # durations
        options += [
            _binary(ir.Arithmetic, st.sampled_from("+-"), sub(kind), sub(kind)),
            st.builds(ir.Negate, sub(kind)),
            st.sampled_from(["coalesce", "least", "greatest"]).flatmap(
                lambda name: _variadic(name, sub(kind))
            ),
        ]
        if kind == DUR_TIME:
            options += [
                _binary(ir.Arithmetic, "-", temporal(), temporal()),
                _binary(ir.Arithmetic, "*", sub(kind), small_whole_numbers()),
                _binary(ir.Arithmetic, "*", small_whole_numbers(), sub(kind)),
                _binary(ir.Arithmetic, "/", sub(kind), st.one_of(small_whole_numbers(), sub(NUM))),
            ]
    # Mostly compound at this depth (a uniform choice among leaf and compounds still
    # generates many one-node trees); the leaf stays first so failures shrink to it.
    compound = st.one_of(options)
    return st.integers(0, 3).flatmap(lambda pick: leaf if pick == 0 else compound)


def small_whole_numbers() -> st.SearchStrategy[ir.Node]:
    return st.integers(0, 8).map(ir.Number)


def round_digits(wild: bool, condition: st.SearchStrategy[ir.Node]) -> st.SearchStrategy[ir.Node]:
    """Decimal places for round(): a literal, or one chosen per row by a condition."""
    places = st.integers(0, 3).map(ir.Number)
    return st.one_of(places, st.builds(ir.IfThenElse, condition, places, places))


def row_aggregates(depth: int, wild: bool, qualified: bool) -> st.SearchStrategy[ir.Node]:
    """Aggregates over `d` itself inside a row expression: exact ones only (count, min, max)."""

    def inner(k: str) -> st.SearchStrategy[ir.Node]:
        return expressions(k, max(depth - 1, 0), wild, qualified, False)

    where = st.one_of(st.none(), inner(BOOL))
    return st.one_of(
        st.builds(lambda w: ir.Call("count", (), where=w), where),
        st.builds(
            lambda arg, distinct, w: ir.Call("count", (arg,), distinct=distinct, where=w),
            st.sampled_from([NUM, TXT, BOOL, DATE_K]).flatmap(inner),
            st.booleans(),
            where,
        ),
        st.builds(
            lambda name, arg, w: ir.Call(name, (arg,), where=w),
            st.sampled_from(["min", "max"]),
            inner(NUM),
            where,
        ),
    )


def _names_dataset(node: ir.Node) -> bool:
    return any(isinstance(n, ir.Reference) and n.parts[0] == "d" for n in ir.walk(node))


@cache
def aggregates(depth: int = 2, wild: bool = False) -> st.SearchStrategy[ir.Call]:
    """A top-level aggregate over `d` (fields written `d.field`), with an optional filter."""

    def inner(k: str) -> st.SearchStrategy[ir.Node]:
        return expressions(k, depth, wild, True, False)

    where = st.one_of(st.none(), inner(BOOL))
    counts = st.one_of(
        st.builds(lambda w: ir.Call("count", (ir.Reference(("d",)),), where=w), where),
        st.builds(
            lambda arg, distinct, w: ir.Call("count", (arg,), distinct=distinct, where=w),
            st.sampled_from(KINDS).flatmap(inner),
            st.booleans(),
            where,
        ),
    )
    numeric = st.builds(
        lambda name, arg, w: ir.Call(name, (arg,), where=w),
        st.sampled_from(["sum", "mean", "median"]),
        st.sampled_from([NUM, DUR_TIME, DUR_CAL]).flatmap(inner),
        where,
    )
    extremes = st.builds(
        lambda name, arg, w: ir.Call(name, (arg,), where=w),
        st.sampled_from(["min", "max"]),
        st.sampled_from([NUM, TXT, ENM, DATE_K, DATETIME_K, DUR_TIME]).flatmap(inner),
        where,
    )
    share = st.builds(lambda arg, w: ir.Call("share", (arg,), where=w), inner(BOOL), where)
    return st.one_of(counts, numeric, extremes, share).filter(_names_dataset)


@cache
def numeric_aggregates(depth: int = 2) -> st.SearchStrategy[ir.Call]:
    """Top-level aggregates whose result is a number."""

    def inner(k: str) -> st.SearchStrategy[ir.Node]:
        return expressions(k, depth, False, True, False)

    where = st.one_of(st.none(), inner(BOOL))
    return st.one_of(
        st.builds(lambda w: ir.Call("count", (ir.Reference(("d",)),), where=w), where),
        st.builds(
            lambda name, arg, w: ir.Call(name, (arg,), where=w),
            st.sampled_from(["sum", "mean", "median", "min", "max"]),
            inner(NUM),
            where,
        ),
        st.builds(
            lambda arg, centile, w: ir.Call("percentile", (arg, ir.Number(centile)), where=w),
            inner(NUM),
            st.sampled_from([0, 7, 50, 90, 99.5, 100]),
            where,
        ),
        st.builds(lambda arg, w: ir.Call("share", (arg,), where=w), inner(BOOL), where),
    ).filter(_names_dataset)


def top_level_expressions(depth: int = 2) -> st.SearchStrategy[ir.Node]:
    """Figures computed over whole datasets: an aggregate, or arithmetic on aggregates."""
    figure = numeric_aggregates(depth)
    return st.one_of(
        aggregates(depth),
        _binary(ir.Arithmetic, st.sampled_from("+-*/"), figure, figure),
        _binary(ir.Arithmetic, st.sampled_from("*/"), figure, number_literal(False)),
        _call("round", figure, st.integers(0, 3).map(ir.Number)),
        st.builds(
            ir.IfThenElse,
            _binary(ir.Compare, st.sampled_from(_COMPARATORS), figure, number_literal(False)),
            figure,
            figure,
        ),
    )


# ------------------------------------------------------------------ thresholds
PERIOD_WORDS = ("year", "quarter", "month", "week")


def threshold_amounts(wild: bool = True) -> st.SearchStrategy[ir.Node]:
    return st.one_of(
        number_literal(wild),
        st.sampled_from([DUR_TIME, DUR_CAL, DUR_WORK]).flatmap(lambda k: duration_literal(k, wild)),
    )


def thresholds() -> st.SearchStrategy[ir.Threshold | ir.Reduction]:
    per = st.one_of(st.none(), st.sampled_from(PERIOD_WORDS))
    by = st.one_of(st.none(), st.dates())
    bounds = st.builds(
        ir.Threshold,
        st.sampled_from(["at least", "at most", "more than", "less than", "exactly"]),
        threshold_amounts(),
        per=per,
        by=by,
    )
    between = st.builds(
        lambda low, high, p, b: ir.Threshold("between", low, upper=high, per=p, by=b),
        threshold_amounts(),
        threshold_amounts(),
        per,
        by,
    )
    reduction = st.builds(
        ir.Reduction,
        number_values(True),
        st.booleans(),
        st.sampled_from(PERIOD_WORDS),
        threshold_amounts(),
    )
    return st.one_of(bounds, between, reduction)


# ------------------------------------------------------------------ frames
def _column(values: st.SearchStrategy, size: int) -> st.SearchStrategy[list]:
    """`size` values, many of them missing."""
    return st.lists(st.one_of(st.none(), values), min_size=size, max_size=size)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def column_values(name: str) -> st.SearchStrategy:
    kind = FIELDS[name]
    if kind.values is not None:
        return st.sampled_from(kind.values)
    if kind.kind == "number":
        return st.one_of(
            st.sampled_from([0.0, 1.0, -1.0, 2.0, 0.5, 2.5, 100.0, -3.25]),
            _decimal(2, -1000, 1000),
        )
    if kind.kind == "text":
        return text_values(False)
    if kind.kind == "boolean":
        return st.booleans()
    if kind.kind == "date":
        return date_values(False).map(_midnight)
    return datetime_values(False)


@st.composite
def frames(draw: st.DrawFn, max_rows: int = 6) -> pd.DataFrame:
    """A frame of dataset `d` with the engine's dtypes, gaps everywhere, and an index that
    is not 0..n-1 (as after a period filter)."""
    # Empty frames last, so that they are drawn now and then but are not what failures
    # shrink to (hypothesis favours the first choice).
    size = draw(st.sampled_from([*range(1, max_rows + 1), 0]))
    index = sorted(draw(st.lists(st.integers(0, 50), min_size=size, max_size=size, unique=True)))
    columns = {
        name: pd.Series(draw(_column(column_values(name), size)), index=index, dtype=DTYPES[name])
        for name in FIELDS
    }
    return pd.DataFrame(columns, index=pd.Index(index, dtype="int64"))


def rows_of(frame: pd.DataFrame) -> list[dict[str, object]]:
    """The frame as plain Python rows for the reference interpreter (None for missing)."""
    rows = []
    for _, series in frame.iterrows():
        row = {}
        for name in frame.columns:
            value = series[name]
            if pd.isna(value):
                row[name] = None
            elif isinstance(value, pd.Timestamp):
                row[name] = value.to_pydatetime()
            elif FIELDS[name].kind == "number":
                row[name] = float(value)
            elif FIELDS[name].kind == "boolean":
                row[name] = bool(value)
            else:
                row[name] = str(value)
        rows.append(row)
    return rows
