"""Evaluate a spec inside a SQL engine that reads the files itself (DuckDB, Spark).

Shared by the engines, written once: the files are typed and checked by
engine/sql/files.py; the rules are counted as one plan. The rules of a dataset are
classified (engine/sql/rule_rows.py's columns) in one pass into one table, each column once
however many rules share it; then one query gives every rule's figures per period and
group (GROUPING SETS: the whole rule and each breakdown group in one pass), one lists the
rows that fail them (fetched as Arrow, split in numpy) and one counts the rows left out.
Periods are rows of a small table (named by position), so the SQL is printed once per spec
(`planned`) and only run by later evaluations. A ratio's two aggregates are computed over
each period's rows. Figures are judged by the same `Judge.decide` (and so
`verdicts.judge`) as the pandas engine, so the decisions are shared too.
"""

from __future__ import annotations

import datetime as dt
import math
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlglot import exp

from specrules.engine.common.evaluation import assemble_evaluation
from specrules.engine.common.judging import (
    MISSING_GROUP,
    USE_RULE,
    Judge,
    exclusions,
    late_reasons,
    name_counts,
)
from specrules.engine.common.scope import (
    absent_dataset,
    counted_days,
    cover_to_as_of,
    dated_by_dataset,
    requested_periods,
    rule_periods,
    snapshot_gap,
    snapshot_reaches,
)
from specrules.engine.sql.checks import (
    dated_outside_contract,
    links_to_nothing,
    value_text,
)
from specrules.engine.sql.expressions import (
    compile_sql,
    percentile_expression,
    statement,
)
from specrules.engine.sql.files import (
    ROW,
    Connection,
    DataInput,
    FileData,
    Printed,
    Runner,
    union_all,
)
from specrules.engine.sql.rule_rows import (
    Layout,
    ReasonCodes,
    at_period_ends,
    dataset_layout,
    failing_rows,
    observation_in_time,
    rows_in_period,
    rule_columns,
)
from specrules.errors import DataError
from specrules.progress import Progress, reading
from specrules.results import (
    Evaluation,
    Exclusion,
    Verdict,
    breach_rows,
)
from specrules.spec.compiler import CompiledRule, Plan
from specrules.verdicts import is_missing

RULE_TABLE = "specrules_rules"  # rules' row classifications: specrules_rules_0, _1, …
# Every rule's periods (rule_index, position, first_day, last_day); a period is named by its
# position in the rule's list, as whole numbers are grouped faster than labels.
PERIODS = "specrules_periods"
# The failing rows come sorted so that each rule and period's rows are one slice, in file order.
FAILING_ORDER = ("rule_index", "period", "row_number")
PERIOD_ENDS = "specrules_period_ends"  # snapshots': rule_index, position, period_start, period_end
# Every day of every rule's periods (rule_index, position, day): a row finds its periods by an
# equality join on its date, where a range join would compare it with every period.
PERIOD_DAYS = "specrules_period_days"
_EVERY_DAY = {
    "duckdb": "SELECT rule_index, position, CAST(unnest(generate_series(CAST(first_day AS "
    "TIMESTAMP), CAST(last_day AS TIMESTAMP), INTERVAL 1 DAY)) AS DATE) AS day FROM {periods}",
    "spark": "SELECT rule_index, position, explode(sequence(first_day, last_day)) AS day "
    "FROM {periods}",
}


def values_query(columns: tuple[str, ...], rows: list[tuple], dialect: str) -> str:
    """A small table of (rule index, period position, first day, last day) as a query in
    `dialect` (written here, not parsed: it holds a row per rule and period)."""
    if not rows:
        index, position, first, last = columns
        return statement(
            f"SELECT CAST(NULL AS INT) AS {index}, CAST(NULL AS INT) AS {position}, "
            f"CAST(NULL AS DATE) AS {first}, CAST(NULL AS DATE) AS {last} WHERE 1 = 0"
        ).sql(dialect)
    values = ", ".join(
        f"({index}, {position}, DATE '{first}', DATE '{last}')"
        for index, position, first, last in rows
    )
    return f"SELECT * FROM (VALUES {values}) AS v({', '.join(columns)})"


def _group_text(plan: Plan, dataset: str, breakdowns: list[str], dialect: str) -> exp.Expression:
    """The breakdown group of a row as the pandas engine labels it (values joined by \\x1f)."""
    parts = {
        f"p{i}": exp.Coalesce(
            this=value_text(plan, dataset, name, dialect, "t"),
            expressions=[exp.Literal.string(MISSING_GROUP)],
        )
        for i, name in enumerate(breakdowns)
    }
    return statement(" || chr(31) || ".join(f":{p}" for p in parts), **parts)


class RuleTable:
    """The row classifications of the rules that read the same rows (a dataset's rules; a
    snapshot rule's rows at its period ends) as one table: one pass over the data, and each
    column once however many rules read it (the key, a date, a condition rules share)."""

    def __init__(self, name: str, relation: exp.Expression, dialect: str):
        self.name, self.relation, self.dialect = name, relation, dialect
        self.columns: dict[str, tuple[str, exp.Expression]] = {}  # SQL text → name, expression

    def column(self, expression: exp.Expression) -> str:
        """The column (`r.c3`) holding `expression`, added if no rule has it yet."""
        text = expression.sql(self.dialect)
        if text not in self.columns:
            self.columns[text] = (f"c{len(self.columns)}", expression)
        return "r." + self.columns[text][0]

    def query(self) -> exp.Expression:
        select = [e.as_(name, copy=False) for name, e in self.columns.values()]
        return exp.select(*select).from_(self.relation, copy=False)


class RuleCount:
    """One rule's columns in its table, its three queries (its figures per period and group,
    the rows that fail it, the rows left out by reason) and the verdicts made from them.
    Its periods are rows of the PERIODS table, so its SQL is the same for every evaluation."""

    def __init__(self, index: int, rule: CompiledRule, layout: Layout, judge: Judge, table):
        self.index, self.rule, self.judge = index, rule, judge
        dataset = rule.model.dataset
        dialect = layout.scope.dialect
        scope = layout.scope_of(dataset, "t")
        self.reasons = ReasonCodes()
        columns = rule_columns(rule, scope, judge.as_of, self.reasons)
        self.columns = set(columns)
        if "rule_date" in columns:  # a day, as periods are compared with it
            columns["rule_date"] = exp.cast(columns["rule_date"], "DATE")
        c = {name: table.column(e) for name, e in columns.items()}
        key = scope.keys.get(dataset)
        key_text = value_text(judge.plan, dataset, key, dialect, "t") if key else statement("NULL")
        row = table.column(exp.column(ROW, "t"))
        row_key = table.column(statement("CAST(:k AS VARCHAR)", k=key_text))
        grouped = bool(rule.model.breakdowns)
        group = (
            table.column(_group_text(judge.plan, dataset, rule.model.breakdowns, dialect))
            if grouped
            else "CAST(NULL AS VARCHAR)"
        )
        snapshot = rule.model.snapshot
        self.scoring = getattr(rule.model, "scoring", "proportion")
        self.whole = whole = rule.period == "contract" or rule.date is None or snapshot
        on = f"JOIN {PERIODS} AS periods ON periods.rule_index = {index}"
        date = c.get("rule_date")
        if snapshot:
            join = f"{on} AND {table.column(exp.column('__snapshot', 't'))} = periods.position"
        elif rule.date is None:
            join = on
        elif whole:
            # over the whole contract, undated rows count too; rows dated outside it (reported
            # as data issues) or after the as-of date do not
            in_period = f"{date} BETWEEN periods.first_day AND periods.last_day"
            join = f"{on} AND ({date} IS NULL OR {in_period})"
        else:
            join = f"JOIN {PERIOD_DAYS} AS periods ON periods.rule_index = {index} "
            join += f"AND periods.day = {date}"
        # A LEFT JOIN keeps the rows in no period (position NULL), so the rows without a date
        # are counted by the same query.
        counted = join if whole else f"LEFT {join}"
        considered, in_denominator = c["considered"], c["in_denominator"]
        undated = "0" if whole else f"count(*) FILTER (WHERE {date} IS NULL AND {considered})"
        value = "NULL"
        figure: dict[str, exp.Expression] = {}
        if self.scoring == "continuous" and rule.model.aggregate == "percentile":
            value = ":figure"
            figure["figure"] = percentile_expression(
                exp.column(c["observation"][2:], "r"),
                rule.model.percentile,
                rule.model.percentile_method,
                dialect,
                exp.column(in_denominator[2:], "r"),
            )
        elif self.scoring == "continuous":
            agg = rule.model.aggregate or "sum"
            fn = {"mean": "avg", "median": "median"}.get(agg, agg)
            value = f"{fn}({c['observation']}) FILTER (WHERE {in_denominator})"
        elif self.scoring == "count" and rule.model.distinct:
            value = f"count(DISTINCT {c['distinct_value']}) FILTER (WHERE {in_denominator})"
        failing = "in_numerator" in c  # a proportion: its failing rows are listed
        numerator = f"count(*) FILTER (WHERE {c['in_numerator']})" if failing else "NULL"

        def counted_if(name: str) -> str:
            return f"count(*) FILTER (WHERE {c[name]})" if name in c else "NULL"

        if grouped:  # the whole rule and each breakdown group, in one pass
            group_columns = f"CAST({group} AS VARCHAR) AS group_label, "
            group_columns += f"CAST(grouping({group}) AS INT) AS whole_rule"
            by = f"GROUPING SETS ((periods.position), (periods.position, {group}))"
            by_reason = (
                f"GROUPING SETS ((periods.position, {c['left_out']}), "
                f"(periods.position, {group}, {c['left_out']}))"
            )
        else:  # the rule as a whole: one grouping (Spark allows grouping() only in sets)
            group_columns = "CAST(NULL AS VARCHAR) AS group_label, CAST(1 AS INT) AS whole_rule"
            by, by_reason = "periods.position", f"periods.position, {c['left_out']}"
        table_as = f"{table.name} AS r"
        # Columns typed alike for every rule, so that rules are counted in one UNION ALL.
        self.figures = statement(
            f"SELECT {index} AS rule_index, periods.position AS period, {group_columns}, "
            f"count(*) FILTER (WHERE {considered}) AS considered, "
            f"count(*) FILTER (WHERE {in_denominator}) AS denominator, "
            f"CAST({numerator} AS BIGINT) AS numerator, CAST({value} AS DOUBLE) AS figure, "
            f"CAST({undated} AS BIGINT) AS undated, "
            f"CAST({counted_if('denominator_exclusion')} AS BIGINT) AS denominator_exclusion, "
            f"CAST({counted_if('not_eligible')} AS BIGINT) AS not_eligible "
            f"FROM {table_as} {counted} GROUP BY {by}",
            **figure,
        )
        # why rows are not counted, per period (and group): the verdicts' `excluded`
        self.left_out = statement(
            f"SELECT {index} AS rule_index, periods.position AS period, {group_columns}, "
            f"{c['left_out']} AS reason_code, count(*) AS rows_left_out FROM {table_as} {join} "
            f"WHERE {c['left_out']} IS NOT NULL GROUP BY {by_reason}"
        )
        # a late row's time taken and allowed, to word its reason (response times only)
        elapsed, allowed = (c["elapsed"], c["allowed"]) if "elapsed" in c else ("NULL",) * 2
        self.failing = (
            statement(
                f"SELECT {index} AS rule_index, periods.position AS period, "
                f"CAST({group} AS VARCHAR) AS group_label, {row_key} AS row_key, "
                f"{row} AS row_number, CAST({c['failure']} AS INT) AS reason_code, "
                f"CAST({elapsed} AS DOUBLE) AS elapsed, CAST({allowed} AS DOUBLE) AS allowed "
                f"FROM {table_as} {join} "
                f"WHERE {failing_rows(rule, in_denominator, c['in_numerator'])}"
            )
            if failing
            else None
        )

    def worded(
        self, codes: np.ndarray, elapsed: pa.ChunkedArray, allowed: pa.ChunkedArray
    ) -> np.ndarray:
        """The failing rows' reasons as text, from their codes (a late row's from its
        time taken and allowed, worded as on the pandas engine)."""
        texts = np.array(self.reasons.failure, dtype=object)
        if not len(codes) or not len(texts):
            return np.full(len(codes), None, dtype=object)
        words = texts[codes]
        late = np.array([text is None for text in self.reasons.failure])[codes]
        if late.any():
            taken, limit = (c.to_numpy(zero_copy_only=False)[late] for c in (elapsed, allowed))
            words[late] = late_reasons(taken, limit, self.reasons.unit)
        return words

    def verdicts(
        self, periods: list, cover, figures: list[tuple], rows: dict, left_out: list[tuple]
    ) -> list[Verdict]:
        """Verdicts per period (with groups) from this rule's rows of the three queries: its
        figures (one row per period and group), its failing rows (keys, row numbers and
        reasons by period and group: `rows`) and its counts of rows left out, by reason.
        A snapshot's `cover` is the first and last date of its rows."""
        rule, judge, scoring = self.rule, self.judge, self.scoring
        # by period position (None: rows in no period), and group
        overall = {row[1]: (*row[4:8], *row[9:11]) for row in figures if row[3] == 1}
        by_group = {(row[1], row[2]): (*row[4:8], *row[9:11]) for row in figures if row[3] == 0}
        undated = sum(row[8] for row in figures if row[3] == 1 and row[1] is None)
        grouped = bool(rule.model.breakdowns)
        reasons: dict[tuple, list[tuple[str, int]]] = {}  # (position, group or None) → counts
        for _, position, group, whole_rule, code, count in left_out:
            where = (position, None if whole_rule == 1 else group)
            reasons.setdefault(where, []).append((self.reasons.left_out[code], int(count)))

        def make(period, figures, breaches, excluded, threshold=USE_RULE) -> Verdict:
            considered, denominator, numerator_count, figure, exclusion, not_eligible = figures
            populations = {"initial_population": int(considered)}
            unit = "share"
            if scoring == "proportion":
                populations["denominator"] = int(denominator)
                populations["numerator"] = int(numerator_count or 0)
                if exclusion is not None:
                    populations["denominator_exclusion"] = int(exclusion)
                if not_eligible is not None:
                    populations["not_eligible"] = int(not_eligible)
                value_out = float(numerator_count) / denominator if denominator else None
                num_out, den_out = float(numerator_count or 0), float(denominator)
            else:
                populations["measure_population"] = int(denominator)
                num_out, den_out = None, None
                if scoring == "count":
                    unit = "count"
                    # no rows in the period: a count of 0, distinct or not (as on pandas)
                    value_out = float((figure if rule.model.distinct else denominator) or 0)
                else:
                    unit = rule.duration_unit if observation_in_time(rule) else "number"
                    den_out = float(denominator)
                    value_out = None if figure is None else float(figure)
                    if value_out is not None and math.isnan(value_out):
                        value_out = None
            verdict = Verdict(
                **judge.base(rule, period),
                status="monitoring",
                unit=unit,
                value=value_out,
                numerator=num_out,
                denominator=den_out,
                populations=populations,
                excluded=exclusions(excluded),
            )
            name_counts(rule, verdict)
            if self.failing is not None:
                verdict.breach_count = len(breaches[1])
                verdict.breaches = breach_rows(*breaches)
            judge.decide(rule, period, verdict, value_out, threshold)
            return verdict

        empty_counts = (
            0,
            0,
            0,
            None,
            0 if "denominator_exclusion" in self.columns else None,
            0 if "not_eligible" in self.columns else None,
        )
        no_rows = (np.array([], dtype=object), np.array([], dtype=np.int64))
        no_rows += (np.array([], dtype=object),)
        verdicts = []
        reached = snapshot_periods(periods, cover) if rule.model.snapshot else periods
        for position, period in enumerate(periods):  # the figures name a period by position
            if period not in reached:
                verdicts.append(judge.empty(rule, period, snapshot_gap(cover)))
                continue
            figures_here = overall.get(position, empty_counts)
            verdict = make(
                period,
                figures_here,
                rows.get((position, None), no_rows),
                reasons.get((position, None)),
            )
            if undated:
                verdict.excluded.append(
                    Exclusion(reason="no date to place the row in a period", count=undated)
                )
            if grouped:
                present = {g for (at, g) in by_group if at == position}
                named = set(rule.group_thresholds)  # groups with a target are shown even if empty
                for group in sorted(present | named):
                    threshold = rule.group_thresholds.get(group)
                    if threshold is None and getattr(rule.model, "per_group", False):
                        threshold = USE_RULE
                    sub = make(
                        period,
                        by_group.get((position, group), empty_counts),
                        rows.get((position, group), no_rows),
                        reasons.get((position, group)),
                        threshold,
                    )
                    if group in rule.group_thresholds:
                        sub.threshold = rule.model.group_thresholds[group]
                    sub.group = dict(
                        zip(rule.model.breakdowns, str(group).split("\x1f"), strict=True)
                    )
                    verdict.groups.append(sub)
            verdicts.append(verdict)
        return verdicts


def snapshot_periods(periods: list, cover) -> list:
    """The periods whose end a snapshot's data reaches (the others have no data)."""
    return [p for p in periods if snapshot_reaches(p, cover)]


def snapshot_covers(sql: Runner, snapshots: list, layout: Layout) -> dict[int, tuple | None]:
    """The first and last date of each snapshot rule's rows (`snapshots`: index, rule), all
    from one small query."""
    covers: dict[int, tuple | None] = {}
    selects = []
    for index, rule in snapshots:
        covers[index] = None
        if rule.date is None:
            continue
        dataset = rule.model.dataset
        date = compile_sql(rule.date, layout.scope_of(dataset, "t"))
        relation = layout.relations[dataset].copy().as_("t", copy=False)
        selects.append(
            statement(
                f"SELECT {index} AS rule_index, min(CAST(:d AS DATE)) AS low, "
                "max(CAST(:d AS DATE)) AS high",
                d=date,
            ).from_(relation, copy=False)
        )
    if selects:
        for index, low, high in sql.rows(union_all(selects, "covers")):
            covers[index] = None if low is None else (low, high)
    return covers


def _integers(table: pa.Table, name: str) -> np.ndarray:
    """A fetched column of whole numbers as int64 (copied only if it is not int64 already)."""
    return np.asarray(table.column(name).to_numpy(), dtype=np.int64)


def _key_column(column: pa.ChunkedArray):
    """The failing rows' keys: kept as Arrow text (no Python string per row) when none is
    missing, else as Python strings with None."""
    if column.null_count == 0 and pa.types.is_string(column.type):
        return pd.arrays.ArrowExtensionArray(column)
    return column.to_numpy(zero_copy_only=False)


def _in_order(segment: np.ndarray, row: np.ndarray) -> bool:
    """Whether rows are sorted by segment (rule and period), then row number."""
    step, rows = np.diff(segment), np.diff(row)
    return bool(((step > 0) | ((step == 0) & (rows > 0))).all())


def failing_parts(failing: pa.Table, counts: dict[int, RuleCount]) -> dict[int, dict[tuple, tuple]]:
    """The failing rows of every rule, split by rule, period and group (None: the whole
    rule) into keys, row numbers and reasons, each in file order. The query sorts them by
    rule, period and row (FAILING_ORDER), so a rule and period's rows are one slice of each
    column, found by bisection: no copy of every failing row is made (a rule can fail
    millions of rows)."""
    found: dict[int, dict[tuple, tuple]] = {index: {} for index in counts}
    if not failing.num_rows:
        return found
    period = failing.column("period").to_numpy()
    span = int(period.max()) + 1
    # the rule and period as one number
    segment = failing.column("rule_index").to_numpy().astype(np.int64) * span + period
    row = _integers(failing, "row_number")
    if not _in_order(segment, row):  # the queries sort them; a guard, as slices assume it
        order = np.lexsort((row, segment))
        failing, segment, row = failing.take(order), segment[order], row[order]
    keys, elapsed, allowed = (failing.column(n) for n in ("row_key", "elapsed", "allowed"))
    codes = failing.column("reason_code").to_numpy(zero_copy_only=False)
    labels = failing.column("group_label")
    grouped = labels.null_count < len(labels)  # a rule with breakdowns failed a row
    every = np.array(
        [index * span + position for index in sorted(counts) for position in range(span)]
    )
    bounds = np.searchsorted(segment, np.append(every, every[-1] + 1))
    for number, first, last in zip(every, bounds[:-1], bounds[1:], strict=True):
        if first == last:
            continue
        index, position = divmod(int(number), span)
        count = counts[index]
        part = slice(first, last)
        size = last - first
        part_keys = _key_column(keys.slice(first, size))
        reasons = count.worded(
            codes[part].astype(np.int64), elapsed.slice(first, size), allowed.slice(first, size)
        )
        found[index][(position, None)] = (part_keys, row[part], reasons)
        if not (grouped and count.rule.model.breakdowns):
            continue
        part_labels = labels.slice(first, size).to_numpy(zero_copy_only=False)
        groups, names = pd.factorize(part_labels)
        by_group = np.argsort(groups, kind="stable")  # file order in each group
        cuts = np.flatnonzero(np.diff(groups[by_group], prepend=-2))
        for c, d in zip(cuts, np.append(cuts[1:], len(by_group)), strict=True):
            rows = by_group[c:d]
            found[index][(position, names[groups[rows[0]]])] = (
                part_keys[rows],
                row[part][rows],
                reasons[rows],
            )
    return found


class RuleQueries:
    """The SQL that counts a spec's rules (their tables, then one query for every rule's
    figures, one for the rows that fail them, one for the rows left out), printed once per
    spec, dialect, as-of date and set of rules (`planned`): an evaluation only runs it."""

    def __init__(self, plan: Plan, waiting: list, layout: Layout, judge: Judge, size: int):
        dialect = layout.scope.dialect
        tables, counts = rule_tables(plan, waiting, layout, judge)
        self.counts = counts
        self.tables = [(t.name, Printed(t.query().sql(dialect))) for t in tables]
        self.figures, self.failing, self.left_out = [], [], []
        for start in range(0, len(counts), size):  # `size` rules to a query
            chunk = counts[start : start + size]
            listed = [c.failing for c in chunk if c.failing is not None]
            figures = union_all([c.figures for c in chunk], "figures")
            self.figures.append(Printed(figures.sql(dialect)))
            if listed:
                failing = union_all(listed, "failing").order_by(*FAILING_ORDER, copy=False)
                self.failing.append(Printed(failing.sql(dialect)))
            left_out = union_all([c.left_out for c in chunk], "left_out")
            self.left_out.append(Printed(left_out.sql(dialect)))


_PLANNED: dict[int, tuple[weakref.ref, dict]] = {}  # id(plan) → (the plan, what was built)


def planned(plan: Plan, key: tuple, build: Callable[[], Any]) -> Any:
    """What `build` makes for `plan` and `key`, made once while the plan lives (SQL printed
    for a spec serves every evaluation of it)."""
    ident = id(plan)
    entry = _PLANNED.get(ident)
    if entry is None or entry[0]() is not plan:
        gone = weakref.ref(plan, lambda _, i=ident, kept=_PLANNED: kept.pop(i, None))
        entry = _PLANNED[ident] = (gone, {})
    if key not in entry[1]:
        entry[1][key] = build()
    return entry[1][key]


def count_rules(
    sql: Runner, queries: RuleQueries, periods: dict, covers: dict
) -> dict[int, list[Verdict]]:
    """Verdicts of every rule counted from its table (see RuleQueries)."""
    counts = queries.counts
    for name, query in queries.tables:
        sql.table(name, query)
    figures: dict[int, list[tuple]] = {c.index: [] for c in counts}
    for query in queries.figures:
        for row in sql.rows(query):
            figures[row[0]].append(row)
    by_index = {c.index: c for c in counts}
    failing = [sql.arrow(query) for query in queries.failing]
    # chunks may differ in which columns Spark knows are never null: unify, not refuse
    joined = pa.concat_tables(failing, promote_options="permissive") if failing else None
    parts = failing_parts(joined, by_index) if failing else {}
    left_out: dict[int, list[tuple]] = {c.index: [] for c in counts}
    for query in queries.left_out:
        for row in sql.rows(query):
            left_out[row[0]].append(row)
    for name, _ in queries.tables:
        sql.conn.drop_table(name)
    return {
        c.index: c.verdicts(
            periods[c.index],
            covers.get(c.index),
            figures[c.index],
            parts.get(c.index, {}),
            left_out[c.index],
        )
        for c in counts
    }


def ratio_verdicts(sql: Runner, ratios: list, layout, judge: Judge) -> dict[int, list[Verdict]]:
    """Ratios of two aggregates, each over the rows of its dataset dated in the period: every
    ratio rule and period in one query."""
    selects = []
    for index, rule, periods in ratios:
        for position, period in enumerate(periods):
            top = layout.scope_of(
                tables=rows_in_period(rule, period, layout, judge.plan, judge.as_of)
            )
            selects.append(
                statement(
                    f"SELECT {index} AS rule_index, {position} AS period_index, "
                    "CAST(:n AS DOUBLE) AS numerator, CAST(:d AS DOUBLE) AS denominator",
                    n=compile_sql(rule.expressions["numerator"], top),
                    d=compile_sql(rule.expressions["denominator"], top),
                )
            )
    figures = {(row[0], row[1]): row[2:] for row in sql.rows(union_all(selects, "ratios"))}
    found = {}
    for index, rule, periods in ratios:
        found[index] = []
        for position, period in enumerate(periods):
            numerator, denominator = figures[(index, position)]
            value = None
            if not is_missing(numerator) and not is_missing(denominator) and denominator:
                value = numerator / denominator
            verdict = Verdict(
                **judge.base(rule, period),
                status="monitoring",
                unit="ratio",
                value=value,
                numerator=None if is_missing(numerator) else numerator,
                denominator=None if is_missing(denominator) else denominator,
            )
            judge.decide(rule, period, verdict, value)
            found[index].append(verdict)
    return found


def rule_tables(
    plan: Plan, waiting: list[tuple[int, CompiledRule]], layout: Layout, judge: Judge
) -> tuple[list[RuleTable], list[RuleCount]]:
    """The tables the rules are counted from (one per dataset, one per snapshot rule) and
    each rule's queries over them."""
    dialect = layout.scope.dialect
    tables: dict[str | int, RuleTable] = {}
    counts = []
    for index, rule in waiting:
        dataset = rule.model.dataset
        where: str | int = index if rule.model.snapshot else dataset
        if where not in tables:
            relation = layout.relations[dataset].copy().as_("t", copy=False)
            if rule.model.snapshot:  # every row once per period end the data reaches
                ends = "SELECT position AS label, period_start, period_end FROM "
                ends += f"{PERIOD_ENDS} WHERE rule_index = {index}"
                relation = at_period_ends(relation, [], ends)
            tables[where] = RuleTable(f"{RULE_TABLE}_{len(tables)}", relation, dialect)
        counts.append(RuleCount(index, rule, layout, judge, tables[where]))
    return list(tables.values()), counts


def rule_verdicts(
    sql: Runner, plan: Plan, requested, layout, judge, missing, progress: Progress | None = None
) -> list[Verdict]:
    """Every rule's verdicts, in the spec's order; `progress` is told when all are counted
    (the rules are counted together, by a few queries for all of them)."""
    found: dict[int, list[Verdict]] = {}
    waiting, ratios = [], []
    periods: dict[int, list] = {}
    for index, rule in enumerate(plan.rules):
        periods[index] = rule_periods(rule, requested, plan)
        # as the pandas engine: a rule reading a dataset not supplied (its own, or through a
        # link, an aggregate or a derived field) has no data
        absent = absent_dataset(rule, plan, missing)
        if absent is not None:
            why = f"dataset `{absent}`: {missing[absent]}"
            found[index] = [judge.empty(rule, p, why) for p in periods[index]]
        elif getattr(rule.model, "scoring", None) == "ratio":
            ratios.append((index, rule, periods[index]))
        else:
            waiting.append((index, rule))
    if any(periods for _, _, periods in ratios):
        found.update(ratio_verdicts(sql, ratios, layout, judge))
    else:
        found.update({index: [] for index, _, _ in ratios})
    if waiting:
        covers = snapshot_covers(sql, [(i, r) for i, r in waiting if r.model.snapshot], layout)
        covers = {i: cover_to_as_of(cover, judge.as_of) for i, cover in covers.items()}
        rows = []
        for index, rule in waiting:
            for position, p in enumerate(periods[index]):
                rows.append((index, position, *counted_days(rule, p, plan, judge.as_of)))
        names = ("rule_index", "position", "first_day", "last_day")
        # tables, not views: every rule's queries read them
        sql.table(PERIODS, Printed(values_query(names, rows, sql.dialect)))
        sql.table(PERIOD_DAYS, Printed(_EVERY_DAY[sql.dialect].format(periods=PERIODS)))
        if covers:
            ends = [
                (index, periods[index].index(p), p.start, p.end)
                for index, cover in covers.items()
                for p in snapshot_periods(periods[index], cover)
            ]
            names = ("rule_index", "position", "period_start", "period_end")
            sql.table(PERIOD_ENDS, Printed(values_query(names, ends, sql.dialect)))
        size = sql.conn.rules_per_query
        key = ("rules", sql.dialect, size, judge.as_of, tuple(index for index, _ in waiting))
        queries = planned(plan, key, lambda: RuleQueries(plan, waiting, layout, judge, size))
        found.update(count_rules(sql, queries, periods, covers))
    if progress is not None:
        progress(len(plan.rules), len(plan.rules), "")
    return [verdict for index in range(len(plan.rules)) for verdict in found[index]]


def data_span(sql: Runner, plan: Plan, layout: Layout) -> tuple[dt.date, dt.date] | None:
    """The first and last date of the data (one query), over the datasets placed in periods
    by their own date, as the pandas engine's `Evaluator.data_span`."""
    selects = []
    for name in dated_by_dataset(plan):
        date = compile_sql(plan.datasets[name].date, layout.scope_of(name, "t"))
        relation = layout.relations[name].copy().as_("t", copy=False)
        selects.append(
            statement(
                "SELECT min(CAST(:d AS DATE)) AS low, max(CAST(:d AS DATE)) AS high", d=date
            ).from_(relation, copy=False)
        )
    if not selects:
        return None
    spans = union_all(selects, "spans")
    low, high = sql.one(exp.select("min(low)", "max(high)").from_(spans.subquery("all_spans")))
    return None if low is None else (low, high)


def evaluate_files(
    conn: Connection,
    plan: Plan,
    data: DataInput,
    period: str | None = None,
    as_of: dt.date | None = None,
    spec_file: str | None = None,
    spec_text: str = "",
    progress: Progress | None = None,
) -> Evaluation:
    """Evaluate `plan` on a folder (or list) of CSV/Parquet files read by `conn`'s engine;
    `progress(done, total, label)` is told of the reading, then of the rules counted."""
    if not isinstance(data, str | Path | list):
        raise DataError(
            f"the {conn.name} engine reads files: give a folder or files, not DataFrames "
            "(the pandas engine, the default, takes DataFrames)"
        )
    sql = Runner(conn)
    rules = len(plan.rules)
    if progress is not None:
        progress(0, rules, "reading the data")
    loaded = FileData(plan, data, sql, reading(progress, rules))
    sources = {name: exp.to_table(name) for name in plan.datasets}
    layout = planned(
        plan,
        ("layout", sql.dialect),
        lambda: dataset_layout(plan, sql.dialect, sources, instants=True),
    )
    for name, query, _ in layout.ctes:
        sql.view(name, query)
    loaded.issues += links_to_nothing(sql, plan, loaded.missing)
    loaded.issues += dated_outside_contract(sql, plan, layout)
    judge = Judge(plan, as_of)
    requested = requested_periods(plan, period, data_span(sql, plan, layout))
    verdicts = rule_verdicts(sql, plan, requested, layout, judge, loaded.missing, progress)
    return assemble_evaluation(plan, loaded, verdicts, period, as_of, spec_file, spec_text)


__all__ = ["Connection", "RuleCount", "evaluate_files"]
