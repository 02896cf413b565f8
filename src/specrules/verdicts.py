"""Judging a figure against a threshold: pro-rata shares, trajectories, baseline reductions.

Pure functions of numbers and dates, so each judgement can be tested by hand.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd

from specrules.dsl import ir
from specrules.dsl.types import SECONDS_IN, TIME_UNITS
from specrules.periods import MONTHS_IN, Period


@dataclass(frozen=True)
class Judgement:
    status: str  # met, not met, not due
    target: float | None
    gap: float | None
    judged_against: str
    rag: str | None


def amount_value(node: ir.Node, unit: str | None = None) -> float:
    """A threshold's figure as a plain number: a share 0-1, a count, or a length of time in
    `unit` (seconds, minutes, hours or days; days when not given)."""
    if isinstance(node, ir.Percent):
        return node.fraction
    if isinstance(node, ir.Number | ir.Money):
        return float(node.value)
    if isinstance(node, ir.Duration):
        # Units of no fixed length count as their average days (a working day as a day).
        per_day = {"working days": 1, "months": 30.4375, "years": 365.25}
        if node.unit in per_day:
            seconds = float(node.amount) * per_day[node.unit] * SECONDS_IN["days"]
        else:
            seconds = float(node.amount) * SECONDS_IN[node.unit]
        return seconds / SECONDS_IN[unit if unit in TIME_UNITS else "days"]
    raise TypeError(type(node).__name__)


def scale_factor(per: str | None, period: Period) -> float:
    """How many `per` units the period spans (a quarter is 1/4 of `per year`)."""
    if per is None:
        return 1.0
    if per == "week":
        return period.days / 7
    return period.months / MONTHS_IN[per]


def _compare(kind: str, value: float, low: float, high: float | None) -> bool:
    tolerance = 1e-9 * max(1.0, abs(low))
    if kind == "at least":
        return value >= low - tolerance
    if kind == "at most":
        return value <= low + tolerance
    if kind == "more than":
        return value > low + tolerance
    if kind == "less than":
        return value < low - tolerance
    if kind == "exactly":
        return abs(value - low) <= tolerance
    assert high is not None
    return low - tolerance <= value <= high + tolerance


def _gap(kind: str, value: float, low: float, high: float | None) -> float:
    if kind == "between" and high is not None:
        return value - low if value < low else value - high if value > high else 0.0
    return value - low


def _rag(met: bool, gap: float, target: float, amber: str | None) -> str:
    if met:
        return "green"
    if amber is not None and target:
        band = float(amber.rstrip("%")) / 100 * abs(target)
        if abs(gap) <= band + 1e-12:
            return "amber"
    return "red"


def judge(
    value: float,
    threshold: ir.Threshold | ir.Reduction,
    period: Period,
    contract_start: dt.date,
    unit: str | None = None,
    amber: str | None = None,
    as_of: dt.date | None = None,
    year_end_only: bool = False,
) -> Judgement:
    """Judge `value` over `period`; see docs/decisions.md for pro-rata and trajectories."""
    if isinstance(threshold, ir.Reduction):
        return _judge_reduction(value, threshold, period, contract_start, amber)
    low = amount_value(threshold.amount, unit)
    high = amount_value(threshold.upper, unit) if threshold.upper is not None else None
    judged_against = "threshold"
    fraction = 1.0
    if as_of is not None and period.start <= as_of < period.end:
        if year_end_only:
            return Judgement("not due", low, None, "judged at period end", None)
        fraction = ((as_of - period.start).days + 1) / period.days
    if threshold.by is not None:
        # A cumulative target: until its deadline, judged against a straight-line trajectory
        # from the contract start.
        end = min(period.end, as_of) if as_of else period.end
        if end < threshold.by:
            share = max(0.0, (end - contract_start).days + 1) / (
                (threshold.by - contract_start).days + 1
            )
            low, high = low * share, high * share if high is not None else None
            judged_against = f"trajectory to {threshold.by.isoformat()} ({share:.0%})"
        else:
            judged_against = f"target by {threshold.by.isoformat()}"
    elif threshold.per is not None:
        factor = scale_factor(threshold.per, period) * fraction
        if not math.isclose(factor, 1.0):
            low, high = low * factor, high * factor if high is not None else None
            judged_against = f"pro-rata share ({factor:g} × per {threshold.per})"
    met = _compare(threshold.kind, value, low, high)
    gap = _gap(threshold.kind, value, low, high)
    return Judgement(
        "met" if met else "not met", low, gap, judged_against, _rag(met, gap, low, amber)
    )


def _judge_reduction(
    value: float,
    threshold: ir.Reduction,
    period: Period,
    contract_start: dt.date,
    amber: str | None,
) -> Judgement:
    baseline = amount_value(threshold.baseline)
    # Years completed since the contract started, counting the period being judged.
    years = max(1, round(((period.end - contract_start).days + 1) / 365.25))
    if threshold.relative:
        target = baseline * (1 - threshold.step / 100) ** years
        how = f"{threshold.step:g}% a year from {baseline:.1%}, year {years}"
    else:
        target = baseline - threshold.step / 100 * years
        how = f"{threshold.step:g} percentage point(s) a year from {baseline:.1%}, year {years}"
    met = value <= target + 1e-12
    gap = value - target
    return Judgement(
        "met" if met else "not met",
        target,
        gap,
        f"reduction: {how}",
        _rag(met, -gap, target, amber),
    )


def is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))
