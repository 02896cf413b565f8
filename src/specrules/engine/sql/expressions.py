"""Checked IR → SQL expressions (sqlglot trees), for DuckDB and for export to other dialects.

The twin of pandas/expressions.py: one function per node type in `_HANDLERS`, walking the same
checked tree, so a construct means the same thing in both engines. SQL is natively
three-valued, so `and`/`or`/`not`, comparisons, `in` and `between` map one to one; the
places where SQL and pandas differ are handled here, each where it happens:

- numbers are DOUBLE and `/` is always float division; dividing by zero gives NULL
  (`a / NULLIF(b, 0)`), as in the pandas engine;
- `if … then … else` is `CASE WHEN c THEN a WHEN NOT c THEN b END`: an unknown condition
  gives an unknown result, as in the pandas engine;
- `x in []` is false (NULL for a missing `x`), since SQL has no empty list;
- a fixed-length duration is a number of seconds (DOUBLE), calendar months and working days
  are counts, as in the pandas engine (Timedelta / months / days);
- working days use a calendar table of England and Wales bank holidays
  (`specrules_calendar`, built from `engine.common.calendar.bank_holidays`), since no SQL engine has
  numpy's busday functions;
- `round` rounds halves to even, as pandas does (DuckDB `round_even`, Spark `bround`).

A function a dialect cannot express raises `UnsupportedInDialect`, naming the alternatives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from typing import Any

import sqlglot
from sqlglot import exp

from specrules.datetimes import (
    DAY_FIRST,
    GROUPED_NUMBER,
    ISO_INSTANT,
    ISO_LOCAL,
    instant_column,
    zone_of,
)
from specrules.dsl import ir
from specrules.dsl.percentiles import DEFAULT_METHOD, centile_fraction
from specrules.dsl.types import SECONDS_IN, Type
from specrules.engine.common.calendar import FIRST_DAY, LAST_DAY

DIALECTS = ("duckdb", "spark", "postgres", "bigquery", "tsql")
CALENDAR = "specrules_calendar"  # day DATE, cum BIGINT (working days up to day), fwd BIGINT
WORKDAYS = "specrules_workdays"  # n BIGINT (ordinal), day DATE (the n-th working day)
CALENDAR_FIRST, CALENDAR_LAST = FIRST_DAY, LAST_DAY  # the days working days are counted over


class UnsupportedInDialect(Exception):
    """A construct with no SQL equivalent in the chosen dialect."""

    def __init__(self, what: str, dialect: str, works_in: tuple[str, ...] = ()):
        self.what, self.dialect, self.works_in = what, dialect, works_in
        where = (
            f"generate SQL for {', '.join(works_in)}, " if works_in else "generate SQL for duckdb, "
        )
        super().__init__(
            f"{what} has no equivalent in {dialect} SQL that gives the same result; "
            f"{where}or evaluate with `specrules evaluate --engine pandas` (or duckdb)"
        )


def sql_name(name: str, dialect: str = "duckdb") -> str:
    """A table or column name, always quoted, as `dialect` writes it."""
    return exp.to_identifier(name, quoted=True).sql(dialect)


def sql_text(text: str | None) -> str:
    """A string literal (quotes doubled); a missing one as a typed NULL."""
    if text is None:
        return "CAST(NULL AS VARCHAR)"
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Scope:
    """Where an expression is compiled.

    `dataset`/`alias`: the row's dataset and the SQL alias of its table (None at the top
    level, where only aggregates may read data). `tables` names the SQL relation of each
    dataset for aggregates over whole datasets (period-filtered for a ratio's figures);
    `full_tables` the relation links and per-row aggregates read. `keys` gives each
    dataset's single key column, `links` each dataset's links as (dataset, column).
    """

    dialect: str = "duckdb"
    dataset: str | None = None
    alias: str | None = None
    tables: Mapping[str, exp.Expression] = field(default_factory=dict)
    full_tables: Mapping[str, exp.Expression] = field(default_factory=dict)
    keys: Mapping[str, str] = field(default_factory=dict)
    links: Mapping[str, Mapping[str, tuple[str, str]]] = field(default_factory=dict)
    zones: Mapping[str, str] = field(default_factory=dict)  # dataset -> its time zone
    # dataset -> its datetime fields with a hidden instant column (the engines' typed tables)
    instant_fields: Mapping[str, frozenset[str]] = field(default_factory=dict)
    depth: int = 0

    def inner(self, dataset: str) -> Scope:
        return replace(self, dataset=dataset, alias=f"s{self.depth + 1}", depth=self.depth + 1)


def table(name: str) -> exp.Expression:
    return exp.to_table(name, quoted=True) if not name.isidentifier() else exp.to_table(name)


def column(name: str, alias: str | None) -> exp.Column:
    return exp.column(name, table=alias, quoted=True)


# ------------------------------------------------------------------ dialect templates
# Constructs whose spelling differs by dialect, as SQL with :placeholders parsed in that
# dialect. A missing entry means the dialect has no faithful equivalent.
# Spark casts an offset time only with its seconds (`01:30+01:00` is NULL): add `:00`.
_SPARK_INSTANT = (
    "TRY_CAST(regexp_replace(:x, '^([^T ]+[T ][0-9]{1,2}:[0-9]{2})([Z+-])', '$1:00$2') "
    "AS TIMESTAMP)"
)
# A number as pandas reads it: a plain decimal, with an exponent, or infinity.
_PLAIN_NUMBER = "(?i)[+-]?(([0-9]+[.]?[0-9]*|[.][0-9]+)(e[+-]?[0-9]+)?|inf|infinity)"

_TEMPLATES: dict[str, dict[str, str]] = {
    # seconds from :a to :b, from whole microseconds: two epochs as doubles (1.7e9 s) lose
    # the sub-second digits the pandas engine keeps (18.00300000031789 minutes, not 18.003)
    "seconds_between": {
        "duckdb": "(epoch_us(:b) - epoch_us(:a)) / 1e6",
        "postgres": "EXTRACT(EPOCH FROM (:b - :a))",
        "spark": "(unix_micros(:b) - unix_micros(:a)) / 1e6",
        "bigquery": "(UNIX_MICROS(:b) - UNIX_MICROS(:a)) / 1e6",
        "tsql": "DATEDIFF_BIG(MICROSECOND, :a, :b) / 1e6",
    },
    "epoch": {  # seconds since 1970 of a timestamp, with fractions
        "duckdb": "epoch(:x)",
        "postgres": "EXTRACT(EPOCH FROM :x)",
        "spark": "unix_micros(:x) / 1e6",
        "bigquery": "UNIX_MICROS(:x) / 1e6",
        "tsql": "DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01' AS DATETIME2), :x) / 1e6",
    },
    "add_seconds": {
        "duckdb": "CAST(:x AS TIMESTAMP) + to_microseconds(CAST(round(:s * 1e6) AS BIGINT))",
        "postgres": ":x + :s * INTERVAL '1 second'",
        "spark": "timestamp_micros(unix_micros(:x) + CAST(round(:s * 1e6) AS BIGINT))",
        "bigquery": "TIMESTAMP_MICROS(UNIX_MICROS(:x) + CAST(ROUND(:s * 1e6) AS INT64))",
        "tsql": "DATEADD(MILLISECOND, CAST(ROUND(:s * 1e3, 0) AS BIGINT) % 86400000, "
        "DATEADD(DAY, CAST(FLOOR(:s / 86400) AS INT), :x))",
    },
    "add_months": {
        "duckdb": "CAST(:x AS TIMESTAMP) + to_months(CAST(trunc(:m) AS INTEGER))",
        "postgres": ":x + CAST(TRUNC(:m) AS INTEGER) * INTERVAL '1 month'",
        "spark": "CAST(add_months(:x, CAST(:m AS INT)) AS TIMESTAMP)",
        "bigquery": "DATETIME_ADD(:x, INTERVAL CAST(TRUNC(:m) AS INT64) MONTH)",
        "tsql": "DATEADD(MONTH, CAST(:m AS INT), :x)",
    },
    "day": {  # midnight of a timestamp
        "duckdb": "CAST(CAST(:x AS DATE) AS TIMESTAMP)",
        "postgres": "CAST(CAST(:x AS DATE) AS TIMESTAMP)",
        "spark": "CAST(CAST(:x AS DATE) AS TIMESTAMP)",
        "bigquery": "CAST(CAST(:x AS DATE) AS DATETIME)",
        "tsql": "CAST(CAST(:x AS DATE) AS DATETIME2)",
    },
    "days_between": {
        "duckdb": "CAST(date_diff('day', CAST(:a AS DATE), CAST(:b AS DATE)) AS DOUBLE)",
        "postgres": "CAST(CAST(:b AS DATE) - CAST(:a AS DATE) AS DOUBLE PRECISION)",
        "spark": "CAST(datediff(CAST(:b AS DATE), CAST(:a AS DATE)) AS DOUBLE)",
        "bigquery": "CAST(DATE_DIFF(CAST(:b AS DATE), CAST(:a AS DATE), DAY) AS FLOAT64)",
        "tsql": "CAST(DATEDIFF(DAY, CAST(:a AS DATE), CAST(:b AS DATE)) AS FLOAT)",
    },
    "weekday": {  # 1 Monday … 7 Sunday
        "duckdb": "CAST(isodow(:x) AS DOUBLE)",
        "postgres": "CAST(EXTRACT(ISODOW FROM :x) AS DOUBLE PRECISION)",
        "spark": "CAST(weekday(:x) + 1 AS DOUBLE)",
        "bigquery": "CAST(MOD(EXTRACT(DAYOFWEEK FROM :x) + 5, 7) + 1 AS FLOAT64)",
        "tsql": "CAST((DATEDIFF(DAY, CAST('1900-01-01' AS DATE), :x) % 7) + 1 AS FLOAT)",
    },
    "round": {  # halves to the even neighbour, as pandas
        "duckdb": "round_even(:x, CAST(:d AS INTEGER))",
        "spark": "bround(:x, CAST(:d AS INT))",
    },
    # places that differ by row: the engines want a constant, so scale as numpy's round does
    # (x * 10^d, to the even whole number, / 10^d; for d < 0, x / 10^-d then * 10^-d)
    "round_by_row": {
        "duckdb": "CASE WHEN :d >= 0 THEN round_even(:x * power(10, :d), 0) / power(10, :d) "
        "ELSE round_even(:x / power(10, -:d), 0) * power(10, -:d) END",
        "spark": "CASE WHEN :d >= 0 THEN bround(:x * power(10, :d), 0) / power(10, :d) "
        "ELSE bround(:x / power(10, -:d), 0) * power(10, -:d) END",
    },
    "contains": {
        "duckdb": "strpos(:a, :b) > 0",
        "postgres": "POSITION(:b IN :a) > 0",
        "spark": "locate(:b, :a) > 0",
        "bigquery": "STRPOS(:a, :b) > 0",
        "tsql": "CHARINDEX(:b, :a COLLATE Latin1_General_BIN2) > 0 OR (LEN(:b) = 0)",
    },
    # Reading files (engine/sql/evaluator.py, for the engines that evaluate: duckdb and spark).
    "commas_group_thousands": {  # text with no comma, or with commas between thousands
        "duckdb": f"(NOT contains(:x, ',') OR regexp_full_match(:x, '{GROUPED_NUMBER}'))",
        "spark": f"(NOT contains(:x, ',') OR :x RLIKE '^{GROUPED_NUMBER}$')",
    },
    "text_to_number": {  # trimmed text without commas or £ → DOUBLE, NULL if not a number
        # Only plain decimals, as pandas reads them: DuckDB also reads '1_000', Java '1.5d'
        # and '0x1p3'.
        "duckdb": f"CASE WHEN regexp_full_match(:x, '{_PLAIN_NUMBER}') "
        "THEN TRY_CAST(:x AS DOUBLE) END",
        "spark": f"CASE WHEN :x RLIKE '^{_PLAIN_NUMBER}$' THEN TRY_CAST(:x AS DOUBLE) END",
    },
    # Date-times as specrules.data reads them: ISO local (as written), ISO with an offset
    # (an instant, given as local time in zone :z), else day/month/year; NULL if none.
    "text_to_timestamp": {
        "duckdb": f"CASE WHEN regexp_full_match(:x, '{ISO_LOCAL}') THEN TRY_CAST(:x AS TIMESTAMP) "
        f"WHEN regexp_full_match(:x, '{ISO_INSTANT}') "
        "THEN timezone(:z, TRY_CAST(:x AS TIMESTAMPTZ)) "
        + " ".join(
            f"WHEN regexp_full_match(:x, '{pattern}') THEN TRY_STRPTIME(:x, '{form}')"
            for pattern, form, _ in DAY_FIRST
        )
        + " END",
        # the session's zone is UTC: a cast with an offset gives the instant in UTC
        "spark": f"CASE WHEN :x RLIKE '^{ISO_LOCAL}$' THEN TRY_CAST(:x AS TIMESTAMP) "
        f"WHEN :x RLIKE '^{ISO_INSTANT}$' THEN from_utc_timestamp({_SPARK_INSTANT}, :z) "
        + " ".join(
            f"WHEN :x RLIKE '^{pattern}$' THEN try_to_timestamp(:x, '{form}')"
            for pattern, _, form in DAY_FIRST
        )
        + " END",
    },
    "float_text": {  # a float as Python's repr writes it: 1e+30, inf
        "duckdb": "CAST(:x AS VARCHAR)",
        "spark": "CASE WHEN :x = double('inf') THEN 'inf' WHEN :x = double('-inf') THEN '-inf' "
        "WHEN abs(:x) >= 1e16 THEN regexp_replace(regexp_replace(regexp_replace("
        "CAST(:x AS STRING), '[.]0E', 'E'), 'E([0-9])', 'e+$1'), 'E-', 'e-') "
        "ELSE CAST(:x AS STRING) END",
    },
    "text_to_utc": {  # text with an offset as its instant, in UTC
        "duckdb": "timezone('UTC', TRY_CAST(:x AS TIMESTAMPTZ))",
        "spark": _SPARK_INSTANT,
    },
    "is_instant_text": {
        "duckdb": f"regexp_full_match(:x, '{ISO_INSTANT}')",
        "spark": f":x RLIKE '^{ISO_INSTANT}$'",
    },
    "local_to_utc": {  # the instant of local time :x in zone :z (a gap's time moves on)
        "duckdb": "timezone('UTC', timezone(:z, :x))",
        "spark": "to_utc_timestamp(:x, :z)",
        "postgres": "(:x AT TIME ZONE :z) AT TIME ZONE 'UTC'",
        "bigquery": "DATETIME(TIMESTAMP(:x, :z), 'UTC')",
    },
    "utc_to_local": {  # the local time in zone :z of instant :x (as a UTC timestamp)
        "duckdb": "timezone(:z, timezone('UTC', :x))",
        "spark": "from_utc_timestamp(:x, :z)",
        "postgres": "(:x AT TIME ZONE 'UTC') AT TIME ZONE :z",
        "bigquery": "DATETIME(TIMESTAMP(:x, 'UTC'), :z)",
    },
    "shift_hours": {
        "duckdb": ":x + to_hours(CAST(:h AS BIGINT))",
        "spark": ":x + make_interval(0, 0, 0, 0, CAST(:h AS INT), 0, 0)",
        "postgres": ":x + CAST(:h AS INTEGER) * INTERVAL '1 hour'",
        "bigquery": "DATETIME_ADD(:x, INTERVAL CAST(:h AS INT64) HOUR)",
    },
    "timestamp_text": {  # as the pandas engine writes a key or group: no 00:00 on a date
        "duckdb": "CASE WHEN :x = CAST(CAST(:x AS DATE) AS TIMESTAMP) "
        "THEN strftime(:x, '%Y-%m-%d') ELSE strftime(:x, '%Y-%m-%d %H:%M:%S') END",
        "postgres": "CASE WHEN :x = CAST(CAST(:x AS DATE) AS TIMESTAMP) "
        "THEN TO_CHAR(:x, 'YYYY-MM-DD') ELSE TO_CHAR(:x, 'YYYY-MM-DD HH24:MI:SS') END",
        "spark": "CASE WHEN :x = CAST(CAST(:x AS DATE) AS TIMESTAMP) "
        "THEN date_format(:x, 'yyyy-MM-dd') ELSE date_format(:x, 'yyyy-MM-dd HH:mm:ss') END",
    },
    "timestamp_full_text": {  # as Python writes a timestamp: str(pd.Timestamp(...))
        "duckdb": "strftime(:x, '%Y-%m-%d %H:%M:%S')",
        "spark": "date_format(:x, 'yyyy-MM-dd HH:mm:ss')",
    },
    "number_text": {  # as Python writes a float: 12345678.0, not Java's 1.2345678E7
        "duckdb": "CAST(:x AS VARCHAR)",
        # PostgreSQL writes whole doubles without `.0`, others as Python (shortest round trip)
        "postgres": "CASE WHEN :x = FLOOR(:x) AND ABS(:x) < 1e15 "
        "THEN CAST(CAST(:x AS BIGINT) AS TEXT) || '.0' ELSE CAST(:x AS TEXT) END",
        "spark": "CASE WHEN :x = floor(:x) AND abs(:x) < 1e15 "
        "THEN concat(CAST(CAST(:x AS BIGINT) AS STRING), '.0') ELSE CAST(:x AS STRING) END",
    },
}


def _round_half_even(round_: str, trunc: str, power: str) -> str:
    """numpy's round where SQL has no round-half-to-even for doubles: scale by 10^d (or
    divide by 10^-d), round a tie (a fraction of exactly .5) to the even neighbour as
    2 × round(y / 2), anything else as round(y), and scale back."""

    def even(y: str) -> str:
        halved = round_.format(f"{y} / 2")
        return (
            f"(CASE WHEN ABS({y} - {trunc.format(y)}) = 0.5 THEN 2 * {halved} "
            f"ELSE {round_.format(y)} END)"
        )

    up, down = f"({power.format(':d')})", f"({power.format('-:d')})"
    return (
        f"CASE WHEN :d >= 0 THEN {even(f'(:x * {up})')} / {up} "
        f"ELSE {even(f'(:x / {down})')} * {down} END"
    )


for _dialect, _parts in {
    "postgres": ("ROUND({})", "TRUNC({})", "POWER(10.0, CAST({} AS DOUBLE PRECISION))"),
    "bigquery": ("ROUND({})", "TRUNC({})", "POW(10.0, CAST({} AS FLOAT64))"),
    "tsql": ("ROUND({}, 0)", "ROUND({}, 0, 1)", "POWER(CAST(10 AS FLOAT), CAST({} AS FLOAT))"),
}.items():
    _TEMPLATES["round"][_dialect] = _TEMPLATES["round_by_row"][_dialect] = _round_half_even(*_parts)


@cache
def _template(name: str, dialect: str) -> exp.Expression:
    text = _TEMPLATES[name].get(dialect)
    if text is None:
        works = tuple(d for d in DIALECTS if d in _TEMPLATES[name])
        raise UnsupportedInDialect(f"`{name}`", dialect, works)
    return sqlglot.parse_one(text, read=dialect)


def fill(name: str, dialect: str, **values: exp.Expression) -> exp.Expression:
    return exp.replace_placeholders(_template(name, dialect).copy(), **values)


@lru_cache(maxsize=4096)
def _parsed(text: str) -> exp.Expression:
    return sqlglot.parse_one(text)


def statement(text: str, **parts: exp.Expression) -> exp.Expression:
    """`text`, in sqlglot's generic SQL, with each `:name` replaced by `parts[name]`.

    A part that stands in several places is copied for each after the first, so that every
    node has one parent; a part belongs to the statement once given.
    """
    used: set[str] = set()

    def put(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name in parts:
            part = parts[node.name]
            if node.name in used:
                return part.copy()
            used.add(node.name)
            return part
        return node

    # the cached tree is copied (small), the parts mostly not (they can be large)
    return _parsed(text).copy().transform(put, copy=False)


# ------------------------------------------------------------------ types
def sql_type(t: Type | None, dialect: str = "duckdb") -> exp.DataType:
    if t is None:
        return exp.DataType.build("VARCHAR")
    kind = {
        "boolean": "BOOLEAN",
        "number": "DOUBLE",
        "text": "VARCHAR",
        "date": "TIMESTAMP",
        "datetime": "TIMESTAMP",
        "duration": "DOUBLE",
    }.get(t.kind, "VARCHAR")
    return exp.DataType.build(kind)


def null_of(t: Type | None, dialect: str) -> exp.Expression:
    return exp.cast(exp.null(), sql_type(t, dialect))


def _number(value: float, dialect: str | None = None) -> exp.Expression:
    literal = exp.Literal.number(repr(float(value)))
    number = exp.Neg(this=exp.Literal.number(repr(-float(value)))) if value < 0 else literal
    if dialect == "spark":
        # Spark reads 1.0 as DECIMAL(2,1), and keeps decimals in decimal arithmetic with few
        # places (1.0 / 3.0 is 0.333333, an average of 1.0s and 0.0s has five places).
        return exp.cast(number, "DOUBLE")
    return number


# ------------------------------------------------------------------ literals


def duration_amount(node: ir.Duration) -> float:
    """A duration as the engines hold it: seconds, months, or working days."""
    if node.unit == "working days":
        return float(node.amount)
    if node.unit in ("months", "years"):
        return float(node.amount) * (12 if node.unit == "years" else 1)
    return float(node.amount) * SECONDS_IN[node.unit]


def _timestamp(value: dt.date | dt.datetime, dialect: str) -> exp.Expression:
    text = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    target = "DATETIME" if dialect == "bigquery" else "TIMESTAMP"
    return exp.cast(exp.Literal.string(text), exp.DataType.build(target, dialect=dialect))


def _literal(node: ir.Node, scope: Scope) -> exp.Expression:
    if isinstance(node, ir.Number | ir.Money):
        return _number(float(node.value), scope.dialect)
    if isinstance(node, ir.Percent):
        return _number(node.fraction, scope.dialect)
    if isinstance(node, ir.Text):
        return exp.Literal.string(node.value)
    if isinstance(node, ir.Boolean):
        return exp.true() if node.value else exp.false()
    if isinstance(node, ir.Date | ir.DateTime):
        return _timestamp(node.value, scope.dialect)
    if isinstance(node, ir.Duration):
        return _number(duration_amount(node), scope.dialect)
    raise TypeError(f"no SQL literal for {type(node).__name__}")


# ------------------------------------------------------------------ names
def _reference(node: ir.Reference, scope: Scope) -> exp.Expression:
    assert node.column is not None and scope.dataset is not None
    if node.via_link is None:
        return column(node.column, scope.alias)
    parent, foreign_key = scope.links[scope.dataset][node.via_link]
    alias = f"l{scope.depth + 1}"
    key = scope.keys[parent]
    return exp.Subquery(
        this=exp.select(column(node.column, alias))
        .from_(scope.full_tables[parent].copy().as_(alias))
        .where(exp.EQ(this=column(key, alias), expression=column(foreign_key, scope.alias)))
    )


# ------------------------------------------------------------------ operators
_COMPARE: dict[str, type[exp.Expression]] = {
    "=": exp.EQ,
    "!=": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
}


def _paren(e: exp.Expression) -> exp.Expression:
    """`e` in parentheses where an operator around it could bind to a part of it."""
    if isinstance(e, exp.Binary | exp.Unary | exp.Connector | exp.Predicate):
        return exp.paren(e)
    return e


def _compare(node: ir.Compare, scope: Scope) -> exp.Expression:
    left, right = compile_sql(node.left, scope), compile_sql(node.right, scope)
    return _COMPARE[node.op](this=_paren(left), expression=_paren(right))


def _divide(left: exp.Expression, right: exp.Expression) -> exp.Expression:
    return exp.Div(
        this=_paren(left),
        expression=exp.Nullif(this=right, expression=exp.Literal.number(0)),
        typed=False,
        safe=False,
    )


def _arithmetic(node: ir.Arithmetic, scope: Scope) -> exp.Expression:
    lt, rt = node.left.type, node.right.type
    assert lt is not None and rt is not None
    left, right = compile_sql(node.left, scope), compile_sql(node.right, scope)
    if lt.is_temporal and rt.kind == "duration":
        amount = right if node.op == "+" else exp.Neg(this=_paren(right))
        return shift(left, amount, rt.duration_kind, scope)
    if lt.kind == "duration" and rt.is_temporal:
        return shift(right, left, lt.duration_kind, scope)
    if lt.is_temporal and rt.is_temporal:  # a time between two moments, in seconds
        if lt.kind == rt.kind == "datetime":  # elapsed time: between instants
            left, right = instant_of(node.left, left, scope), instant_of(node.right, right, scope)
        return exp.paren(fill("seconds_between", scope.dialect, a=right, b=left))
    if node.op == "/":
        return _divide(left, right)
    op = {"+": exp.Add, "-": exp.Sub, "*": exp.Mul}[node.op]
    return op(this=_paren(left), expression=_paren(right))


def shift(
    dates: exp.Expression, amount: exp.Expression, kind: str | None, scope: Scope
) -> exp.Expression:
    """Dates moved by a duration: seconds, calendar months, or working days."""
    if kind == "time":
        return fill("add_seconds", scope.dialect, x=dates, s=_paren(amount))
    if kind == "calendar":
        return fill("add_months", scope.dialect, x=dates, m=_paren(amount))
    # Working days: roll forward to a working day, then step along the working days, as
    # numpy's busday_offset(roll="forward"), keeping the time of day as the pandas engine does.
    on_the_day = exp.EQ(
        this=exp.column("day", "c"), expression=exp.cast(dates, exp.DataType.build("DATE"))
    )
    start = exp.Subquery(
        this=exp.select(exp.column("fwd", "c"))
        .from_(exp.to_table(CALENDAR).as_("c"))
        .where(on_the_day.copy())
    )
    steps = _whole(amount, scope.dialect)
    found = exp.Subquery(
        this=exp.select(exp.column("day", "w"))
        .from_(exp.to_table(WORKDAYS).as_("w"))
        .where(exp.EQ(this=exp.column("n", "w"), expression=exp.Add(this=start, expression=steps)))
    )
    if scope.dialect == "spark":  # Spark sees a row's columns one subquery deep only: a join
        found = exp.Subquery(
            this=exp.select(exp.column("day", "w"))
            .from_(exp.to_table(CALENDAR).as_("c"))
            .join(
                exp.to_table(WORKDAYS).as_("w"),
                on=exp.EQ(
                    this=exp.column("n", "w"),
                    expression=exp.Add(this=exp.column("fwd", "c"), expression=steps.copy()),
                ),
            )
            .where(on_the_day)
        )
    day = exp.cast(found, sql_type(Type("date"), scope.dialect))
    time_of_day = exp.Sub(
        this=_paren(fill("epoch", scope.dialect, x=dates.copy())),
        expression=_paren(
            fill("epoch", scope.dialect, x=fill("day", scope.dialect, x=dates.copy()))
        ),
    )
    return fill("add_seconds", scope.dialect, x=day, s=exp.paren(time_of_day))


def _negate(node: ir.Negate, scope: Scope) -> exp.Expression:
    return exp.Neg(this=_paren(compile_sql(node.operand, scope)))


def _and(node: ir.And, scope: Scope) -> exp.Expression:
    return exp.And(
        this=_paren(compile_sql(node.left, scope)),
        expression=_paren(compile_sql(node.right, scope)),
    )


def _or(node: ir.Or, scope: Scope) -> exp.Expression:
    return exp.paren(
        exp.Or(
            this=_paren(compile_sql(node.left, scope)),
            expression=_paren(compile_sql(node.right, scope)),
        )
    )


def _not(node: ir.Not, scope: Scope) -> exp.Expression:
    return exp.Not(this=_paren(compile_sql(node.operand, scope)))


def _is_missing(node: ir.IsMissing, scope: Scope) -> exp.Expression:
    test = exp.Is(this=_paren(compile_sql(node.operand, scope)), expression=exp.null())
    return exp.Not(this=test) if node.negated else test


def _in_list(node: ir.InList, scope: Scope) -> exp.Expression:
    value = compile_sql(node.operand, scope)
    items = [compile_sql(i, scope) for i in node.items.items]
    if not items:  # nothing is in an empty list; a missing value stays unknown
        found: exp.Expression = exp.Case(
            ifs=[exp.If(this=exp.Is(this=value, expression=exp.null()), true=exp.null())],
            default=exp.false(),
        )
        found = exp.cast(found, "BOOLEAN")
    else:
        found = exp.In(this=_paren(value), expressions=items)
    return exp.Not(this=exp.paren(found)) if node.negated else found


def _between(node: ir.Between, scope: Scope) -> exp.Expression:
    value = _paren(compile_sql(node.operand, scope))
    low, high = compile_sql(node.low, scope), compile_sql(node.high, scope)
    return exp.And(
        this=exp.GTE(this=value, expression=_paren(low)),
        expression=exp.LTE(this=value.copy(), expression=_paren(high)),
    )


def _if_then_else(node: ir.IfThenElse, scope: Scope) -> exp.Expression:
    # An unknown condition chooses neither branch (CASE alone would take the else branch):
    # the result is unknown, as on the pandas engine.
    condition = compile_sql(node.condition, scope)
    return exp.Case(
        ifs=[
            exp.If(this=condition, true=_typed(compile_sql(node.then, scope), node.type, scope)),
            exp.If(
                this=exp.Not(this=_paren(condition.copy())),
                true=_typed(compile_sql(node.otherwise, scope), node.type, scope),
            ),
        ],
        default=null_of(node.type, scope.dialect),
    )


def _typed(e: exp.Expression, t: Type | None, scope: Scope) -> exp.Expression:
    if isinstance(e, exp.Null):
        return null_of(t, scope.dialect)
    return e


# ------------------------------------------------------------------ functions
def _call(node: ir.Call, scope: Scope) -> exp.Expression:
    if node.over is not None:
        return _aggregate(node, scope)
    args = [compile_sql(a, scope) for a in node.args]
    builder = ROW_FUNCTIONS.get(node.name)
    if builder is None:
        raise UnsupportedInDialect(f"function `{node.name}`", scope.dialect)
    return builder(args, node, scope)


def calendar_number(column: str, day: exp.Expression) -> exp.Expression:
    """A day's number in the working-day calendar: `cum` (working days up to and including
    it) or `fwd` (the number of the first working day on or after it)."""
    return exp.Subquery(
        this=exp.select(exp.column(column, "c"))
        .from_(exp.to_table(CALENDAR).as_("c"))
        .where(
            exp.EQ(
                this=exp.column("day", "c"), expression=exp.cast(day, exp.DataType.build("DATE"))
            )
        )
    )


def _working_days_between(args, node, scope) -> exp.Expression:
    # busday_count(a + 1, b + 1): working days after a up to and including b.
    return exp.cast(
        exp.Sub(this=calendar_number("cum", args[1]), expression=calendar_number("cum", args[0])),
        "DOUBLE",
    )


def instant(local: exp.Expression, zone: str, dialect: str) -> exp.Expression:
    """A local wall-clock time in `zone` as its UTC instant, as the pandas engine's `instants`: a
    time that happens twice is the first (the engines differ in which they pick, so the one
    an hour earlier is taken when it is the same local time). A dialect that cannot name an
    IANA zone (T-SQL) keeps the wall-clock time: `specrules sql` says elapsed time there is
    wall-clock time."""
    if dialect not in _TEMPLATES["local_to_utc"]:  # T-SQL names zones its own way
        return local
    z = exp.Literal.string(zone)
    utc = fill("local_to_utc", dialect, x=local, z=z)
    earlier = fill("shift_hours", dialect, x=utc.copy(), h=exp.Literal.number(-1))
    same = fill("utc_to_local", dialect, x=earlier.copy(), z=z.copy())
    return statement("CASE WHEN :s = :x THEN :e ELSE :u END", s=same, x=local, e=earlier, u=utc)


def instant_of(node: ir.Node, compiled: exp.Expression, scope: Scope) -> exp.Expression:
    """A date-time expression's instant: a datetime field's hidden instant column where the
    table has one, else its local time placed in the dataset's zone."""
    fields = scope.instant_fields.get(scope.dataset or "", frozenset())
    if isinstance(node, ir.Reference) and node.via_link is None and node.column in fields:
        return column(instant_column(node.column), scope.alias)
    return instant(compiled, zone_of(scope.zones, scope.dataset), scope.dialect)


def _time_between(unit: str) -> Callable[[Any, Any, Scope], exp.Expression]:
    """hours_between, minutes_between, seconds_between: elapsed time, with fractions."""

    def run(args, node, scope) -> exp.Expression:
        a, b = (instant_of(n, x, scope) for n, x in zip(node.args, args, strict=True))
        seconds = fill("seconds_between", scope.dialect, a=a, b=b)
        per = _number(float(SECONDS_IN[unit]))
        return exp.Div(this=exp.paren(seconds), expression=per, typed=False, safe=False)

    return run


def _part(unit: str, value: exp.Expression) -> exp.Expression:
    return exp.Extract(this=exp.var(unit), expression=value)


def _age_at(args, node, scope) -> exp.Expression:
    born, on = args
    years = exp.Sub(this=_part("YEAR", on), expression=_part("YEAR", born))

    def month_day(d: exp.Expression) -> exp.Expression:
        return exp.Add(
            this=exp.Mul(this=_part("MONTH", d), expression=exp.Literal.number(100)),
            expression=_part("DAY", d),
        )

    before = exp.Case(
        ifs=[
            exp.If(
                this=exp.LT(this=month_day(on.copy()), expression=month_day(born.copy())),
                true=exp.Literal.number(1),
            )
        ],
        default=exp.Literal.number(0),
    )
    return exp.cast(exp.Sub(this=years, expression=before), "DOUBLE")


def _pct_change(args, node, scope) -> exp.Expression:
    before, after = args
    return _divide(exp.Sub(this=_paren(after), expression=_paren(before)), before.copy())


def _extreme(name: str) -> Callable[..., exp.Expression]:
    def build(args, node, scope) -> exp.Expression:
        if len(args) == 1:
            return args[0]
        if scope.dialect == "bigquery":  # its LEAST/GREATEST give NULL if any is NULL
            raise UnsupportedInDialect(
                f"`{name}` ignoring missing values",
                scope.dialect,
                ("duckdb", "postgres", "spark", "tsql"),
            )
        # Spelled as a plain call: sqlglot would otherwise rewrite it to return NULL when
        # any argument is NULL, but these dialects' own LEAST/GREATEST skip NULLs.
        return exp.Anonymous(this=name.upper(), expressions=args)

    return build


def _whole(amount: exp.Expression, dialect: str) -> exp.Expression:
    """`amount` truncated towards zero, as Python's int() does."""
    if dialect in ("tsql", "spark"):  # their casts truncate; Spark's trunc is for dates
        return exp.cast(amount, "BIGINT")
    return exp.cast(exp.Anonymous(this="trunc", expressions=[amount]), "BIGINT")


def _round(args, node, scope) -> exp.Expression:
    if len(args) == 1 or isinstance(node.args[1], ir.Number):
        digits = args[1] if len(args) > 1 else exp.Literal.number(0)
        return fill("round", scope.dialect, x=args[0], d=digits)
    # whole places, as pandas takes them (a missing number of places gives a missing result)
    return fill("round_by_row", scope.dialect, x=args[0], d=_whole(args[1], scope.dialect))


def _hour(args, node, scope) -> exp.Expression:
    return exp.cast(
        exp.Add(
            this=_part("HOUR", args[0]),
            expression=exp.Div(
                this=_part("MINUTE", args[0].copy()),
                expression=_number(60.0, scope.dialect),
                typed=False,
                safe=False,
            ),
        ),
        "DOUBLE",
    )


ROW_FUNCTIONS: dict[str, Callable[[list[exp.Expression], ir.Call, Scope], exp.Expression]] = {
    "days_between": lambda a, n, s: fill("days_between", s.dialect, a=a[0], b=a[1]),
    "working_days_between": _working_days_between,
    "hours_between": _time_between("hours"),
    "minutes_between": _time_between("minutes"),
    "seconds_between": _time_between("seconds"),
    "age_at": _age_at,
    "pct_change": _pct_change,
    "coalesce": lambda a, n, s: exp.Coalesce(this=a[0], expressions=a[1:]) if len(a) > 1 else a[0],
    "least": _extreme("least"),
    "greatest": _extreme("greatest"),
    "year": lambda a, n, s: exp.cast(_part("YEAR", a[0]), "DOUBLE"),
    "month": lambda a, n, s: exp.cast(_part("MONTH", a[0]), "DOUBLE"),
    "weekday": lambda a, n, s: fill("weekday", s.dialect, x=a[0]),
    "hour": _hour,
    "abs": lambda a, n, s: exp.Abs(this=a[0]),
    "round": _round,
    "lower": lambda a, n, s: exp.Lower(this=a[0]),
    "upper": lambda a, n, s: exp.Upper(this=a[0]),
    "contains": lambda a, n, s: exp.paren(fill("contains", s.dialect, a=a[0], b=a[1])),
}


# ------------------------------------------------------------------ aggregates
def _truth(value: exp.Expression, dialect: str) -> exp.Expression:
    """1.0 where a condition is true, 0.0 where it is false or unknown."""
    return exp.Case(
        ifs=[exp.If(this=value, true=_number(1.0, dialect))], default=_number(0.0, dialect)
    )


def _filtered(agg: exp.Expression, where: exp.Expression | None) -> exp.Expression:
    return agg if where is None else exp.Filter(this=agg, expression=exp.Where(this=where))


def percentile_expression(
    value: exp.Expression,
    percentile: float,
    method: str | None,
    dialect: str,
    where: exp.Expression | None = None,
) -> exp.Expression:
    """The centile of `value` over the rows where `where` holds, as dsl/percentiles.py defines
    it, to the last digit the pandas engine gives: both pick values from the sorted list and
    do the same floating-point steps. The engines' own functions are not used: DuckDB's
    quantile_cont interpolates in other steps (15.000000000000002 where numpy gives 15.0),
    Spark's percentile_approx is approximate, and percentile_disc / quantile_disc pick a wrong
    rank for some centiles."""
    if dialect not in ("duckdb", "spark", "postgres"):
        what = "a nearest-rank `percentile`" if method == "nearest_rank" else "`percentile`"
        raise UnsupportedInDialect(what, dialect, ("duckdb", "spark", "postgres"))
    fraction = centile_fraction(percentile)
    count = exp.cast(_filtered(exp.Count(this=value.copy()), where and where.copy()), "DOUBLE")

    def at(rank: exp.Expression) -> exp.Expression:
        return _sorted_value_at(value.copy(), where and where.copy(), dialect, rank)

    if method == "nearest_rank":  # rank ceil(n × p / 100), worked out in whole numbers
        rank = statement(
            "GREATEST(CAST(CEIL(:n * :count / :d) AS INT), 1)",
            n=exp.Literal.number(fraction.numerator),
            count=count,
            d=exp.Literal.number(fraction.denominator),
        )
        return at(rank)
    # linear: position h = (n - 1) × q from 0; a, b the values at floor(h) and the next;
    # numpy's lerp: a + (b - a) × t below t = 0.5, b - (b - a) × (1 - t) from it
    # each part in brackets: sqlglot prints a tree as it is, without adding them
    position = exp.paren(
        statement("(:count - 1) * :q", count=count, q=_number(float(fraction), dialect))
    )
    below = statement("CAST(FLOOR(:h) AS INT)", h=position)
    t = exp.paren(statement(":h - :lo", h=position.copy(), lo=below.copy()))
    a = exp.paren(at(statement(":lo + 1", lo=below.copy())))
    b = exp.paren(
        at(statement("LEAST(:lo + 2, CAST(:count AS INT))", lo=below.copy(), count=count.copy()))
    )
    return statement(
        "CASE WHEN :n = 0 THEN NULL "
        "WHEN :t >= 0.5 THEN :b - (:b - :a) * (1 - :t) ELSE :a + (:b - :a) * :t END",
        n=count.copy(),
        t=t,
        a=a,
        b=b,
    )


def _sorted_value_at(
    value: exp.Expression, where: exp.Expression | None, dialect: str, rank: exp.Expression
) -> exp.Expression:
    """The value at `rank` (from 1) of the sorted values not missing; NULL when there are none."""
    if dialect == "duckdb":
        values = _filtered(exp.Anonymous(this="list", expressions=[value]), where)
        ordered = exp.Anonymous(this="list_sort", expressions=[values])
        return exp.Anonymous(this="list_extract", expressions=[ordered, rank])
    if dialect == "postgres":  # (array_agg(x ORDER BY x) FILTER (WHERE …))[k], from 1
        present = exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))
        order = exp.Order(this=value, expressions=[exp.Ordered(this=value.copy())])
        values = _filtered(exp.ArrayAgg(this=order), exp.and_(where, present) if where else present)
        # offset=1: the rank already counts from 1, so sqlglot must not add 1 for Postgres
        return exp.Bracket(this=exp.paren(values), expressions=[rank], offset=1)
    values = _filtered(exp.Anonymous(this="collect_list", expressions=[value]), where)
    ordered = exp.Anonymous(this="array_sort", expressions=[values])
    # try_element_at: NULL, not an error, for a rank past the end (no values at all)
    return exp.Anonymous(this="try_element_at", expressions=[ordered, rank])


def aggregate_expression(
    name: str,
    distinct: bool,
    value: exp.Expression | None,
    dialect: str,
    centile: float = 0,
) -> exp.Expression:
    if name == "count":
        if value is None:
            return exp.Count(this=exp.Star())
        return exp.Count(this=exp.Distinct(expressions=[value]) if distinct else value)
    assert value is not None
    if name == "share":
        return exp.Avg(this=_truth(value, dialect))
    if name == "percentile":
        return percentile_expression(value, centile, DEFAULT_METHOD, dialect)
    if name == "median":
        if dialect in ("duckdb", "spark"):
            return exp.Median(this=value)
        if dialect == "postgres":
            return exp.WithinGroup(
                this=exp.PercentileCont(this=_number(0.5)),
                expression=exp.Order(expressions=[exp.Ordered(this=value)]),
            )
        raise UnsupportedInDialect("`median`", dialect, ("duckdb", "spark", "postgres"))
    cls = {"sum": exp.Sum, "mean": exp.Avg, "min": exp.Min, "max": exp.Max}[name]
    return cls(this=value)


def _aggregate(node: ir.Call, scope: Scope) -> exp.Expression:
    assert node.over is not None
    inner = scope.inner(node.over)
    correlated = node.correlated_link is not None and scope.dataset is not None
    relation = (
        scope.full_tables[node.over]
        if correlated or (scope.dataset == node.over and node.over in scope.full_tables)
        else scope.tables[node.over]
    )
    value = compile_sql(node.args[0], inner) if node.args else None
    # percentile(x, 90): the checker made sure the centile is a number written out
    centile = node.args[1].value if node.name == "percentile" else 0
    agg = aggregate_expression(node.name, node.distinct, value, scope.dialect, centile)
    query = exp.select(agg).from_(relation.copy().as_(inner.alias))
    if node.where is not None:
        query = query.where(compile_sql(node.where, inner))
    if correlated:
        assert node.correlated_link is not None
        parent, foreign_key = scope.links[node.over][node.correlated_link]
        query = query.where(
            exp.EQ(
                this=column(foreign_key, inner.alias),
                expression=column(scope.keys[parent], scope.alias),
            )
        )
    result: exp.Expression = exp.Subquery(this=query)
    if node.name == "count":
        result = exp.Coalesce(this=result, expressions=[_number(0.0)])
        return exp.cast(result, "DOUBLE")
    if node.type is not None and node.type.kind == "number":
        return exp.cast(result, "DOUBLE")
    return result


_HANDLERS: dict[type, Callable[[Any, Scope], exp.Expression]] = {
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


def compile_sql(node: ir.Node, scope: Scope) -> exp.Expression:
    """A checked expression as a SQL expression evaluated for one row of `scope.dataset`."""
    handler = _HANDLERS.get(type(node))
    if handler is None:
        return _literal(node, scope)
    return handler(node, scope)


def compile_column(node: ir.Node, scope: Scope) -> exp.Expression:
    """Like `compile_sql`, typed by the node (for a SELECT list): a bare NULL gets a type,
    and a number is DOUBLE even when it is a literal (which SQL reads as DECIMAL)."""
    compiled = _typed(compile_sql(node, scope), node.type, scope)
    if (
        node.type is not None
        and node.type.kind in ("number", "duration")
        and not isinstance(compiled, exp.Cast)
    ):
        return exp.cast(compiled, sql_type(node.type, scope.dialect))
    return compiled


def calendar_columns() -> tuple[dict[str, Any], dict[str, Any]]:
    """The two calendar tables as numpy columns: {day, cum, fwd} and {n, day}."""
    import numpy as np

    from specrules.engine.common.calendar import working_day_calendar

    days = np.arange(
        np.datetime64(CALENDAR_FIRST), np.datetime64(CALENDAR_LAST) + 1, dtype="datetime64[D]"
    )
    working = np.is_busday(days, busdaycal=working_day_calendar())
    cum = np.cumsum(working)
    fwd = np.where(working, cum, cum + 1)
    return {"day": days, "cum": cum, "fwd": fwd}, {"n": cum[working], "day": days[working]}


def calendar_rows() -> tuple[list[tuple[dt.date, int, int]], list[tuple[int, dt.date]]]:
    """(day, cum, fwd) for every day 1900-2100, and (n, day) for every working day."""
    calendar, workdays = calendar_columns()
    rows = list(zip(*(calendar[c].tolist() for c in ("day", "cum", "fwd")), strict=True))
    work = list(zip(workdays["n"].tolist(), workdays["day"].tolist(), strict=True))
    return rows, work


__all__ = [
    "CALENDAR",
    "DIALECTS",
    "Scope",
    "UnsupportedInDialect",
    "calendar_columns",
    "calendar_rows",
    "compile_column",
    "compile_sql",
    "sql_text",
    "table",
]


def install_calendar(con: Any) -> None:
    """Create the working-day calendar tables in a DuckDB connection (from numpy arrays)."""
    import pandas as pd

    calendar, workdays = calendar_columns()
    cal, work = pd.DataFrame(calendar), pd.DataFrame(workdays)
    con.register("__specrules_cal", cal)
    con.register("__specrules_work", work)
    con.execute(
        f"CREATE OR REPLACE TABLE {CALENDAR} AS "
        "SELECT CAST(day AS DATE) AS day, cum, fwd FROM __specrules_cal"
    )
    con.execute(
        f"CREATE OR REPLACE TABLE {WORKDAYS} AS "
        "SELECT n, CAST(day AS DATE) AS day FROM __specrules_work"
    )
    con.unregister("__specrules_cal")
    con.unregister("__specrules_work")
