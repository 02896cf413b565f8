"""Evaluate a spec inside a SQL engine that reads the files itself (DuckDB, Spark).

Shared by the engines, written once: the files are typed and checked by
engine/sql/files.py; each rule is the CTE of engine/sql/rule_rows.py, kept as a table,
joined to its periods and counted with GROUPING SETS (the whole rule and each breakdown
group in one pass), and the rows that fail it are listed; a ratio's two aggregates are
computed over each period's rows. Figures are judged by the same `Judge.decide` (and
so `verdicts.judge`) as the pandas engine, so the decisions are shared too.

Several rules are counted by one query (a UNION ALL) where the engine pays more for each
query than for its size (Spark): `Connection.rules_per_query`.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
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
    dated_by_dataset,
    requested_periods,
    rule_periods,
    snapshot_gap,
)
from specrules.engine.sql.checks import (
    dated_outside_contract,
    links_to_nothing,
    value_text,
)
from specrules.engine.sql.expressions import (
    compile_sql,
    percentile_expression,
    sql_text,
    statement,
)
from specrules.engine.sql.files import (
    ROW,
    Connection,
    DataInput,
    FileData,
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

RULE_TABLE = "specrules_rule"  # a rule's row classification: specrules_rule_0, _1, …


def _periods_table(rule: CompiledRule, periods, judge: Judge) -> str:
    rows = []
    for p in periods:
        start, end = counted_days(rule, p, judge.plan, judge.as_of)
        rows.append(
            f"({sql_text(p.label)}, DATE {sql_text(str(start))}, DATE {sql_text(str(end))})"
        )
    return "(VALUES " + ", ".join(rows) + ") AS periods(label, first_day, last_day)"


def _group_text(plan: Plan, dataset: str, breakdowns: list[str], dialect: str) -> exp.Expression:
    """The breakdown group of a row as the pandas engine labels it (values joined by \\x1f)."""
    if not breakdowns:
        return statement("CAST(NULL AS VARCHAR)")
    parts = {
        f"p{i}": exp.Coalesce(
            this=value_text(plan, dataset, name, dialect, "t"),
            expressions=[exp.Literal.string(MISSING_GROUP)],
        )
        for i, name in enumerate(breakdowns)
    }
    return statement(" || chr(31) || ".join(f":{p}" for p in parts), **parts)


class RuleCount:
    """One rule's queries (its classification, its figures, its failing rows) and the
    verdicts made from what they return."""

    def __init__(
        self, index: int, slot: int, rule: CompiledRule, periods, layout, judge, cover=None
    ):
        self.index, self.rule, self.periods, self.judge = index, rule, periods, judge
        # a snapshot: the first and last date of its rows, so the period ends they reach
        self.cover = cover
        self.table = f"{RULE_TABLE}_{slot}"
        dataset = rule.model.dataset
        dialect = layout.scope.dialect
        scope = layout.scope_of(dataset, "t")
        self.reasons = ReasonCodes()
        self.columns = columns = rule_columns(rule, scope, judge.as_of, self.reasons)
        key = scope.keys.get(dataset)
        key_text = value_text(judge.plan, dataset, key, dialect, "t") if key else statement("NULL")
        select = [
            exp.column(ROW, "t").as_("__row"),
            statement("CAST(:k AS VARCHAR)", k=key_text).as_("__key", copy=False),
            *(e.as_(name, copy=False) for name, e in columns.items()),
            _group_text(judge.plan, dataset, rule.model.breakdowns, dialect).as_(
                "__group", copy=False
            ),
        ]
        relation = layout.relations[dataset].copy().as_("t", copy=False)
        snapshot = rule.model.snapshot
        if snapshot:
            # every row once per period end, with that period's dates as columns
            relation = at_period_ends(relation, self.snapshot_periods())
            select.append(exp.column("__snapshot", "t").as_("__snapshot", copy=False))
        self.classification = exp.select(*select).from_(relation, copy=False)
        self.scoring = getattr(rule.model, "scoring", "proportion")
        self.whole = whole = rule.period == "contract" or rule.date is None or snapshot
        table = f"{self.table} AS r"
        in_period = "CAST(r.rule_date AS DATE) BETWEEN periods.first_day AND periods.last_day"
        if snapshot:
            join = f"JOIN {_periods_table(rule, periods, judge)} ON r.__snapshot = periods.label"
        elif rule.date is None:
            join = f"CROSS JOIN {_periods_table(rule, periods, judge)}"
        elif whole:
            # over the whole contract, undated rows count too; rows dated outside it (reported
            # as data issues) or after the as-of date do not
            join = (
                f"JOIN {_periods_table(rule, periods, judge)} ON r.rule_date IS NULL OR {in_period}"
            )
        else:
            join = f"JOIN {_periods_table(rule, periods, judge)} ON {in_period}"
        # A LEFT JOIN keeps the rows in no period (label NULL), so the rows without a date
        # are counted by the same query.
        counted = join if whole else f"LEFT {join}"
        undated = "0" if whole else "count(*) FILTER (WHERE r.rule_date IS NULL AND r.considered)"
        value = "NULL"
        figure: dict[str, exp.Expression] = {}
        if self.scoring == "continuous" and rule.model.aggregate == "percentile":
            value = ":figure"
            figure["figure"] = percentile_expression(
                exp.column("observation", "r"),
                rule.model.percentile,
                rule.model.percentile_method,
                dialect,
                exp.column("in_denominator", "r"),
            )
        elif self.scoring == "continuous":
            agg = rule.model.aggregate or "sum"
            fn = {"mean": "avg", "median": "median"}.get(agg, agg)
            value = f"{fn}(r.observation) FILTER (WHERE r.in_denominator)"
        elif self.scoring == "count" and rule.model.distinct:
            value = "count(DISTINCT r.distinct_value) FILTER (WHERE r.in_denominator)"
        failing = "in_numerator" in columns  # a proportion: its failing rows are listed
        numerator = "count(*) FILTER (WHERE r.in_numerator)" if failing else "NULL"
        exclusion = (
            "count(*) FILTER (WHERE r.denominator_exclusion)"
            if "denominator_exclusion" in columns
            else "NULL"
        )
        not_eligible = (
            "count(*) FILTER (WHERE r.not_eligible)" if "not_eligible" in columns else "NULL"
        )
        # Columns typed alike for every rule, so that rules can be counted in one UNION ALL.
        self.figures = statement(
            f"SELECT {index} AS rule_index, periods.label AS label, "
            "CAST(r.__group AS VARCHAR) AS group_label, grouping(r.__group) AS whole_rule, "
            "count(*) FILTER (WHERE r.considered) AS considered, "
            "count(*) FILTER (WHERE r.in_denominator) AS denominator, "
            f"CAST({numerator} AS BIGINT) AS numerator, CAST({value} AS DOUBLE) AS figure, "
            f"CAST({undated} AS BIGINT) AS undated, "
            f"CAST({exclusion} AS BIGINT) AS denominator_exclusion, "
            f"CAST({not_eligible} AS BIGINT) AS not_eligible FROM {table} {counted} "
            "GROUP BY GROUPING SETS ((periods.label), (periods.label, r.__group))",
            **figure,
        )
        # why rows are not counted, per period (and group): the verdicts' `excluded`
        if rule.model.breakdowns:
            group = "CAST(r.__group AS VARCHAR) AS group_label, grouping(r.__group) AS whole_rule"
            group_by = (
                "GROUPING SETS ((periods.label, r.left_out), "
                "(periods.label, r.__group, r.left_out))"
            )
        else:  # the rule as a whole (Spark allows grouping() only with GROUPING SETS)
            group = "CAST(NULL AS VARCHAR) AS group_label, 1 AS whole_rule"
            group_by = "periods.label, r.left_out"
        self.left_out = statement(
            f"SELECT {index} AS rule_index, periods.label AS label, {group}, "
            f"r.left_out AS reason_code, count(*) AS rows_left_out FROM {table} {join} "
            f"WHERE r.left_out IS NOT NULL GROUP BY {group_by}"
        )
        # a late row's time taken and allowed, to word its reason (response times only)
        elapsed, allowed = ("r.elapsed", "r.allowed") if "elapsed" in columns else ("NULL",) * 2
        self.failing = (
            statement(
                f"SELECT {index} AS rule_index, periods.label AS label, "
                "r.__group AS group_label, r.__key AS row_key, r.__row AS row_number, "
                "CAST(r.failure AS INT) AS reason_code, "
                f"CAST({elapsed} AS DOUBLE) AS elapsed, CAST({allowed} AS DOUBLE) AS allowed "
                f"FROM {table} {join} WHERE {failing_rows(rule)}"
            )
            if failing
            else None
        )

    def snapshot_periods(self) -> list:
        """The periods whose end a snapshot's data reaches (the others have no data)."""
        low, high = self.cover or (None, None)
        if low is None:
            return []
        return [p for p in self.periods if p.start <= high and p.end >= low]

    def worded(self, failing: pd.DataFrame) -> np.ndarray:
        """The failing rows' reasons as text, from their codes (a late row's from its
        numbers, worded as on the pandas engine)."""
        texts = np.array(self.reasons.failure, dtype=object)
        if failing.empty or not len(texts):
            return np.full(len(failing), None, dtype=object)
        words = texts[failing.reason_code.to_numpy(dtype=np.int64)]
        late = pd.isna(words)
        if late.any():
            late_rows = failing[late]
            words[late] = late_reasons(late_rows.elapsed, late_rows.allowed, self.reasons.unit)
        return words

    def verdicts(
        self, figures: list[tuple], failing: pd.DataFrame, left_out: list[tuple]
    ) -> list[Verdict]:
        """Verdicts per period (with groups) from this rule's rows of the three queries: its
        figures (one row per period and group), its failing rows (a frame) and its counts of
        rows left out, by reason."""
        rule, judge, scoring = self.rule, self.judge, self.scoring
        failing = failing.assign(reason=self.worded(failing))
        overall = {row[1]: (*row[4:8], *row[9:11]) for row in figures if row[3] == 1}
        by_group = {(row[1], row[2]): (*row[4:8], *row[9:11]) for row in figures if row[3] == 0}
        undated = sum(row[8] for row in figures if row[3] == 1 and row[1] is None)
        grouped = bool(rule.model.breakdowns)
        rows: dict[tuple, tuple] = {}  # (label, group or None) → keys, row numbers, reasons
        for label, part in failing.groupby("label", sort=False):
            rows[(label, None)] = (part.row_key, part.row_number, part.reason)
        if grouped:
            by = ["label", "group_label"]
            for (label, group), part in failing.groupby(by, sort=False):
                rows[(label, group)] = (part.row_key, part.row_number, part.reason)
        reasons: dict[tuple, list[tuple[str, int]]] = {}  # (label, group or None) → counts
        for _, label, group, whole_rule, code, count in left_out:
            where = (label, None if whole_rule == 1 else group)
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
                    value_out = float(figure if rule.model.distinct else denominator or 0)
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
                keys, row_numbers, why = breaches
                verdict.breach_count = len(row_numbers)
                verdict.breaches = breach_rows(
                    keys.to_numpy(), row_numbers.to_numpy(), why.to_numpy(dtype=object)
                )
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
        no_rows = (pd.Series([], dtype=object),) * 3
        verdicts = []
        reached = self.snapshot_periods() if rule.model.snapshot else self.periods
        for period in self.periods:
            label = period.label
            if period not in reached:
                verdicts.append(judge.empty(rule, period, snapshot_gap(self.cover)))
                continue
            figures_here = overall.get(label, empty_counts)
            verdict = make(
                period, figures_here, rows.get((label, None), no_rows), reasons.get((label, None))
            )
            if undated:
                verdict.excluded.append(
                    Exclusion(reason="no date to place the row in a period", count=undated)
                )
            if grouped:
                present = {g for (lbl, g) in by_group if lbl == label}
                named = set(rule.group_thresholds)  # groups with a target are shown even if empty
                for group in sorted(present | named):
                    threshold = rule.group_thresholds.get(group)
                    if threshold is None and getattr(rule.model, "per_group", False):
                        threshold = USE_RULE
                    sub = make(
                        period,
                        by_group.get((label, group), empty_counts),
                        rows.get((label, group), no_rows),
                        reasons.get((label, group)),
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


def snapshot_cover(sql: Runner, rule: CompiledRule, layout: Layout) -> tuple | None:
    """The first and last date of a snapshot rule's rows (one small query)."""
    if rule.date is None:
        return None
    dataset = rule.model.dataset
    date = compile_sql(rule.date, layout.scope_of(dataset, "t"))
    relation = layout.relations[dataset].copy().as_("t", copy=False)
    low, high = sql.one(
        statement(
            "SELECT min(CAST(:d AS DATE)) AS low, max(CAST(:d AS DATE)) AS high", d=date
        ).from_(relation, copy=False)
    )
    return None if low is None else (low, high)


def count_rules(sql: Runner, counts: list[RuleCount]) -> dict[int, list[Verdict]]:
    """Verdicts of rules counted together: one query for their figures, one for the rows
    that fail them, one for the rows left out."""
    for count in counts:
        sql.table(count.table, count.classification)
    figures: dict[int, list[tuple]] = {c.index: [] for c in counts}
    for row in sql.rows(union_all([c.figures for c in counts], "figures")):
        figures[row[0]].append(row)
    listed = [c.failing for c in counts if c.failing is not None]
    columns = ["rule_index", "label", "group_label", "row_key", "row_number"]
    columns += ["reason_code", "elapsed", "allowed"]
    failing = (
        sql.frame(union_all(listed, "failing").order_by("rule_index", "row_number", copy=False))
        if listed
        else pd.DataFrame({name: [] for name in columns})
    )
    failing.columns = columns
    by_rule = dict(tuple(failing.groupby("rule_index", sort=False)))
    none = failing.iloc[0:0]
    left_out: dict[int, list[tuple]] = {c.index: [] for c in counts}
    for row in sql.rows(union_all([c.left_out for c in counts], "left_out")):
        left_out[row[0]].append(row)
    return {
        c.index: c.verdicts(figures[c.index], by_rule.get(c.index, none), left_out[c.index])
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


def rule_verdicts(
    sql: Runner, plan: Plan, requested, layout, judge, missing, progress: Progress | None = None
) -> list[Verdict]:
    """Every rule's verdicts, in the spec's order; `progress` is told after each query."""
    found: dict[int, list[Verdict]] = {}
    waiting, ratios = [], []
    for index, rule in enumerate(plan.rules):
        periods = rule_periods(rule, requested, plan)
        # as the pandas engine: a rule reading a dataset not supplied (its own, or through a
        # link, an aggregate or a derived field) has no data
        absent = absent_dataset(rule, plan, missing)
        if absent is not None:
            why = f"dataset `{absent}`: {missing[absent]}"
            found[index] = [judge.empty(rule, p, why) for p in periods]
        elif getattr(rule.model, "scoring", None) == "ratio":
            ratios.append((index, rule, periods))
        else:
            waiting.append((index, rule, periods))
    if any(periods for _, _, periods in ratios):
        found.update(ratio_verdicts(sql, ratios, layout, judge))
    else:
        found.update({index: [] for index, _, _ in ratios})
    size = max(1, sql.conn.rules_per_query)
    for start in range(0, len(waiting), size):
        chunk = waiting[start : start + size]
        counts = [
            RuleCount(
                index,
                slot,
                rule,
                periods,
                layout,
                judge,
                snapshot_cover(sql, rule, layout) if rule.model.snapshot else None,
            )
            for slot, (index, rule, periods) in enumerate(chunk)
        ]
        found.update(count_rules(sql, counts))
        if progress is not None:
            done = len(plan.rules) - len(waiting) + start + len(chunk)
            progress(done, len(plan.rules), chunk[-1][1].id)
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
    conn.install_calendar()
    loaded = FileData(plan, data, sql, reading(progress, rules))
    sources = {name: exp.to_table(name) for name in plan.datasets}
    layout = dataset_layout(plan, sql.dialect, sources, instants=True)
    for name, query, _ in layout.ctes:
        conn.create_view(name, query.sql(sql.dialect))
    loaded.issues += links_to_nothing(sql, plan, loaded.missing)
    loaded.issues += dated_outside_contract(sql, plan, layout)
    judge = Judge(plan, as_of)
    requested = requested_periods(plan, period, data_span(sql, plan, layout))
    verdicts = rule_verdicts(sql, plan, requested, layout, judge, loaded.missing, progress)
    return assemble_evaluation(plan, loaded, verdicts, period, as_of, spec_file, spec_text)


__all__ = ["Connection", "RuleCount", "evaluate_files"]
