"""Each kind of rule, computed for every row at once, then counted per period and group.

`classify_*` turns a rule into row-level columns once, over the whole dataset: which rows
the rule considers, which are in its denominator, which meet it, and why each row that is
left out or fails was so. Counting a period or a breakdown group is then a boolean mask
and a sum, so the work per period is small and nothing loops over rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from specrules.dsl import ir
from specrules.dsl.printer import to_text
from specrules.dsl.types import SECONDS_IN
from specrules.engine.common.calendar import in_calendar, working_day_calendar
from specrules.engine.common.judging import ENDS_BEFORE_START, NUMERATOR_UNKNOWN, late_reason_codes
from specrules.engine.pandas.expressions import (
    Context,
    as_series,
    duration_value,
    evaluate_column,
    instant_values,
    shift_date,
    ticks_between,
    true_mask,
)
from specrules.spec.compiler import CompiledRule
from specrules.spec.models import TIMED_CLOCKS


@dataclass
class RowOutcome:
    """Row-level results of one rule over a whole dataset (arrays aligned to its rows)."""

    scoring: str
    unit: str
    considered: np.ndarray  # rows the rule is about (initial population / applies_to)
    denominator: np.ndarray | None = None
    numerator: np.ndarray | None = None
    observation: pd.Series | None = None  # continuous scoring
    distinct: pd.Series | None = None  # count scoring with `distinct`
    left_out: pd.Series | None = None  # why a considered row is not in the denominator
    failure: pd.Series | None = None  # why a denominator row is not in the numerator
    extra_populations: dict[str, np.ndarray] | None = None
    # Response times: time from start to end and the time allowed, per row, as numbers in
    # `elapsed_unit` (days, working days or hours); kept for drill-down and charts.
    elapsed: pd.Series | None = None
    allowed: pd.Series | None = None
    elapsed_unit: str | None = None
    # Lower is better (`at most 1%`): the numerator's rows fail, not the denominator's others.
    numerator_fails: bool = False


def _condition(rule: CompiledRule, name: str, ctx: Context, default: bool) -> pd.Series:
    """A rule's condition as nullable booleans (a constant when the rule leaves it out)."""
    node = rule.expressions.get(name)
    assert ctx.frame is not None
    if node is None:
        return pd.Series(default, index=ctx.frame.index, dtype="boolean")
    return evaluate_column(node, ctx)


class Reasons:
    """Why each row was left out or failed; the first reason given to a row wins.

    Kept as a code per row into the distinct texts (rows share few reasons), a categorical
    Series at the end: counting the rows per reason in a period is then a sum over codes,
    and no text is copied per row.
    """

    def __init__(self, index: pd.Index) -> None:
        self.index = index
        self.codes = np.full(len(index), -1, dtype=np.int8)  # wider when reasons are many
        self.texts: dict[str, int] = {}

    @property
    def given(self) -> np.ndarray:
        return self.codes >= 0

    def _code(self, text: str) -> int:
        if text not in self.texts and len(self.texts) == np.iinfo(self.codes.dtype).max:
            self.codes = self.codes.astype(np.int32)
        return self.texts.setdefault(text, len(self.texts))

    def set(self, where: np.ndarray, text: str) -> None:
        """Give `text` to rows in `where` that have no reason yet."""
        rows = where & (self.codes < 0)
        if rows.any():
            self.codes[rows] = self._code(text)

    def set_coded(self, where: np.ndarray, codes: np.ndarray, texts: list[str]) -> None:
        """Give rows in `where` with no reason yet one of `texts` each (by `codes`, one a row)."""
        rows = where & (self.codes < 0) & (codes >= 0)
        if rows.any():
            ours = np.array([self._code(text) for text in texts], dtype=np.int32)
            self.codes[rows] = ours[codes[rows]]  # after _code: codes wide enough by now

    def series(self) -> pd.Series:
        reasons = pd.Categorical.from_codes(self.codes, categories=list(self.texts))
        return pd.Series(reasons, index=self.index, copy=False)


def _unknown(values: pd.Series) -> np.ndarray:
    return values.isna().to_numpy(dtype=bool)


def classify_eligibility(rule: CompiledRule, ctx: Context) -> RowOutcome:
    model = rule.model
    index = ctx.frame.index
    applies = _condition(rule, "applies_to", ctx, True)
    considered = true_mask(applies, index)
    if model.accept is not None:
        passes_raw = _condition(rule, "accept", ctx, True)
        text = f"fails `{model.accept}`"
    else:
        passes_raw = ~_condition(rule, "exclude", ctx, False)
        text = f"excluded by `{model.exclude}`"
    passes = true_mask(passes_raw, index)
    action = model.on_fail.replace("_", " ")
    failure = Reasons(index)
    eligible = (
        None if rule.eligible is None else true_mask(evaluate_column(rule.eligible, ctx), index)
    )
    if model.decision is not None:
        # the provider's decision is judged: taken on though not eligible, or turned away
        # though eligible on every criterion
        decision = _condition(rule, "decision", ctx, False)
        taken = true_mask(decision, index)
        failure.set(considered & _unknown(decision), "no decision recorded (missing data)")
        unknown = _unknown(passes_raw)
        failure.set(
            considered & unknown & taken,
            f"cannot tell (missing data) → {action}",
        )
        failure.set(considered & ~passes & taken, f"{text} → {action}")
        if eligible is not None:
            failure.set(
                considered & eligible & ~taken, "eligible on every criterion, but turned away"
            )
        agrees = considered & ~failure.given
    else:
        failure.set(considered & _unknown(passes_raw), f"cannot tell (missing data) → {action}")
        failure.set(considered & ~passes, f"{text} → {action}")
        agrees = considered & passes
    left_out = Reasons(index)
    left_out.set(_unknown(applies), "`applies_to` unknown (missing data)")
    return RowOutcome(
        "proportion",
        "share",
        considered,
        considered,
        agrees,
        left_out=left_out.series(),
        failure=failure.series(),
        # every row of the dataset that fails some criterion: the combined count
        extra_populations=None if eligible is None else {"not_eligible": ~eligible},
    )


def classify_response_time(rule: CompiledRule, ctx: Context, as_of) -> RowOutcome:
    model = rule.model
    index = ctx.frame.index
    applies = _condition(rule, "applies_to", ctx, True)
    considered = true_mask(applies, index)
    start = evaluate_column(rule.expressions["start"], ctx)
    end = evaluate_column(rule.expressions["end"], ctx)
    limit_node = rule.expressions["limit"]
    limit = as_series(
        duration_value(limit_node)
        if isinstance(limit_node, ir.Duration)
        else evaluate_column(limit_node, ctx),
        index,
        limit_node.type,
    )
    kind = limit_node.type.duration_kind
    if model.clock in TIMED_CLOCKS:  # elapsed time: from instants, not wall clocks
        start = instant_values(rule.expressions["start"], ctx)
        end = instant_values(rule.expressions["end"], ctx)
        deadline = start + limit if kind == "time" else shift_date(start, limit, kind, 1)
        finished, began = end, start
    else:
        day = start.dt.normalize()
        deadline = day + limit if kind == "time" else shift_date(day, limit, kind, 1)
        deadline = deadline.dt.normalize() if kind != "time" else deadline
        finished, began = end.dt.normalize(), day
    no_start = start.isna().to_numpy(dtype=bool)
    no_end = end.isna().to_numpy(dtype=bool)
    no_limit = limit.isna().to_numpy(dtype=bool)
    # a clock that stops before it starts is bad data, not a fast response: it fails
    backwards = (finished < began).fillna(False).to_numpy(dtype=bool)
    on_time = (~no_start & ~no_end & ~no_limit & ~backwards) & (
        (finished <= deadline).fillna(False).to_numpy(dtype=bool)
    )
    denominator = considered.copy()
    left_out = Reasons(index)
    left_out.set(_unknown(applies), "`applies_to` unknown (missing data)")
    if as_of is not None:
        # A clock still running whose deadline is after the data's as-of date has not
        # breached yet: it is left out, and counted as such.
        running = (
            considered
            & no_end
            & ~no_start
            & (deadline > pd.Timestamp(as_of)).fillna(False).to_numpy(dtype=bool)
        )
        left_out.set(running, "clock still running at the as-of date")
        denominator &= ~running
    failure = Reasons(index)
    failure.set(denominator & no_start, "no start event")
    failure.set(denominator & no_limit, "no limit for this row")
    failure.set(denominator & no_end, "no end event (clock never stopped)")
    failure.set(denominator & backwards, ENDS_BEFORE_START)
    # time taken and time allowed per row, in one unit per rule: late rows' reasons, drill-down
    elapsed, allowed, unit = _elapsed(model.clock, kind, start, end, deadline, limit)
    late = denominator & ~on_time
    if late.any():  # the reason's text is built for late rows only
        codes = np.full(len(index), -1, dtype=np.int64)
        codes[late], texts = late_reason_codes(elapsed[late], allowed[late], unit)
        failure.set_coded(late, codes, texts)
    outcome = RowOutcome(
        "proportion",
        "share",
        considered,
        denominator,
        denominator & on_time,
        left_out=left_out.series(),
        failure=failure.series(),
    )
    outcome.elapsed, outcome.allowed, outcome.elapsed_unit = elapsed, allowed, unit
    return outcome


def _elapsed(
    clock: str, kind: str | None, start: pd.Series, end: pd.Series, deadline: pd.Series, limit
) -> tuple[pd.Series, pd.Series, str]:
    """Time from start to end and the time allowed, as Float64 in one unit per rule."""
    if clock in TIMED_CLOCKS:
        step = SECONDS_IN[clock] * 1e6
        return (
            ticks_between(start, end, "us") / step,
            ticks_between(start, deadline, "us") / step,
            clock,
        )
    day = start.dt.normalize()
    if kind == "working":
        # Counted as the deadline is: from the first working day on or after the start.
        valid = (day.notna() & end.notna()).to_numpy(dtype=bool).copy()
        # a start or end outside the working-day calendar has no count, on every engine
        for when in (day, end.dt.normalize()):
            valid[valid] = in_calendar(when[valid].to_numpy(dtype="datetime64[D]"))
        elapsed = pd.Series(pd.NA, index=start.index, dtype="Float64")
        begin = np.busday_offset(
            day[valid].to_numpy(dtype="datetime64[D]"),
            0,
            roll="forward",
            busdaycal=working_day_calendar(),
        )
        stop = end.dt.normalize()[valid].to_numpy(dtype="datetime64[D]")
        one = np.timedelta64(1, "D")
        counts = np.busday_count(begin + one, stop + one, busdaycal=working_day_calendar())
        elapsed[valid] = np.clip(counts, 0, None).astype(float)
        return elapsed, pd.Series(limit, index=start.index).astype("Float64"), "working days"
    return ticks_between(day, end, "D"), ticks_between(day, deadline, "D"), "days"


def _give_reasons(
    rule: CompiledRule, name: str, ctx: Context, rows: np.ndarray, reasons: Reasons, prefix: str
) -> None:
    """Give `rows` (taken out by exclusions or exceptions `name`) their reason: the condition
    as written, or the name of the first of a named list that applies to the row."""
    named = rule.named.get(name)
    if named is None:
        reasons.set(rows, f"{prefix}: {getattr(rule.model, name)}")
        return
    for label, node in named:
        reasons.set(
            rows & true_mask(evaluate_column(node, ctx), ctx.frame.index), f"{prefix}: {label}"
        )


def classify_kpi(rule: CompiledRule, ctx: Context) -> RowOutcome:
    model = rule.model
    index = ctx.frame.index
    initial = _condition(rule, "initial_population", ctx, True)
    considered = true_mask(initial, index)
    left_out = Reasons(index)
    left_out.set(_unknown(initial), "initial population unknown (missing data)")
    exclusions = _condition(rule, "denominator_exclusions", ctx, False)
    excluded = true_mask(exclusions, index)
    if model.scoring in ("count", "continuous"):
        measured = considered & ~excluded
        if model.denominator_exclusions:
            _give_reasons(
                rule, "denominator_exclusions", ctx, considered & excluded, left_out, "excluded"
            )
        outcome = RowOutcome(model.scoring, "count", considered, measured)
        if model.scoring == "count" and model.distinct:
            outcome.distinct = ctx.frame[model.distinct]
        if model.scoring == "continuous":
            observed = evaluate_column(rule.expressions["observation"], ctx)
            if observed.dtype.kind == "m":
                per = rule.duration_unit
                observed = (observed / pd.Timedelta(seconds=SECONDS_IN[per])).astype("Float64")
                outcome.unit = per
            else:
                outcome.unit = "number"
            no_value = measured & _unknown(observed)
            left_out.set(no_value, "no value to measure (missing data)")
            outcome.denominator = measured & ~no_value
            outcome.observation = observed
        outcome.left_out = left_out.series()
        return outcome
    # proportion
    denominator_raw = _condition(rule, "denominator", ctx, True)
    in_denominator = considered & true_mask(denominator_raw, index)
    left_out.set(considered & _unknown(denominator_raw), "denominator unknown (missing data)")
    left_out.set(considered & ~in_denominator, "not in the denominator")
    numerator_raw = _condition(rule, "numerator", ctx, False)
    meets = true_mask(numerator_raw, index)
    against = rule.lower_is_better  # the numerator's rows are the ones that fail
    if against:  # an unknown numerator counts against the provider
        meets |= _unknown(numerator_raw)
    if model.denominator_exclusions:
        _give_reasons(
            rule,
            "denominator_exclusions",
            ctx,
            in_denominator & excluded,
            left_out,
            "denominator exclusion",
        )
    denominator = in_denominator & ~excluded
    if "denominator_exceptions" in rule.expressions:
        # An exception removes a row only when it has not met the numerator.
        excepted = (
            denominator
            & ~meets
            & true_mask(_condition(rule, "denominator_exceptions", ctx, False), index)
        )
        _give_reasons(
            rule, "denominator_exceptions", ctx, excepted, left_out, "denominator exception"
        )
        denominator &= ~excepted
    failure = Reasons(index)
    failure.set(denominator & _unknown(numerator_raw), NUMERATOR_UNKNOWN[against])
    if against:
        failure.set(denominator & meets & ~_unknown(numerator_raw), f"meets `{model.numerator}`")
    else:
        failure.set(denominator & ~meets, f"does not meet `{model.numerator}`")
    outcome = RowOutcome(
        "proportion",
        "share",
        considered,
        denominator,
        denominator & meets,
        left_out=left_out.series(),
        failure=failure.series(),
        extra_populations={"denominator_exclusion": in_denominator & excluded},
    )
    outcome.numerator_fails = against
    return outcome


def describe(rule: CompiledRule) -> str:
    """A one-line description of how a rule is measured, for reports."""
    parts = [f"{name}: {to_text(node)}" for name, node in rule.expressions.items()]
    return "; ".join(parts)
