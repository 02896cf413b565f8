"""What a rule covers, the same on every engine: the datasets it reads, the periods it is
judged in, and which datasets place rows in periods by their own date."""

from __future__ import annotations

import datetime as dt

import numpy as np

from specrules.dsl import ir
from specrules.errors import PeriodError
from specrules.periods import (
    GRANULARITY,
    Period,
    contract_end,
    parse_period,
    period_containing,
    periods_within,
)
from specrules.spec.compiler import CompiledRule, Plan


# ------------------------------------------------------------------ datasets
def datasets_under(plan: Plan, dataset: str, nodes: list[ir.Node]) -> set[str]:
    """Every dataset expressions on `dataset` read: itself, through links, aggregates and the
    derived fields they use (followed to the end, so a derived field over a dataset that was
    not supplied is seen)."""
    derived = {(ds.name, name): node for ds in plan.datasets.values() for name, node in ds.derived}
    found, seen = {dataset}, set()
    todo = [(dataset, node) for node in nodes]
    while todo:
        on, node = todo.pop()
        for sub in ir.walk(node):
            if isinstance(sub, ir.Reference) and sub.column:
                target = (sub.dataset or on, sub.column)
                found.add(target[0])
                if target in derived and target not in seen:
                    seen.add(target)
                    todo.append((target[0], derived[target]))
            elif isinstance(sub, ir.Call) and sub.over:
                found.add(sub.over)
    return found


def datasets_read(rule: CompiledRule, plan: Plan) -> set[str]:
    """Every dataset a rule needs: its own, and those its expressions, date and breakdowns
    read. A rule needing one that was not supplied has no data (on every engine)."""
    dataset = rule.model.dataset
    nodes = [*rule.expressions.values(), *([rule.date] if rule.date is not None else [])]
    nodes += [ir.Reference((field,), dataset, field) for field in rule.model.breakdowns or []]
    return datasets_under(plan, dataset, nodes)


def absent_dataset(rule: CompiledRule, plan: Plan, missing: dict[str, str]) -> str | None:
    """The dataset, not supplied, that leaves a rule with no data: its own first."""
    dataset = rule.model.dataset
    if dataset in missing:
        return dataset
    absent = sorted(datasets_read(rule, plan) & set(missing))
    return absent[0] if absent else None


def dated_by_dataset(plan: Plan) -> list[str]:
    """Datasets some rule places in periods by the dataset's own date (a rule with its own
    `date:` places its rows itself)."""
    # a snapshot places no row in a period: its rows are counted at every period end
    placed = {
        rule.model.dataset
        for rule in plan.rules
        if rule.model.date is None and not rule.model.snapshot
    }
    return [name for name, ds in plan.datasets.items() if ds.date is not None and name in placed]


# ------------------------------------------------------------------ periods
def requested_periods(
    plan: Plan, period: str | None, span: tuple[dt.date, dt.date] | None
) -> list[Period]:
    contract = plan.spec.contract
    if period is not None and period.lower() != "all":
        return [parse_period(period, contract)]
    first, last = contract.start, contract_end(contract)
    if span is not None:
        first, last = max(first, span[0]), min(last, span[1])
        if first > last:
            raise PeriodError(
                f"the data's dates ({span[0]} to {span[1]}) lie outside the contract "
                f"({contract.start} to {contract_end(contract)})"
            )
    outer = Period(first, last, "span", "all")
    return periods_within(outer, "year", contract)


def rule_periods(rule: CompiledRule, requested: list[Period], plan: Plan) -> list[Period]:
    contract = plan.spec.contract
    if rule.period == "contract":
        return [period_containing(contract.start, "contract", contract)]
    found: list[Period] = []
    for outer in requested:
        if GRANULARITY[rule.period] < GRANULARITY.get(outer.kind, 3):
            found.extend(periods_within(outer, rule.period, contract))
        else:
            found.append(outer)
    # A period wholly outside the contract (a financial-year quarter before a mid-year start,
    # or one after the end) has nothing to judge, so it gets no verdict.
    last = contract_end(contract)
    found = [p for p in found if p.end >= contract.start and p.start <= last]
    return list(dict.fromkeys(found))


def cumulative(rule: CompiledRule) -> bool:
    """A rule judged on everything from the contract's start (a threshold `by` a date)."""
    thresholds = [rule.threshold, *rule.group_thresholds.values()]
    return any(isinstance(t, ir.Threshold) and t.by is not None for t in thresholds)


def counted_days(
    rule: CompiledRule, period: Period, plan: Plan, as_of: dt.date | None
) -> tuple[dt.date, dt.date]:
    """The first and last day of `period` whose rows a rule counts: from the contract's start
    if it is cumulative, and not past the as-of date."""
    start = plan.spec.contract.start if cumulative(rule) else period.start
    end = period.end if as_of is None else min(period.end, as_of)
    return start, end


def snapshot_cover(days: np.ndarray | None) -> tuple[dt.date, dt.date] | None:
    """The first and last date of a snapshot rule's rows: the periods whose end it is taken
    at are those these dates reach."""
    if days is None:
        return None
    known = days[~np.isnat(days)]
    if not len(known):
        return None
    return known.min().astype(object), known.max().astype(object)


def cover_to_as_of(
    covered: tuple[dt.date, dt.date] | None, as_of: dt.date | None
) -> tuple[dt.date, dt.date] | None:
    """An extract taken as at `--as-of` shows the waiting list at every period end up to that
    day, though no row started after its last one: the cover reaches the as-of date."""
    if covered is None or as_of is None or as_of <= covered[1]:
        return covered
    return covered[0], as_of


def snapshot_reaches(period: Period, covered: tuple[dt.date, dt.date] | None) -> bool:
    """Whether a snapshot's data reaches `period`: its dates run into the period."""
    return covered is not None and period.start <= covered[1] and period.end >= covered[0]


def snapshot_gap(covered: tuple[dt.date, dt.date] | None) -> str:
    """Why a snapshot has no figure in a period: the data's dates do not reach it."""
    if covered is None:
        return "no dated rows, so no period end the data covers"
    return f"the data's dates ({covered[0]} to {covered[1]}) do not reach this period"
