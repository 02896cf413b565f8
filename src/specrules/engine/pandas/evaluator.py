"""Plan + data → Evaluation.

1. Load and check the data (specrules.data): typed frames, and every bad row accounted for.
2. Compute derived fields on whole datasets, in dependency order.
3. For each rule, classify every row once (engine.pandas.rule_rows), then for each period and
   breakdown group count with boolean masks, judge the figure (verdicts.judge) and record
   the rows behind any breach.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from specrules.data import ROW, DataInput, LoadedData, issue, load_data
from specrules.datetimes import dataset_zones
from specrules.drilldown import EvaluationData, RuleRows
from specrules.dsl import ir
from specrules.dsl.printer import to_text
from specrules.engine.common.evaluation import assemble_evaluation
from specrules.engine.common.judging import (
    MISSING_GROUP,
    USE_RULE,
    Judge,
    exclusions,
    name_counts,
)
from specrules.engine.common.scope import (
    absent_dataset,
    cover_to_as_of,
    cumulative,
    datasets_under,
    dated_by_dataset,
    requested_periods,
    rule_periods,
    snapshot_cover,
    snapshot_gap,
    snapshot_reaches,
)
from specrules.engine.pandas.aggregates import percentile_of
from specrules.engine.pandas.expressions import Context, as_series, evaluate, evaluate_column
from specrules.engine.pandas.rule_rows import (
    RowOutcome,
    classify_eligibility,
    classify_kpi,
    classify_response_time,
)
from specrules.errors import DataError
from specrules.periods import (
    Period,
    contract_end,
)
from specrules.progress import reading
from specrules.results import (
    DataIssue,
    Evaluation,
    Exclusion,
    Verdict,
    breach_rows,
)
from specrules.spec.compiler import CompiledRule, Plan
from specrules.verdicts import is_missing


# ------------------------------------------------------------------ derived fields
def _dependencies(node: ir.Node) -> set[tuple[str, str]]:
    found = set()
    for sub in ir.walk(node):
        if isinstance(sub, ir.Reference) and sub.dataset and sub.column:
            found.add((sub.dataset, sub.column))
    return found


def _context(plan: Plan, frames: dict[str, pd.DataFrame]) -> Context:
    keys = {n: d.schema.key[0] for n, d in plan.datasets.items() if len(d.schema.key) == 1}
    links = {
        n: {name: (link.dataset, link.column) for name, link in d.schema.links.items()}
        for n, d in plan.datasets.items()
    }
    zones = dataset_zones(plan.spec)
    return Context(frames, link_frames=frames, keys=keys, links=links, zones=zones)


def add_derived(plan: Plan, frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Frames with every derived field added, computed in dependency order."""
    # shallow: with copy-on-write, new columns never reach the caller's frames
    frames = {name: frame.copy(deep=False) for name, frame in frames.items()}
    pending = [
        (ds.name, name, node)
        for ds in plan.datasets.values()
        if ds.name in frames
        for name, node in ds.derived
    ]
    derived_names = {(d, n) for d, n, _ in pending}
    done: set[tuple[str, str]] = set()
    ctx = _context(plan, frames)
    while pending:
        ready = [
            item
            for item in pending
            if all(dep in done or dep not in derived_names for dep in _dependencies(item[2]))
        ]
        if not ready:  # a cycle, or a dependency on a dataset with no data
            names = ", ".join(f"{d}.{n}" for d, n, _ in pending)
            raise DataError(f"derived fields depend on each other in a circle: {names}")
        for dataset, name, node in ready:
            if datasets_under(plan, dataset, [node]) - set(frames):
                # typed, so a rule reading it gets unknowns rather than an object column
                frames[dataset][name] = as_series(None, frames[dataset].index, node.type)
            else:
                frames[dataset][name] = evaluate_column(node, ctx.rows(dataset, frames[dataset]))
            done.add((dataset, name))
            pending.remove((dataset, name, node))
    return frames


# ------------------------------------------------------------------ periods
def group_labels(values: pd.Series) -> pd.Series:
    """Breakdown labels as the language writes values: true/false, and a named missing group."""
    if str(values.dtype) == "boolean":
        values = values.map({True: "true", False: "false"}, na_action="ignore")
    return values.astype("string").fillna(MISSING_GROUP)


# ------------------------------------------------------------------ figures
@dataclass
class Figure:
    value: float | None
    numerator: float | None
    denominator: float | None
    populations: dict[str, int]
    excluded: list[Exclusion]
    failing: np.ndarray | None


def _exclusions(reasons: pd.Series | None, rows: np.ndarray) -> list[Exclusion]:
    """Rows left out by reason: a count of each reason's code over the period's rows."""
    if reasons is None:
        return []
    codes = reasons.array.codes
    counts = np.bincount(codes[rows] + 1, minlength=len(reasons.cat.categories) + 1)[1:]
    found = counts.nonzero()[0]
    return exclusions(zip(reasons.cat.categories[found], counts[found], strict=True))


_NAT = np.datetime64("NaT").astype(np.int64)  # NaT as a whole number: the smallest int64


def _count(mask: np.ndarray) -> int:
    return int(np.count_nonzero(mask))


def figure_for(outcome: RowOutcome, rows: np.ndarray) -> Figure:
    considered = outcome.considered & rows
    populations = {"initial_population": _count(considered)}
    denominator = outcome.denominator & rows if outcome.denominator is not None else considered
    excluded = _exclusions(outcome.left_out, rows)
    if outcome.scoring == "count":
        populations["measure_population"] = _count(denominator)
        if outcome.distinct is not None:
            value = float(outcome.distinct[denominator].dropna().nunique())
        else:
            value = float(_count(denominator))
        return Figure(value, None, None, populations, excluded, None)
    if outcome.scoring == "continuous":
        populations["measure_population"] = _count(denominator)
        return Figure(None, None, float(_count(denominator)), populations, excluded, None)
    numerator = outcome.numerator & rows
    d, n = _count(denominator), _count(numerator)
    populations["denominator"] = d
    populations["numerator"] = n
    for name, mask in (outcome.extra_populations or {}).items():
        populations[name] = _count(mask & rows)
    value = n / d if d else None
    failing = numerator if outcome.numerator_fails else denominator & ~numerator
    return Figure(value, float(n), float(d), populations, excluded, failing)


def continuous_value(outcome: RowOutcome, rows: np.ndarray, model: Any) -> float | None:
    """A continuous KPI's figure: its `aggregate` of the observations in the denominator."""
    values = outcome.observation[rows & outcome.denominator].dropna()
    if values.empty:
        return None
    if model.aggregate == "percentile":
        result = percentile_of(values, model.percentile, model.percentile_method)
    else:
        result = getattr(values, model.aggregate)()
    return None if is_missing(result) else float(result)


# ------------------------------------------------------------------ the evaluator
class Evaluator(Judge):
    """The pandas engine: each rule's rows classified once, then counted per period with masks."""

    def __init__(self, plan: Plan, loaded: LoadedData, as_of: dt.date | None):
        super().__init__(plan, as_of)
        self.loaded = loaded
        self.frames = add_derived(plan, loaded.frames)
        self.ctx = _context(plan, self.frames)
        # Row-level outcomes kept for drill-down and charts (Evaluation._data, not serialised).
        self.drill = EvaluationData(
            self.frames, {n: list(d.schema.key) for n, d in plan.datasets.items()}
        )
        self._days: dict[tuple[str, ir.Node], np.ndarray] = {}
        self._keys: dict[str, pd.Series] = {}

    def data_span(self, issues: list[DataIssue]) -> tuple | None:
        """The first and last dates in the data; rows dated outside the contract are reported."""
        contract = self.plan.spec.contract
        first = np.datetime64(contract.start, "D")
        last = np.datetime64(contract_end(contract), "D")
        lows, highs = [], []
        for name in dated_by_dataset(self.plan):
            ds = self.plan.datasets[name]
            if ds.name not in self.frames or self.frames[ds.name].empty:
                continue
            frame = self.frames[ds.name]
            days = self.days(ds.name, ds.date)
            number = days.view(np.int64)  # as whole numbers: see period_rows
            dated = number != _NAT
            outside = dated & ((number < first.astype(np.int64)) | (number > last.astype(np.int64)))
            for row, day in zip(frame[ROW].to_numpy()[outside], days[outside], strict=True):
                issues.append(
                    issue(
                        ds.name,
                        f"dated {day}, outside the contract ({contract.start} to "
                        f"{last}): in no period, so not evaluated",
                        int(row),
                    )
                )
            if dated.any():
                known = number[dated]
                lows.append(np.datetime64(int(known.min()), "D").astype(object))
                highs.append(np.datetime64(int(known.max()), "D").astype(object))
        return (min(lows), max(highs)) if lows else None

    def days(self, dataset: str, date: ir.Node) -> np.ndarray:
        """A date expression's days (datetime64[D], NaT where missing), once per dataset.

        Every rule on a dataset, and every period, reads the same dates: computing them once
        saves a pass over the data per rule.
        """
        cached = (dataset, date)
        if cached not in self._days:
            frame = self.frames[dataset]
            values = evaluate_column(date, self.ctx.rows(dataset, frame))
            self._days[cached] = values.to_numpy(
                dtype="datetime64[ns]", na_value=np.datetime64("NaT")
            ).astype("datetime64[D]")
        return self._days[cached]

    def keys_of(self, dataset: str) -> pd.Series:
        """Each row's key as text (parts joined by `|`), once per dataset."""
        if dataset not in self._keys:
            frame = self.frames[dataset]
            key = list(self.plan.datasets[dataset].schema.key)
            text = frame[key[0]].astype("string")
            for other in key[1:]:
                text = text + "|" + frame[other].astype("string")
            self._keys[dataset] = text
        return self._keys[dataset]

    def rule_verdicts(self, rule: CompiledRule, requested: list[Period]) -> list[Verdict]:
        periods = rule_periods(rule, requested, self.plan)
        dataset = rule.model.dataset
        # a dataset not supplied, the rule's own or one read through a link, an aggregate
        # or a derived field, leaves the rule with no data
        absent = absent_dataset(rule, self.plan, self.loaded.missing)
        if absent is not None:
            why = f"dataset `{absent}`: {self.loaded.missing[absent]}"
            self.drill.unavailable[rule.model.id] = why
            return [self.empty(rule, p, why) for p in periods]
        if rule.kind == "kpi" and rule.model.scoring == "ratio":
            self.drill.unavailable[rule.model.id] = (
                "a ratio of two aggregates has no rows of its own"
            )
            return [self.ratio_verdict(rule, p) for p in periods]
        if rule.model.snapshot:
            return self.snapshot_verdicts(rule, periods)
        frame = self.frames[dataset]
        outcome = self.classify(rule, self.ctx.rows(dataset, frame))
        days = None if rule.date is None else self.days(dataset, rule.date)
        keys = self.keys_of(dataset)
        kept = self.keep_rows(rule, outcome)
        verdicts = []
        for period in periods:
            rows = self.period_rows(rule, period, days, len(frame))
            kept.periods[period.label] = rows
            verdict = self.verdict(rule, period, outcome, rows, frame, keys)
            if days is not None and rule.period != "contract":
                # only rows the rule is about: others have no business in its count
                undated = _count(np.isnat(days) & outcome.considered)
                if undated:
                    verdict.excluded.append(
                        Exclusion(reason="no date to place the row in a period", count=undated)
                    )
            verdict.groups = self.group_verdicts(rule, period, outcome, rows, frame, keys)
            verdicts.append(verdict)
        return verdicts

    def classify(self, rule: CompiledRule, ctx: Context) -> RowOutcome:
        if rule.kind == "eligibility":
            return classify_eligibility(rule, ctx)
        if rule.kind == "response_time":
            return classify_response_time(rule, ctx, self.as_of)
        return classify_kpi(rule, ctx)

    def snapshot_verdicts(self, rule: CompiledRule, periods: list[Period]) -> list[Verdict]:
        """A snapshot rule, judged as at the end of each period: every row is classified once
        per period end, with `period_end` and `period_start` as columns (periods are few)."""
        dataset = rule.model.dataset
        frame = self.frames[dataset]
        keys = self.keys_of(dataset)
        every_row = np.ones(len(frame), dtype=bool)
        covered = cover_to_as_of(
            snapshot_cover(self.days(dataset, rule.date) if rule.date is not None else None),
            self.as_of,
        )
        verdicts = []
        kept = None
        for period in periods:
            if not snapshot_reaches(period, covered):
                verdicts.append(self.empty(rule, period, snapshot_gap(covered)))
                continue
            at_end = frame.assign(
                period_end=pd.Timestamp(period.end), period_start=pd.Timestamp(period.start)
            )
            outcome = self.classify(rule, self.ctx.rows(dataset, at_end))
            verdict = self.verdict(rule, period, outcome, every_row, frame, keys)
            verdict.groups = self.group_verdicts(rule, period, outcome, every_row, frame, keys)
            verdicts.append(verdict)
            kept = (period, outcome)
        if len(periods) == 1 and kept is not None:  # one period end: its rows can be shown
            self.keep_rows(rule, kept[1]).periods[kept[0].label] = every_row
        else:
            self.drill.unavailable[rule.model.id] = (
                "a snapshot rule's rows differ at each period end: evaluate one period "
                "(--period) to see them"
            )
        return verdicts

    def keep_rows(self, rule: CompiledRule, outcome: RowOutcome) -> RuleRows:
        kept = RuleRows(
            rule_id=rule.model.id,
            kind=rule.kind,
            dataset=rule.model.dataset,
            scoring=outcome.scoring,
            considered=outcome.considered,
            denominator=outcome.considered if outcome.denominator is None else outcome.denominator,
            numerator=outcome.numerator,
            left_out=outcome.left_out,
            failure=outcome.failure,
            elapsed=outcome.elapsed,
            limit=outcome.allowed,
            elapsed_unit=outcome.elapsed_unit,
            numerator_fails=outcome.numerator_fails,
        )
        self.drill.rules[rule.model.id] = kept
        return kept

    def period_rows(self, rule: CompiledRule, period: Period, days, n: int) -> np.ndarray:
        """Which rows fall in `period` (undated rows fall in none, but for the contract).

        Days are compared as whole numbers (days since 1970; NaT the smallest): numpy's
        date comparisons check every value for NaT and took eight times as long."""
        if days is None:
            return np.ones(n, dtype=bool)
        number = days.view(np.int64)

        def day(value: dt.date) -> int:
            return int(np.datetime64(value, "D").astype(np.int64))

        end = day(period.end if self.as_of is None else min(period.end, self.as_of))
        if rule.period == "contract" and period.kind == "contract":
            # Undated rows still count over the whole contract; rows dated outside it (reported
            # as data issues) or after the as-of date do not.
            return ((number >= day(period.start)) | (number == _NAT)) & (number <= end)
        start = self.plan.spec.contract.start if cumulative(rule) else period.start
        return (number >= day(start)) & (number <= end)

    def group_verdicts(self, rule, period, outcome, rows, frame, keys) -> list[Verdict]:
        if not rule.model.breakdowns:
            return []
        columns = [group_labels(frame[b]) for b in rule.model.breakdowns]
        labels = columns[0]
        for extra in columns[1:]:
            labels = labels + "\x1f" + extra
        found = []
        named = set(rule.group_thresholds)  # groups with a target are shown even if empty
        for label in sorted(set(labels[rows].unique()) | named):
            group_rows = rows & (labels == label).to_numpy(dtype=bool)
            threshold = rule.group_thresholds.get(label)
            if threshold is None and getattr(rule.model, "per_group", False):
                threshold = USE_RULE
            verdict = self.verdict(rule, period, outcome, group_rows, frame, keys, threshold)
            if label in rule.group_thresholds:
                verdict.threshold = rule.model.group_thresholds[label]
            verdict.group = dict(zip(rule.model.breakdowns, str(label).split("\x1f"), strict=True))
            found.append(verdict)
        return found

    def verdict(
        self, rule, period, outcome: RowOutcome, rows, frame, keys, threshold: Any = USE_RULE
    ) -> Verdict:
        model = rule.model
        figure = figure_for(outcome, rows)
        value = figure.value
        if outcome.scoring == "continuous":
            value = continuous_value(outcome, rows, model)
        verdict = Verdict(
            **self.base(rule, period),
            status="monitoring",
            unit=outcome.unit,
            value=value,
            numerator=figure.numerator,
            denominator=figure.denominator,
            populations=figure.populations,
            excluded=figure.excluded,
        )
        name_counts(rule, verdict)
        if figure.failing is not None:
            failing = figure.failing
            verdict.breach_count = _count(failing)
            if failing.any():
                reasons = outcome.failure[failing]
                verdict.breaches = breach_rows(
                    keys[failing], frame[ROW].to_numpy()[failing], reasons
                )
        self.decide(rule, period, verdict, value, threshold)
        return verdict

    def ratio_verdict(self, rule: CompiledRule, period: Period) -> Verdict:
        frames = {}
        for name, frame in self.frames.items():
            date = self.plan.datasets[name].date
            if date is None:
                frames[name] = frame
                continue
            frames[name] = frame[self.period_rows(rule, period, self.days(name, date), len(frame))]
        ctx = Context(
            frames,
            link_frames=self.frames,
            keys=self.ctx.keys,
            links=self.ctx.links,
            zones=self.ctx.zones,
        )
        needed = {
            sub.over
            for node in (rule.expressions.get("numerator"), rule.expressions.get("denominator"))
            if node is not None
            for sub in ir.walk(node)
            if isinstance(sub, ir.Call) and sub.over
        }
        absent = [n for n in needed if n in self.loaded.missing]
        if absent or "numerator" not in rule.expressions:
            return self.empty(
                rule,
                period,
                f"dataset `{absent[0]}`: {self.loaded.missing[absent[0]]}"
                if absent
                else "not compiled",
            )
        numerator = evaluate(rule.expressions["numerator"], ctx)
        denominator = evaluate(rule.expressions["denominator"], ctx)
        value = None
        if not is_missing(numerator) and not is_missing(denominator) and float(denominator):
            value = float(numerator) / float(denominator)
        verdict = Verdict(
            **self.base(rule, period),
            status="monitoring",
            unit="ratio",
            value=value,
            numerator=None if is_missing(numerator) else float(numerator),
            denominator=None if is_missing(denominator) else float(denominator),
        )
        self.decide(rule, period, verdict, value)
        return verdict


def evaluate_spec(
    plan: Plan,
    data: DataInput,
    period: str | None = None,
    as_of: dt.date | None = None,
    spec_file: str | None = None,
    spec_text: str = "",
    progress: Callable[[int, int, str], None] | None = None,
) -> Evaluation:
    """Evaluate a plan; `progress(done, total, rule_id)` is called after each rule."""
    if progress is not None:
        progress(0, len(plan.rules), "reading the data")
    loaded = load_data(plan.spec, data, reading(progress, len(plan.rules)))
    evaluator = Evaluator(plan, loaded, as_of)
    span = evaluator.data_span(loaded.issues)
    requested = requested_periods(plan, period, span)
    verdicts = []
    for done, rule in enumerate(plan.rules, start=1):
        verdicts.extend(evaluator.rule_verdicts(rule, requested))
        if progress is not None:
            progress(done, len(plan.rules), rule.id)
    evaluation = assemble_evaluation(plan, loaded, verdicts, period, as_of, spec_file, spec_text)
    evaluation._data = evaluator.drill  # frames and row outcomes for drill-down; not serialised
    return evaluation


__all__ = ["evaluate_spec", "to_text"]
