"""Rules → the verdict table in SQL: one query that a data team runs in its own warehouse.

`verdict_sql(plan, dialect)` gives the rows and columns of `Evaluation.to_frame()` (one row
per rule × contract period × breakdown group, with the figure, the target for the period,
the status and the RAG), built on the row classification of engine/sql/rule_rows.py:

1. a CTE per dataset adds its derived fields, and `specrules_span` finds the first and last
   dates in the data, which decide the contract years the data covers (as the engines do);
2. per rule, `<rule>__rows` classifies each row (`rule_columns`; for a snapshot, each row
   at each period end, whose dates `<rule>__cover` finds), `<rule>__periods` lists the
   rule's periods with the rule's target in each, worked out from the spec when the SQL is
   written (pro rata, trajectories, baseline reductions and dated thresholds are functions
   of the period alone, by `verdicts.judge`), and `<rule>__group_targets` those of groups;
3. `specrules_figures` counts every rule's rows per period and breakdown group beside the
   target that applies, `specrules_verdicts` judges each figure against its target as
   `verdicts.judge` does (the same tolerances, RAG bands and wording), and the final
   SELECT lists them in order.

The evaluation's as-of date is not exported: the SQL judges complete periods.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from functools import lru_cache

from sqlglot import exp

from specrules.dsl import ir
from specrules.dsl.types import TIME_UNITS
from specrules.engine.common.judging import MISSING_GROUP, continuous_measure, due_if_breached
from specrules.engine.common.scope import (
    cumulative,
    dated_by_dataset,
    rule_periods,
    snapshot_gap,
)
from specrules.engine.sql.expressions import (
    CALENDAR,
    WORKDAYS,
    UnsupportedInDialect,
    aggregate_expression,
    compile_sql,
    percentile_expression,
    sql_name,
    sql_text,
    statement,
)
from specrules.engine.sql.rule_rows import (
    UnknownDialect,
    _comment,
    _indent,
    at_period_ends,
    dataset_layout,
    observation_in_time,
    rows_in_period,
    rule_columns,
)
from specrules.periods import Period, contract_end, periods_within
from specrules.spec.compiler import CompiledRule, Plan
from specrules.verdicts import judge

DIALECTS = ("duckdb", "spark", "postgres", "bigquery", "tsql")
SPAN = "specrules_span"
ROWS = "specrules_literal_rows"  # stands for a list of literal rows while rendering
FIGURES = "specrules_figures"
VERDICTS = "specrules_verdicts"
# Threshold kinds as the judging query reads them; a baseline reduction is judged as `at most`
# its target for the period, with verdicts.judge's tolerance for it.
MET = {
    "at least": "f.value >= f.target - f.tolerance",
    "at most": "f.value <= f.target + f.tolerance",
    "more than": "f.value > f.target + f.tolerance",
    "less than": "f.value < f.target - f.tolerance",
    "exactly": "ABS(f.value - f.target) <= f.tolerance",
    "between": "f.value >= f.target - f.tolerance AND f.value <= f.upper + f.tolerance",
}


@dataclasses.dataclass(frozen=True)
class Target:
    """What a figure is judged against in one period (as verdicts.judge works it out)."""

    comparison: str
    target: float
    upper: float | None
    tolerance: float
    amber_band: float | None
    judged_against: str


def _unit(rule: CompiledRule) -> str:
    """The verdict's unit, as the engines set it."""
    scoring = getattr(rule.model, "scoring", "proportion")
    if scoring == "ratio":
        return "ratio"
    if scoring == "count":
        return "count"
    if scoring == "continuous":
        return rule.duration_unit if observation_in_time(rule) else "number"
    return "share"


def target_for(rule: CompiledRule, threshold, period: Period, plan: Plan) -> Target | None:
    """The target of `threshold` over `period`, from `verdicts.judge` (None: monitoring)."""
    if threshold is None or getattr(rule.model, "monitoring_only", False):
        return None
    unit = _unit(rule)
    unit = unit if unit in TIME_UNITS else None
    start, amber = plan.spec.contract.start, rule.model.amber

    def judged(t):
        return judge(0.0, t, period, start, unit, amber)

    found = judged(threshold)
    assert found.target is not None
    if isinstance(threshold, ir.Reduction):
        comparison, upper, tolerance = "at most", None, 1e-12
    else:
        comparison, upper = threshold.kind, None
        if threshold.upper is not None:  # the upper bound, scaled as the lower one is
            upper = judged(
                dataclasses.replace(threshold, kind="at least", amount=threshold.upper, upper=None)
            )
            upper = upper.target
        tolerance = 1e-9 * max(1.0, abs(found.target))  # as verdicts._compare
    band = None
    if amber is not None and found.target:
        band = float(amber.rstrip("%")) / 100 * abs(found.target)
    return Target(comparison, found.target, upper, tolerance, band, found.judged_against)


# ------------------------------------------------------------------ SQL pieces
Row = list[tuple[str, str, object]]  # a row of literals: (column, text|double|date, value)


def _target_values(target: Target | None, threshold_text: str | None, note: str | None) -> Row:
    """The target columns; `note` says why a period has no target (a dated threshold)."""
    t = target
    return [
        ("threshold", "text", threshold_text),
        ("comparison", "text", t and t.comparison),
        ("target", "double", t and t.target),
        ("upper", "double", t and t.upper),
        ("tolerance", "double", t and t.tolerance),
        ("amber_band", "double", t and t.amber_band),
        ("judged_against", "text", t and t.judged_against),
        ("note", "text", note),
    ]


@lru_cache(maxsize=8192)
def _literal(kind: str, value, dialect: str) -> str:
    """A literal as `dialect` writes it (many repeat: a period's dates, a threshold)."""
    return _literal_expression(kind, value).sql(dialect)


@lru_cache(maxsize=256)
def _alias(name: str, dialect: str) -> str:
    return exp.to_identifier(name).sql(dialect)


def _literal_expression(kind: str, value) -> exp.Expression:
    if value is None:
        types = {"text": "VARCHAR", "double": "DOUBLE", "timestamp": "TIMESTAMP"}
        return exp.cast(exp.null(), types.get(kind, "DATE"))
    if kind == "text":
        return exp.Literal.string(value)
    if kind == "double":
        return exp.cast(exp.Literal.number(repr(float(value))), "DOUBLE")
    if kind == "timestamp":  # a day is its midnight
        moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        return exp.cast(exp.Literal.string(moment.isoformat(sep=" ")), "TIMESTAMP")
    return exp.cast(exp.Literal.string(value.isoformat()), "DATE")


def _group_name(rule: CompiledRule, label: str) -> str:
    """A group as `to_frame` names it (`field=value, …`) from the engines' label."""
    parts = str(label).split("\x1f")
    return ", ".join(f"{b}={v}" for b, v in zip(rule.model.breakdowns, parts, strict=True))


def _group_expression(plan: Plan, rule: CompiledRule, dialect: str) -> exp.Expression:
    """A row's group as `to_frame` names it: `field=value, …`, (missing) for no value."""
    dataset = rule.model.dataset
    parts, pieces = {}, []
    for i, name in enumerate(rule.model.breakdowns):
        kind = plan.catalog.datasets[dataset].fields[name].kind
        column = exp.column(name, "t", quoted=True)
        if kind == "boolean":
            text = statement("CASE WHEN :c THEN 'true' WHEN NOT :c THEN 'false' END", c=column)
        elif kind == "text":
            text = statement("CAST(:c AS VARCHAR)", c=column)
        else:
            from specrules.engine.sql.checks import value_text

            try:
                text = value_text(plan, dataset, name, dialect, "t")
            except UnsupportedInDialect as exc:  # name what the spec wrote
                raise UnsupportedInDialect(
                    f"a breakdown by the {kind} field `{name}`", dialect, exc.works_in
                ) from None
        parts[f"p{i}"] = text
        prefix = ("" if i == 0 else ", ") + f"{name}="
        pieces.append(f"{sql_text(prefix)} || COALESCE(:p{i}, {sql_text(MISSING_GROUP)})")
    return statement(" || ".join(pieces), **parts)


def candidate_periods(rule: CompiledRule, plan: Plan) -> list[tuple[Period, dt.date, dt.date]]:
    """Every period the rule could be judged over, with the first and last days of the
    contract years it lies in: the SQL keeps those whose years the data covers."""
    contract = plan.spec.contract
    whole = Period(contract.start, contract_end(contract), "span", "all")
    found: dict[Period, tuple[dt.date, dt.date]] = {}
    for year in periods_within(whole, "year", contract):
        for period in rule_periods(rule, [year], plan):
            first, last = found.get(period, (year.start, year.end))
            found[period] = (min(first, year.start), max(last, year.end))
    return [(p, first, last) for p, (first, last) in found.items()]


def _counting_days(rule: CompiledRule, period: Period, plan: Plan) -> tuple[dt.date, dt.date]:
    """The days whose rows count in `period` (from the contract's start if cumulative)."""
    return (plan.spec.contract.start if cumulative(rule) else period.start), period.end


def periods_cte(rule: CompiledRule, plan: Plan, dialect: str) -> str:
    """The rule's periods the data covers, with the rule's own target in each (in `dialect`:
    one line per period)."""
    selects = []
    for period, year_first, year_last in candidate_periods(rule, plan):
        first, last = _counting_days(rule, period, plan)
        in_force = rule.threshold_at(period.end)  # a dated threshold's value in force
        target = target_for(rule, in_force.threshold, period, plan)
        selects.append(
            [
                ("period", "text", period.label),
                ("period_start", "date", period.start),
                ("period_end", "date", period.end),
                ("first_day", "date", first),
                ("last_day", "date", last),
                ("year_first", "date", year_first),
                ("year_last", "date", year_last),
                *_target_values(target, in_force.text, in_force.missing),
                ("due_if_breached", "timestamp", due_if_breached(plan, rule, period)),
            ]
        )
    keep = "TRUE"
    if rule.period != "contract":  # the whole term is judged whatever the data covers
        keep = "s.first_day IS NULL OR (c.year_last >= s.first_day AND c.year_first <= s.last_day)"
    no_data, cover = "CAST(NULL AS VARCHAR)", ""
    if rule.model.snapshot:  # the period ends the rule's dates reach; the others have no data
        cover = f" CROSS JOIN {sql_name(rule.id + '__cover')} AS v"
        no_data = (
            f"CASE WHEN v.first_day IS NULL THEN {sql_text(snapshot_gap(None))} "
            "WHEN c.period_start > v.last_day OR c.period_end < v.first_day THEN "
            "'the data''s dates (' || CAST(v.first_day AS VARCHAR) || ' to ' || "
            "CAST(v.last_day AS VARCHAR) || ') do not reach this period' END"
        )
    wrapper = _render(
        f"SELECT c.*, {no_data} AS no_data FROM {ROWS} AS c CROSS JOIN {SPAN} AS s{cover} "
        f"WHERE {keep}",
        dialect,
    )
    return wrapper.replace(ROWS, f"(\n  {_lines(selects, dialect)}\n)")


def _lines(rows: list[Row], dialect: str) -> str:
    """SELECTs of literals, one a line, joined by UNION ALL."""
    selects = (
        "SELECT "
        + ", ".join(
            f"{_literal(kind, value, dialect)} AS {_alias(name, dialect)}"
            for name, kind, value in row
        )
        for row in rows
    )
    return "\n  UNION ALL\n  ".join(selects)


def group_targets_cte(rule: CompiledRule, plan: Plan, dialect: str) -> str | None:
    """Targets of groups: each named group's own, and (`per_group`) the rule's for others
    (group NULL). None when groups are figures only."""
    per_group = getattr(rule.model, "per_group", False)
    if not rule.group_thresholds and not per_group:
        return None
    selects = []
    for period, _, _ in candidate_periods(rule, plan):
        named = [
            (_group_name(rule, label), threshold, str(rule.model.group_thresholds[label]))
            for label, threshold in rule.group_thresholds.items()
        ]
        note = None
        if per_group:
            in_force = rule.threshold_at(period.end)
            named.append((None, in_force.threshold, in_force.text))
            note = in_force.missing
        for group, threshold, text in named:
            target = target_for(rule, threshold, period, plan)
            selects.append(
                [
                    ("period", "text", period.label),
                    ("group_name", "text", group),
                    *_target_values(target, text, note if group is None else None),
                ]
            )
    return _lines(selects, dialect)


TARGET_COLUMNS = (
    "threshold",
    "comparison",
    "target",
    "upper",
    "tolerance",
    "amber_band",
    "judged_against",
    "note",
)


def _in_period(rule: CompiledRule) -> str:
    if rule.model.snapshot:  # each row once per period end
        return "r.__snapshot = p.period"
    if rule.date is None:
        return "TRUE"
    within = "CAST(r.rule_date AS DATE) BETWEEN p.first_day AND p.last_day"
    if rule.period == "contract":  # over the whole term, undated rows count too
        return f"(r.rule_date IS NULL OR {within})"
    return within


def _counts(rule: CompiledRule) -> str:
    """The aggregates of one period (and group): rows in the denominator and numerator, and
    the measure of a continuous KPI (`:measure`) or a count of distinct values."""
    model = rule.model
    scoring = getattr(model, "scoring", "proportion")
    parts = ["SUM(CASE WHEN r.in_denominator THEN 1 ELSE 0 END) AS in_denominator"]
    if scoring == "proportion":
        parts.append("SUM(CASE WHEN r.in_numerator THEN 1 ELSE 0 END) AS in_numerator")
    else:
        parts.append("CAST(NULL AS BIGINT) AS in_numerator")
    if scoring == "continuous":
        parts.append("CAST(:measure AS DOUBLE) AS measure")
    elif scoring == "count" and model.distinct:
        parts.append(
            "CAST(COUNT(DISTINCT CASE WHEN r.in_denominator THEN r.distinct_value END) "
            "AS DOUBLE) AS measure"
        )
    else:
        parts.append("CAST(NULL AS DOUBLE) AS measure")
    for column, names in _named(rule):
        parts += [
            f"SUM(CASE WHEN r.{column} = {sql_text(n)} THEN 1 ELSE 0 END) AS {column}_{i}"
            for i, n in enumerate(names)
        ]
    return ", ".join(parts)


def _named(rule: CompiledRule) -> list[tuple[str, list[str]]]:
    """The row columns naming a row's exclusion or exception, with the names in order."""
    return [
        (column, [name for name, _ in rule.named[key]])
        for key, column in (
            ("denominator_exclusions", "exclusion_reason"),
            ("denominator_exceptions", "exception_reason"),
        )
        if key in rule.named
    ]


def _named_counts(rule: CompiledRule) -> str:
    """`exclusions` and `exceptions`: every name with its count (`died 1, moved_away 2`)."""
    found = {}
    for column, names in _named(rule):
        pieces = [
            f"{sql_text((', ' if i else '') + n + ' ')} || "
            f"CAST(COALESCE(f.{column}_{i}, 0) AS VARCHAR)"
            for i, n in enumerate(names)
        ]
        found[column] = " || ".join(pieces)
    none = "CAST(NULL AS VARCHAR)"
    return (
        f"{found.get('exclusion_reason', none)} AS exclusions, "
        f"{found.get('exception_reason', none)} AS exceptions"
    )


def _figure_columns(rule: CompiledRule) -> str:
    """numerator, denominator, value and breach_count from a period's counts `f`, as the
    engines give them."""
    scoring = getattr(rule.model, "scoring", "proportion")
    denominator = "CAST(COALESCE(f.in_denominator, 0) AS DOUBLE)"
    if scoring == "proportion":
        numerator = "CAST(COALESCE(f.in_numerator, 0) AS DOUBLE)"
        failing = (
            "COALESCE(f.in_numerator, 0)"
            if rule.lower_is_better  # the numerator's rows count against the provider
            else "COALESCE(f.in_denominator, 0) - COALESCE(f.in_numerator, 0)"
        )
        return (
            f"{numerator} AS numerator, {denominator} AS denominator, "
            f"{numerator} / NULLIF({denominator}, 0) AS value, "
            f"CAST({failing} AS BIGINT) AS breach_count"
        )
    none = "CAST(NULL AS DOUBLE)"
    if scoring == "continuous":
        return (
            f"{none} AS numerator, {denominator} AS denominator, f.measure AS value, "
            "CAST(0 AS BIGINT) AS breach_count"
        )
    value = "COALESCE(f.measure, 0)" if rule.model.distinct else denominator
    return (
        f"{none} AS numerator, {none} AS denominator, CAST({value} AS DOUBLE) AS value, "
        "CAST(0 AS BIGINT) AS breach_count"
    )


def _head(index: int, rule: CompiledRule) -> str:
    """The columns every rule's figures start with (`empty_unit`: a period without data)."""
    empty = "share" if getattr(rule.model, "scoring", "proportion") == "proportion" else "count"
    return (
        f"{index} AS rule_order, {sql_text(rule.id)} AS rule_id, {sql_text(rule.kind)} AS kind, "
        f"{sql_text(rule.model.title)} AS title, {sql_text(_unit(rule))} AS unit, "
        f"{sql_text(empty)} AS empty_unit, {_text_or_null(continuous_measure(rule.model))} "
        "AS measure_name"
    )


def _text_or_null(text: str | None) -> str:
    return "CAST(NULL AS VARCHAR)" if text is None else sql_text(text)


def figures_cte(index: int, rule: CompiledRule, name: str, groups: str | None) -> str:
    """One row per period (group NULL) and per period and group, with figures and targets."""
    periods = sql_name(f"{name}__periods")
    rows = sql_name(f"{name}__rows")  # not the rule id alone: a dataset may share it
    counted = f"FROM {rows} AS r JOIN {periods} AS p ON {_in_period(rule)}"
    head = _head(index, rule)
    targets = ", ".join(f"p.{c}" for c in TARGET_COLUMNS)
    whole = (
        f"SELECT {head}, p.period, p.period_start, p.period_end, "
        f"CAST(NULL AS VARCHAR) AS group_name, {_figure_columns(rule)}, {_named_counts(rule)}, "
        f"{targets}, p.no_data, p.due_if_breached\nFROM {periods} AS p LEFT JOIN (\n"
        f"  SELECT p.period, {_counts(rule)}\n  {counted}\n  GROUP BY p.period\n"
        ") AS f ON f.period = p.period"
    )
    if not rule.model.breakdowns:
        return whole
    # a group's target: its own, else the rule's for every group (`per_group`), else none
    if groups is not None:
        targets_table = sql_name(f"{name}__group_targets")
        chosen = ", ".join(
            f"CASE WHEN t.period IS NOT NULL THEN t.{c} WHEN o.period IS NOT NULL THEN o.{c} "
            f"ELSE p.{c} END AS {c}"
            if c == "threshold"
            else f"CASE WHEN t.period IS NOT NULL THEN t.{c} ELSE o.{c} END AS {c}"
            for c in TARGET_COLUMNS
        )
        joins = (
            f"LEFT JOIN {targets_table} AS t ON t.period = g.period AND t.group_name = "
            f"g.group_name\nLEFT JOIN {targets_table} AS o ON o.period = g.period AND "
            "o.group_name IS NULL"
        )
        named = (
            f"\n  UNION\n  SELECT t.period, t.group_name FROM {targets_table} AS t "
            f"JOIN {periods} AS p ON p.period = t.period WHERE t.group_name IS NOT NULL"
        )
    else:
        chosen = ", ".join(
            "p.threshold AS threshold" if c == "threshold" else f"NULL AS {c}"
            for c in TARGET_COLUMNS
        )
        joins, named = "", ""
    grouped = (
        f"SELECT {head}, p.period, p.period_start, p.period_end, g.group_name, "
        f"{_figure_columns(rule)}, {_named_counts(rule)}, {chosen}, p.no_data, "
        "p.due_if_breached\n"
        # the groups shown: those with rows in the period, and those with a target of their own
        f"FROM (\n  SELECT DISTINCT p.period, r.group_name {counted}{named}\n) AS g\n"
        f"JOIN {periods} AS p ON p.period = g.period\n"
        f"LEFT JOIN (\n  SELECT p.period, r.group_name, {_counts(rule)}\n"
        f"  {counted}\n  GROUP BY p.period, r.group_name\n"
        ") AS f ON f.period = g.period AND f.group_name = g.group_name\n"
        f"{joins}\nWHERE p.no_data IS NULL"
    )
    return f"{whole}\nUNION ALL\n{grouped}"


def ratio_figures_cte(
    index: int, rule: CompiledRule, name: str, layout, plan: Plan, parts: dict
) -> str:
    """A ratio of two aggregates, each over its dataset's rows dated in the period (the
    aggregates go into `parts`)."""
    selects = []
    for i, (period, _, _) in enumerate(candidate_periods(rule, plan)):
        top = layout.scope_of(tables=rows_in_period(rule, period, layout, plan, None))
        parts[f"n{i}"] = compile_sql(rule.expressions["numerator"], top)
        parts[f"d{i}"] = compile_sql(rule.expressions["denominator"], top)
        selects.append(
            f"SELECT {sql_text(period.label)} AS period, CAST(:n{i} AS DOUBLE) AS numerator, "
            f"CAST(:d{i} AS DOUBLE) AS denominator"
        )
    periods = sql_name(f"{name}__periods")
    targets = ", ".join(f"p.{c}" for c in TARGET_COLUMNS)
    union = "\n  UNION ALL\n  ".join(selects)
    return (
        f"SELECT {_head(index, rule)}, p.period, p.period_start, p.period_end, "
        "CAST(NULL AS VARCHAR) AS group_name, f.numerator, f.denominator, "
        "f.numerator / NULLIF(f.denominator, 0) AS value, CAST(0 AS BIGINT) AS breach_count, "
        f"CAST(NULL AS VARCHAR) AS exclusions, CAST(NULL AS VARCHAR) AS exceptions, {targets}, "
        f"p.no_data, p.due_if_breached\nFROM {periods} AS p JOIN (\n  {union}\n) AS f "
        "ON f.period = p.period"
    )


def span_cte(plan: Plan, layout, parts: dict) -> str:
    """The first and last dates in the data (of the datasets placed in periods by their own
    date), which decide the contract years the data covers (expressions go into `parts`)."""
    selects = []
    for i, name in enumerate(dated_by_dataset(plan)):
        parts[f"day{i}"] = compile_sql(plan.datasets[name].date, layout.scope_of(name, "t"))
        parts[f"table{i}"] = layout.relations[name].copy()
        selects.append(f"SELECT CAST(:day{i} AS DATE) AS day FROM :table{i} AS t")
    if not selects:
        return "SELECT CAST(NULL AS DATE) AS first_day, CAST(NULL AS DATE) AS last_day"
    union = "\n  UNION ALL\n  ".join(selects)
    return f"SELECT MIN(d.day) AS first_day, MAX(d.day) AS last_day FROM (\n  {union}\n) AS d"


def judging_sql(kinds: set[str]) -> str:
    """The status, target, gap, RAG and reason of every figure, as verdicts.judge and
    Evaluator.decide give them."""
    met = "\n      OR ".join(f"(f.comparison = {sql_text(k)} AND {MET[k]})" for k in sorted(kinds))
    met = met or "FALSE"
    gap = "f.value - f.target"
    if "between" in kinds:
        gap = (
            "CASE WHEN f.comparison = 'between' AND f.value > f.upper THEN f.value - f.upper "
            "WHEN f.comparison = 'between' AND f.value >= f.target THEN 0.0 "
            "ELSE f.value - f.target END"
        )
    return f"""SELECT j.*,
  CASE WHEN j.met = 1 THEN 'green'
    WHEN j.met = 0 AND ABS(j.gap) <= j.amber_band + 1e-12 THEN 'amber'
    WHEN j.met = 0 THEN 'red' END AS rag
FROM (
  SELECT f.*,
    CASE WHEN f.comparison IS NULL OR f.value IS NULL OR f.no_data IS NOT NULL THEN NULL
      WHEN {met}
      THEN 1 ELSE 0 END AS met,
    CASE WHEN f.comparison IS NOT NULL AND f.value IS NOT NULL AND f.no_data IS NULL
      THEN {gap} END AS gap
  FROM {FIGURES} AS f
) AS j"""


# no_data: a snapshot's period its data does not reach (no figures, as Evaluator.empty);
# note: why a period has no threshold (a dated threshold with none in force)
FINAL = f"""SELECT v.rule_id, v.kind, v.title, v.period, v.period_start, v.period_end,
  v.group_name AS "group",
  CASE WHEN v.no_data IS NOT NULL THEN 'no data'
    WHEN v.comparison IS NULL THEN 'monitoring' WHEN v.value IS NULL THEN 'no data'
    WHEN v.met = 1 THEN 'met' ELSE 'not met' END AS status,
  v.rag,
  CASE WHEN v.no_data IS NULL THEN v.value END AS value,
  CASE WHEN v.no_data IS NULL THEN v.unit ELSE v.empty_unit END AS unit,
  v.measure_name AS measure,
  CASE WHEN v.no_data IS NULL THEN v.numerator END AS numerator,
  CASE WHEN v.no_data IS NULL THEN v.denominator END AS denominator,
  CASE WHEN v.met IS NOT NULL THEN v.target END AS target, v.gap, v.threshold,
  CASE WHEN v.no_data IS NULL THEN v.breach_count ELSE 0 END AS breach_count,
  CASE WHEN v.met = 0 THEN v.due_if_breached END AS due,
  CASE WHEN v.met IS NOT NULL THEN v.judged_against END AS judged_against,
  CASE WHEN v.no_data IS NOT NULL THEN v.no_data
    WHEN v.value IS NOT NULL THEN v.note
    WHEN v.comparison IS NULL THEN 'nothing to measure in this period'
    ELSE 'nothing to measure in this period (zero denominator or no rows)' END AS reason,
  CASE WHEN v.no_data IS NULL THEN v.exclusions END AS exclusions,
  CASE WHEN v.no_data IS NULL THEN v.exceptions END AS exceptions
FROM {VERDICTS} AS v
ORDER BY v.rule_order, v.period_start, v.period_end,
  CASE WHEN v.group_name IS NULL THEN 0 ELSE 1 END, v.group_name"""


def _render(text: str, dialect: str, **parts: exp.Expression) -> str:
    """Generic SQL, its `:name`s filled in from `parts`, as `dialect` writes it."""
    return statement(text, **parts).sql(dialect, pretty=True)


def _rule_parts(index: int, rule: CompiledRule, plan: Plan, layout, dialect: str):
    """(name, comment, SQL) of one rule's CTEs, and its figures as SQL."""
    name, found = rule.id, []
    comment = _comment(rule)
    periods = periods_cte(rule, plan, dialect)
    if rule.kind == "kpi" and rule.model.scoring == "ratio":
        found.append((f"{name}__periods", f"{comment}\nits periods and targets", periods))
        parts: dict[str, exp.Expression] = {}
        figures = ratio_figures_cte(index, rule, name, layout, plan, parts)
        return found, _render(figures, dialect, **parts)
    if rule.model.snapshot:
        found.append(
            (
                f"{name}__cover",
                f"rule {rule.id}: the dates its rows reach",
                _cover(rule, layout, dialect),
            )
        )
    found.append(
        (f"{name}__rows", comment, _rows_query(plan, rule, layout).sql(dialect, pretty=True))
    )
    found.append((f"{name}__periods", f"rule {rule.id}: its periods and targets", periods))
    groups = group_targets_cte(rule, plan, dialect)
    if groups is not None:
        found.append((f"{name}__group_targets", f"rule {rule.id}: its groups' targets", groups))
    parts = {}
    model = rule.model
    if getattr(model, "scoring", None) == "continuous" and model.aggregate == "percentile":
        parts["measure"] = percentile_expression(
            exp.column("observation", "r"),
            model.percentile,
            model.percentile_method,
            dialect,
            exp.column("in_denominator", "r"),
        )
    elif getattr(model, "scoring", None) == "continuous":
        measured = statement("CASE WHEN r.in_denominator THEN r.observation END")
        parts["measure"] = aggregate_expression(model.aggregate, False, measured, dialect)
    figures = figures_cte(index, rule, name, groups)
    return found, _render(figures, dialect, **parts)


def _kinds(plan: Plan) -> set[str]:
    """The threshold kinds the spec judges by (a reduction is judged as `at most`)."""
    kinds = set()
    for rule in plan.rules:
        schedule = [entry.threshold for entry in rule.schedule]
        for threshold in [rule.threshold, *rule.group_thresholds.values(), *schedule]:
            if isinstance(threshold, ir.Threshold):
                kinds.add(threshold.kind)
            elif isinstance(threshold, ir.Reduction):
                kinds.add("at most")
    return kinds


HEADER = """-- {title}
-- Generated by specrules for {dialect}: the verdict table, one row per rule, contract period
-- and breakdown group (group NULL: the rule as a whole), with the figure, the target for
-- the period, the status and the RAG, as `specrules evaluate` gives them.
-- Tables are named after the spec's datasets, with the declared fields as columns:
-- `specrules sql SPEC --ddl` prints their CREATE TABLE statements."""


def verdict_sql(plan: Plan, dialect: str = "duckdb") -> str:
    """The whole spec as one commented query giving its verdict table (module docstring)."""
    if dialect not in DIALECTS:
        raise UnknownDialect(dialect)
    sources = {name: exp.to_table(name) for name in plan.datasets}
    layout = dataset_layout(plan, dialect, sources)
    ctes: list[tuple[str, str, str]] = []  # name, comment, SQL in the dialect
    for name, query, comment in layout.ctes:
        ctes.append((name, comment, query.sql(dialect, pretty=True)))
    parts: dict[str, exp.Expression] = {}
    span = _render(span_cte(plan, layout, parts), dialect, **parts)
    ctes.append((SPAN, "the first and last dates in the data: the years it covers", span))
    figures = []
    for index, rule in enumerate(plan.rules):
        found, rule_figures = _rule_parts(index, rule, plan, layout, dialect)
        ctes += found
        figures.append(rule_figures)
    union = "\nUNION ALL\n".join(figures)
    ctes.append((FIGURES, "every rule's figures and targets, per period and group", union))
    judged = _render(judging_sql(_kinds(plan)), dialect)
    ctes.append((VERDICTS, "each figure judged against its target", judged))
    body = ",\n".join(
        "\n".join(f"-- {line}" for line in comment.splitlines())
        + f"\n{sql_name(name, dialect)} AS (\n{_indent(sql)}\n)"
        for name, comment, sql in ctes
    )
    header = HEADER.format(title=plan.spec.title, dialect=dialect)
    if any(CALENDAR in sql for _, _, sql in ctes):
        header += (
            f"\n-- Working days read {CALENDAR}(day, cum, fwd) and {WORKDAYS}(n, day): "
            "`specrules sql --calendar` prints them."
        )
    return f"{header}\nWITH\n{body}\n{_render(FINAL, dialect)};\n"


def _cover(rule: CompiledRule, layout, dialect: str) -> str:
    """A snapshot's first and last dates: the period ends its data reaches."""
    dataset = rule.model.dataset
    date = compile_sql(rule.date, layout.scope_of(dataset, "t")) if rule.date else exp.null()
    query = statement(
        "SELECT MIN(CAST(:d AS DATE)) AS first_day, MAX(CAST(:d AS DATE)) AS last_day", d=date
    )
    return query.from_(layout.relations[dataset].copy().as_("t")).sql(dialect, pretty=True)


def _rows_query(plan: Plan, rule: CompiledRule, layout) -> exp.Expression:
    """The rule's classification of each row (of each row at each period end, for a
    snapshot), with its group."""
    dataset = rule.model.dataset
    scope = layout.scope_of(dataset, "t")
    columns = rule_columns(rule, scope)
    select = [e.as_(n) for n, e in columns.items()]
    if rule.model.breakdowns:
        select.append(_group_expression(plan, rule, layout.scope.dialect).as_("group_name"))
    relation = layout.relations[dataset].copy().as_("t")
    if rule.model.snapshot:
        periods = [p for p, _, _ in candidate_periods(rule, plan)]
        relation = at_period_ends(relation, periods)
        select.append(exp.column("__snapshot", "t").as_("__snapshot"))
    return exp.select(*select).from_(relation)


__all__ = ["UnsupportedInDialect", "verdict_sql", "CALENDAR", "WORKDAYS"]
