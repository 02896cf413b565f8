"""Judging a figure, the same on every engine: the verdict's common fields, its status
against the threshold in force, and how rows left out are counted and named."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from specrules.dsl.percentiles import label as percentile_label
from specrules.dsl.types import TIME_UNITS
from specrules.engine.common.calendar import due_date
from specrules.periods import Period
from specrules.results import Exclusion, SourceRef, Verdict
from specrules.spec.compiler import CompiledRule, Plan
from specrules.spec.models import TIMED_CLOCKS
from specrules.verdicts import is_missing, judge

MISSING_GROUP = "(missing)"
# A proportion's row whose numerator is unknown, as its reason says: it counts against the
# provider, out of the numerator when higher is better, in it when lower is better.
# A response-time row whose clock stops before it starts (a departure before the arrival).
ENDS_BEFORE_START = "ends before it starts (the end is earlier than the start: check the data)"
NUMERATOR_UNKNOWN = {
    False: "numerator unknown (missing data)",
    True: "numerator unknown (missing data): counted in the numerator, against the threshold",
}  # the breakdown group of rows with no value
USE_RULE = object()  # "judge against the rule's own threshold"


def exclusions(counts) -> list[Exclusion]:
    """Rows left out, by reason (pairs of reason and count), most rows first, then by reason,
    so that every engine lists them in one order."""
    ordered = sorted(((str(r), int(c)) for r, c in counts or () if r), key=lambda p: (-p[1], p[0]))
    return [Exclusion(reason=r, count=c) for r, c in ordered]


def name_counts(rule: CompiledRule, verdict: Verdict) -> None:
    """Fill a verdict's counts per named exclusion and exception (every name, in order) from
    its rows left out, which the engines word `<prefix>: <name>`."""
    counts = {e.reason: e.count for e in verdict.excluded}
    excluded = "denominator exclusion" if verdict.scoring == "proportion" else "excluded"
    for key, prefix in (
        ("denominator_exclusions", excluded),
        ("denominator_exceptions", "denominator exception"),
    ):
        if key in rule.named:
            found = {name: counts.get(f"{prefix}: {name}", 0) for name, _ in rule.named[key]}
            if key == "denominator_exclusions":
                verdict.exclusions = found
            else:
                verdict.exceptions = found


def continuous_measure(model: Any) -> str | None:
    """What a continuous KPI's figure is, as results name it (None for other rules)."""
    if getattr(model, "scoring", None) != "continuous":
        return None
    if model.aggregate == "percentile":
        return percentile_label(model.percentile, model.percentile_method)
    return model.aggregate


def due_if_breached(plan: Plan, rule: CompiledRule, period: Period) -> dt.date | dt.datetime | None:
    """When the consequence of a breach of `rule` in `period` is due (None: no deadline)."""
    deadline = plan.deadlines.get(rule.model.consequence or "")
    return None if deadline is None else due_date(period.end, deadline)


class Judge:
    """Turns a rule's figure for a period into a verdict; every engine judges through it."""

    def __init__(self, plan: Plan, as_of: dt.date | None):
        self.plan = plan
        self.as_of = as_of

    def base(self, rule: CompiledRule, period: Period) -> dict:
        model = rule.model
        consequence = self.plan.spec.consequences.get(model.consequence or "")
        threshold = rule.threshold_at(period.end).text  # None: an eligibility count
        return dict(
            rule_id=model.id,
            kind=rule.kind,
            title=model.title,
            period=period.label,
            period_start=period.start,
            period_end=period.end,
            scoring=getattr(model, "scoring", "proportion"),
            measure=continuous_measure(model),
            threshold=threshold,
            consequence=consequence.text if consequence else None,
            source=SourceRef(**model.source.model_dump()),
            note=model.note,
        )

    def empty(self, rule: CompiledRule, period: Period, reason: str) -> Verdict:
        unit = "share" if getattr(rule.model, "scoring", "proportion") == "proportion" else "count"
        return Verdict(**self.base(rule, period), status="no data", unit=unit, reason=reason)

    def decide(self, rule, period, verdict: Verdict, value, threshold: Any = USE_RULE) -> None:
        """Set the verdict's status; `threshold` None means figures only (monitoring)."""
        if threshold is USE_RULE:  # the value in force on the period's last day decides
            in_force = rule.threshold_at(period.end)
            threshold = in_force.threshold
            verdict.threshold_from, verdict.threshold_until = in_force.start, in_force.end
            if in_force.missing:
                verdict.reason = in_force.missing
        model = rule.model
        if self.as_of is not None and period.start > self.as_of:
            verdict.status = "not due"
            verdict.reason = f"the period starts after the as-of date {self.as_of}"
            return
        if self.as_of is not None and model.snapshot and period.end > self.as_of:
            verdict.status = "not due"
            verdict.reason = f"the snapshot is taken on {period.end}, after the as-of date"
            return
        if getattr(model, "monitoring_only", False) or threshold is None:
            verdict.status = "monitoring"
            if is_missing(value):
                verdict.reason = "nothing to measure in this period"
            return
        if is_missing(value):
            verdict.status = "no data"
            verdict.reason = "nothing to measure in this period (zero denominator or no rows)"
            return
        unit = verdict.unit if verdict.unit in TIME_UNITS else None
        judgement = judge(
            float(value),
            threshold,
            period,
            self.plan.spec.contract.start,
            unit,
            model.amber,
            self.as_of,
            getattr(model, "judged", "pro_rata") == "period_end",
        )
        verdict.status = judgement.status
        verdict.target = judgement.target
        verdict.gap = judgement.gap
        verdict.judged_against = judgement.judged_against
        verdict.rag = judgement.rag
        if verdict.status == "not met":
            verdict.due = due_if_breached(self.plan, rule, period)


def late_reasons(elapsed, allowed, unit: str) -> np.ndarray:
    """'late: 16 days after the start; limit 10 days' for each late row, from its time taken
    and time allowed in `unit` (hours, to a tenth; days or working days, whole); None where
    either is missing. Every engine words a late row with this function."""
    codes, texts = late_reason_codes(elapsed, allowed, unit)
    worded = np.full(len(codes), None, dtype=object)
    known = codes >= 0
    worded[known] = np.asarray(texts, dtype=object)[codes[known]]
    return worded


def late_reason_codes(elapsed, allowed, unit: str) -> tuple[np.ndarray, list[str]]:
    """`late_reasons` as a code per row (-1 where a time is missing) into distinct texts.

    Late rows share few distinct (taken, allowed) pairs, so each pair is worded once and the
    rows point at its text: a string per row cost more than the rule (0.6 s per 700,000 late
    rows). A pair is keyed as one complex number, so one hash-table pass finds them.
    """
    places = 1 if unit in TIMED_CLOCKS else 0
    exact = pd.Series(elapsed).to_numpy(dtype=float, na_value=np.nan)
    taken = np.round(exact, places)
    limit = np.round(pd.Series(allowed).to_numpy(dtype=float, na_value=np.nan), places)
    for more in (4, 9) if places else ():
        # a row a second late would read "240.0 minutes; limit 240.0": more places show it
        tied = taken <= limit
        taken[tied] = np.round(exact[tied], more)
    codes = np.full(len(taken), -1, dtype=np.int64)
    known = ~(np.isnan(taken) | np.isnan(limit))
    if not known.any():
        return codes, []
    codes[known], pairs = pd.factorize(taken[known] + 1j * limit[known])

    def shown(values: np.ndarray) -> pd.Series:
        number = pd.Series(values, dtype="Float64")
        return (
            number.astype("string")
            if unit in TIMED_CLOCKS
            else number.astype("Int64").astype("string")
        )

    text = "late: " + shown(pairs.real) + f" {unit} after the start; limit " + shown(pairs.imag)
    return codes, (text + f" {unit}").tolist()
