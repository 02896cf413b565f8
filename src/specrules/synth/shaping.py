"""Rules-driven shaping: KPI populations, numerators and counts, eligibility criteria."""

from __future__ import annotations

import math
import warnings
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from specrules.dsl import ir
from specrules.spec.compiler import CompiledRule
from specrules.synth.common import (
    _NEGATE,
    _THRESHOLD_OP,
    APPLIES_SHARE,
    DENOMINATOR_SHARE,
    EXCLUSION_SHARE,
    POPULATION_SHARE,
    SNAPSHOT_POPULATION_SHARE,
    SynthWarning,
)
from specrules.verdicts import amount_value, scale_factor

# Response times are skewed to the right: most arrive well inside the limit, a few far over.
SKEWED_AGGREGATES = ("mean", "median", "percentile")
SKEW_SIGMA = 0.8  # the spread of log response times (a 90th centile about 2.8 x the median)


class Shaping:
    """Rules-driven shaping of the data (part of `generator._Synth`)."""

    def _populations(self, rule: CompiledRule) -> None:
        dataset = rule.model.dataset
        view = self._proportion_view(rule)
        if view is not None and view[0] != dataset:  # a ratio: its rows are another dataset's
            dataset = view[0]
        block = self.blocks.get((dataset, rule.id))
        exprs = dict(rule.expressions)
        if view is not None and rule.model.scoring == "ratio":
            exprs = {"denominator": view[1]} if view[1] is not None else {}
        within = None
        for name, share in (
            ("applies_to", APPLIES_SHARE),
            ("initial_population", POPULATION_SHARE),
            ("denominator", DENOMINATOR_SHARE),
        ):
            node = exprs.get(name)
            if node is None or node.type is None or node.type.kind != "boolean":
                continue
            if name == "initial_population" and getattr(rule.model, "snapshot", False):
                share = SNAPSHOT_POPULATION_SHARE
            if block is not None:
                self.satisfy(dataset, node, block, True)
            elif dataset not in self.block_datasets:
                self._push(dataset, node, share, within=within)
            within = (
                self._mask(dataset, node) if within is None else within & self._mask(dataset, node)
            )
        rare = EXCLUSION_SHARE + 0.1 * self.breach
        for name in ("denominator_exclusions", "denominator_exceptions"):
            node = exprs.get(name)
            if node is None:
                continue
            if block is not None:
                self.satisfy(dataset, node, block, False)
            else:
                self._push(dataset, node, rare, up=False, within=within)

    def _proportion_view(self, rule: CompiledRule) -> tuple[str, ir.Node | None, ir.Node] | None:
        """A KPI read as the share of a dataset's rows meeting a condition: (dataset,
        denominator condition, numerator condition). A ratio `agg(x where N) / agg(x where
        D)` over one dataset reads so too."""
        model = rule.model
        if rule.kind != "kpi":
            return None
        numerator = rule.expressions.get("numerator")
        if model.scoring == "proportion":
            return (model.dataset, None, numerator) if numerator is not None else None
        denominator = rule.expressions.get("denominator")
        if (
            model.scoring == "ratio"
            and isinstance(numerator, ir.Call)
            and isinstance(denominator, ir.Call)
            and numerator.over is not None
            and numerator.over == denominator.over
            and (numerator.name, numerator.args, numerator.distinct)
            == (denominator.name, denominator.args, denominator.distinct)
            and numerator.where is not None
            and numerator.correlated_link is None
        ):
            return numerator.over, denominator.where, numerator.where
        return None

    def _measured(self, rule: CompiledRule) -> np.ndarray:
        dataset = rule.model.dataset
        if rule.model.scoring == "ratio":
            view = self._proportion_view(rule)
            assert view is not None
            return self._mask(view[0], view[1])
        rows = self._mask(dataset, rule.expressions.get("initial_population"))
        if rule.model.scoring == "proportion":
            rows &= self._mask(dataset, rule.expressions.get("denominator"))
        exclusions = rule.expressions.get("denominator_exclusions")
        if exclusions is not None:
            rows &= ~self._mask(dataset, exclusions)
        return rows

    def _year_of_contract(self, rule: CompiledRule) -> np.ndarray:
        """The contract year (1, 2, …) of each row, for targets that fall year by year."""
        dataset = rule.model.dataset
        n = len(self.frames[dataset])
        if rule.date is None:
            return np.ones(n)
        dates = pd.to_datetime(self._eval(dataset, rule.date))
        days = (dates - self.t0).dt.days.to_numpy(dtype=float, na_value=0.0)
        return np.floor(np.maximum(days, 0) / 365.25) + 1

    def _reduction_target(self, rule: CompiledRule, threshold: ir.Reduction) -> np.ndarray:
        baseline = amount_value(threshold.baseline)
        years = self._year_of_contract(rule)
        if threshold.relative:
            return baseline * (1 - threshold.step / 100) ** years
        return baseline - threshold.step / 100 * years

    def _kpi(self, rule: CompiledRule) -> None:
        model = rule.model
        threshold = rule.threshold
        if model.scoring == "count" or threshold is None or model.monitoring_only:
            return  # counts follow from the volume; figures only are left as they come
        dataset = model.dataset
        view = self._proportion_view(rule)
        if model.scoring == "ratio" and view is None:
            return
        rng = self.rng
        b = self.breach
        if view is not None:
            dataset, _, numerator = view
            rows = self._measured(rule)
            n = len(rows)
            if isinstance(threshold, ir.Threshold) and amount_value(threshold.amount) > 1:
                return  # not a share after all
            if isinstance(threshold, ir.Reduction):  # a share that must fall: at most the target
                low_share = self._reduction_target(rule, threshold) * 0.8
                share = low_share + (1 - low_share) * b
            elif model.snapshot and dataset in self.census_of:
                share = self._snapshot_share(rule, dataset, threshold)
            else:
                low = self._in_force(rule, dataset, lambda t: amount_value(t.amount))
                high = self._in_force(
                    rule, dataset, lambda t: amount_value(t.upper if t.upper else t.amount)
                )
                kind = threshold.kind
                if kind in ("at least", "more than"):
                    share = np.full(n, (low + (1 - low) * 0.5) * (1 - b))
                elif kind in ("at most", "less than"):
                    share = np.full(n, low * 0.5 + (1 - low * 0.5) * b)
                else:  # exactly, between: the middle of the band, missed by the breaching rows
                    share = np.full(n, (low + high) / 2 * (1 - b))
            hit = rng.random(n) < share
            if model.snapshot and dataset in self.census_of:
                # every row first meets it as at its census (a recent arrival on the list), so
                # the rows made to fail miss by the solver's step, not by however long they
                # happened to wait: a long wait would count against many period ends
                self.satisfy(dataset, numerator, rows, True)
            # row expressions: changing the hit rows leaves the others' values as they were
            self._intend(dataset, numerator, lambda: self._measured(rule), hit, True)
            return
        observation = rule.expressions.get("observation")
        if observation is None:
            return
        rows = self._measured(rule)
        n = len(rows)
        index = self.frames[dataset].index
        fail = rows & (rng.random(n) < b)
        keep = rows & ~fail
        if isinstance(threshold, ir.Reduction):
            target = pd.Series(self._reduction_target(rule, threshold), index=index)
            self._solve(dataset, observation, "<=", target, keep)
            self._solve(dataset, observation, ">", target, fail)
            return
        unit = "hours" if isinstance(observation, ir.Call) and "hours" in observation.name else None
        low = self._in_force(rule, dataset, lambda t: amount_value(t.amount, unit))
        is_duration = observation.type is not None and observation.type.kind == "duration"
        share = self._share_of_total(rule, threshold, rows) if model.aggregate == "sum" else 1.0

        def series(value: float) -> pd.Series:
            if is_duration:
                return pd.Series(pd.to_timedelta(value, unit="h" if unit else "D"), index=index)
            return pd.Series(value * share, index=index, dtype="Float64")

        if (
            is_duration
            and model.aggregate in SKEWED_AGGREGATES
            and threshold.kind in ("at most", "less than")
        ):
            self._skewed_durations(rule, threshold, observation, rows)
            return
        if threshold.kind == "between" and threshold.upper is not None:
            high = amount_value(threshold.upper, unit)
            self._solve(dataset, observation, "between", (series(low), series(high)), keep)
            below = rng.random(n) < 0.5
            self._solve(dataset, observation, "<", series(low), fail & below)
            self._solve(dataset, observation, ">", series(high), fail & ~below)
            return
        op = _THRESHOLD_OP[threshold.kind]
        self._solve(dataset, observation, op, series(low), keep)
        self._solve(dataset, observation, _NEGATE[op], series(low), fail)

    def _skewed_durations(
        self, rule: CompiledRule, threshold: ir.Threshold, observation: ir.Node, rows: np.ndarray
    ) -> None:
        """Response times as they come: skewed to the right (lognormal), the mean, median or
        centile the rule judges a little inside its limit in most months and a little over
        it in a `breach_rate` share of months (the months of the dataset's date)."""
        dataset = rule.model.dataset
        rng = self.rng
        frame = self.frames[dataset]
        limit = self._in_force(rule, dataset, lambda t: amount_value(t.amount, "seconds"))
        anchor = self.anchor[dataset]
        if anchor is not None:
            months = pd.to_datetime(frame[anchor]).dt.to_period("M").astype(str).to_numpy()
        else:
            months = np.zeros(len(frame), dtype=int)
        labels, month = np.unique(months, return_inverse=True)
        factor = np.where(rng.random(len(labels)) < self.breach, 1.25, 0.7)[month]
        model = rule.model
        if model.aggregate == "mean":
            scale = np.exp(SKEW_SIGMA**2 / 2)  # a lognormal's mean over its median
        else:
            centile = 50.0 if model.aggregate == "median" else float(model.percentile)
            centile = min(max(centile, 1.0), 99.0)
            scale = np.exp(SKEW_SIGMA * NormalDist().inv_cdf(centile / 100))
        median = limit * factor / scale
        seconds = median * np.exp(SKEW_SIGMA * rng.standard_normal(len(frame)))
        values = pd.Series(pd.to_timedelta(np.round(seconds), unit="s"), index=frame.index)
        self._solve(dataset, observation, "=", values, rows)

    def _snapshot_share(
        self, rule: CompiledRule, dataset: str, threshold: ir.Threshold
    ) -> np.ndarray:
        """The share of a snapshot's rows to meet the numerator, by each row's census: well
        inside the threshold in force on that day, or (in a period end shaped to miss) as
        far outside it, so that a believable share of period ends miss."""
        low = self._in_force(rule, dataset, lambda t: amount_value(t.amount))
        missed = self._missed_at_census(dataset)
        if threshold.kind in ("at least", "more than"):
            share = np.where(missed, low - (1 - low) * 0.5 - 0.02, low + (1 - low) * 0.5)
        elif threshold.kind in ("at most", "less than"):
            share = np.where(missed, low + (1 - low) * 0.5 + 0.02, low * 0.5)
        else:  # exactly, between: the middle of the band, or well below it
            high = self._in_force(
                rule, dataset, lambda t: amount_value(t.upper if t.upper else t.amount)
            )
            share = np.where(missed, low * 0.5, (low + high) / 2)
        return np.clip(share, 0.0, 1.0)

    def _in_force(self, rule: CompiledRule, dataset: str, amount: Any) -> np.ndarray:
        """`amount(threshold)` for each row of `dataset`, from the threshold in force on the
        last day of the period the row is judged in (its census, for a snapshot), as the
        judge reads a dated threshold; the first value where that day is not known."""
        n = len(self.frames[dataset])
        values = np.full(n, amount(rule.threshold), dtype=float)
        if not rule.schedule or dataset != rule.model.dataset:
            return values
        days = self._judged_days(rule)
        known = ~np.isnat(days)
        for entry in rule.schedule:
            if not isinstance(entry.threshold, ir.Threshold):
                continue
            inside = known & (days >= np.datetime64(entry.start, "ns"))
            if entry.end is not None:
                inside &= days <= np.datetime64(entry.end, "ns")
            values[inside] = amount(entry.threshold)
        return values

    def _judged_days(self, rule: CompiledRule) -> np.ndarray:
        """The last day of the period each row is judged in (NaT where it has no date)."""
        dataset = rule.model.dataset
        n = len(self.frames[dataset])
        if getattr(rule.model, "snapshot", False) and dataset in self.census_of:
            return self._census_columns(dataset)[0]
        periods = self._periods(rule.period)
        if rule.date is None or not periods:
            return np.full(n, np.datetime64("NaT", "ns"))
        dates = pd.to_datetime(self._eval(dataset, rule.date)).to_numpy("datetime64[ns]")
        starts = np.array([first.to_datetime64() for first, _, _ in periods])
        ends = np.array(
            [pd.Timestamp(p.end if p else last).to_datetime64() for _, last, p in periods]
        )
        which = np.clip(np.searchsorted(starts, dates, side="right") - 1, 0, len(periods) - 1)
        return np.where(np.isnat(dates), np.datetime64("NaT", "ns"), ends[which])

    def _count(self, rule: CompiledRule) -> None:
        """A count of rows meeting a population, per period: move rows in or out of the
        population so the count meets its target (misses it, in a breach_rate share of
        periods). Volume targets beyond the rows there are stay as they are."""
        model = rule.model
        threshold = rule.threshold
        population = rule.expressions.get("initial_population")
        dataset = model.dataset
        if (
            population is None
            or model.distinct
            or model.monitoring_only
            or not isinstance(threshold, ir.Threshold)
            or threshold.by is not None
            or isinstance(threshold.amount, ir.Percent | ir.Duration)
        ):
            return
        rng = self.rng
        n = len(self.frames[dataset])
        dates = None
        if rule.date is not None and rule.period != "contract":
            dates = pd.to_datetime(self._eval(dataset, rule.date))
        for first, last, period in self._periods(rule.period):
            inside = np.ones(n, dtype=bool)
            if dates is not None:
                inside = ((dates >= first) & (dates <= last)).fillna(False).to_numpy(dtype=bool)
            low, high = self._count_band(threshold, first, last, period)
            kind = threshold.kind
            most = {
                "exactly": round(low),
                "at most": math.floor(low),
                "less than": math.ceil(low) - 1,
            }
            least = {
                "exactly": round(low),
                "at least": math.ceil(low),
                "more than": math.floor(low) + 1,
            }
            upper = math.floor(high) if kind == "between" and high is not None else most.get(kind)
            lower = math.ceil(low) if kind == "between" else least.get(kind)
            if rng.random() < self.breach:  # this period misses its target
                if upper is not None:
                    lower, upper = upper + 1, None
                elif lower is not None:
                    lower, upper = None, max(0, lower - 1)
            current = self._mask(dataset, population) & inside
            have = int(current.sum())
            if upper is not None and have > upper:
                drop = rng.permutation(np.flatnonzero(current))[: have - upper]
                self.satisfy(dataset, population, np.isin(np.arange(n), drop), False)
            if lower is not None and have < lower:
                spare = np.flatnonzero(inside & ~current)
                if len(spare) >= lower - have:  # a volume the data can hold
                    add = rng.permutation(spare)[: lower - have]
                    self.satisfy(dataset, population, np.isin(np.arange(n), add), True)

    def _share_of_total(
        self, rule: CompiledRule, threshold: ir.Threshold, rows: np.ndarray
    ) -> np.ndarray:
        """For a total (`sum`) judged per period: each row's share of its period's target,
        so the rows of a period add up to it."""
        dataset = rule.model.dataset
        periods = self._periods(rule.period)
        n = len(rows)
        if rule.date is None or not periods:
            return np.full(n, 1.0 / max(1, int(rows.sum())))
        dates = pd.to_datetime(self._eval(dataset, rule.date)).to_numpy("datetime64[ns]")
        starts = np.array([first.to_datetime64() for first, _, _ in periods])
        which = np.clip(np.searchsorted(starts, dates, side="right") - 1, 0, len(periods) - 1)
        counts = np.bincount(which[rows & ~np.isnat(dates)], minlength=len(periods))
        factors = np.array(
            [
                scale_factor(threshold.per, period) if threshold.per and period else 1.0
                for _, _, period in periods
            ]
        )
        return factors[which] / np.maximum(counts[which], 1)

    def _intend(
        self,
        dataset: str,
        node: ir.Node,
        rows_of: Any,
        hit: np.ndarray,
        want: bool,
    ) -> None:
        """Make `node` `want` on the rows `rows_of()` picks where `hit`, and the opposite on
        the others; remember it, since rules shaped later may disturb it (or change which
        rows are picked), and `_repair` puts it back."""
        rows = rows_of()
        # row expressions: changing some rows leaves the others' values as they were
        current = self._eval(dataset, node)
        self.satisfy(dataset, node, rows & hit, want, current=current)
        self.satisfy(dataset, node, rows & ~hit, not want, current=current)
        self.intents.append((dataset, node, rows_of, hit, want))

    def _repair(self) -> None:
        for dataset, node, rows_of, hit, want in self.intents:
            rows = rows_of()
            current = self._eval(dataset, node)
            self.satisfy(dataset, node, rows & hit, want, current=current)
            self.satisfy(dataset, node, rows & ~hit, not want, current=current)

    def _eligibility(self, rule: CompiledRule) -> None:
        dataset = rule.model.dataset
        block = self.blocks.get((dataset, rule.id))

        def considered() -> np.ndarray:
            rows = self._mask(dataset, rule.expressions.get("applies_to"))
            return rows & block if block is not None else rows

        criterion = rule.expressions.get("accept")
        passing = True
        if criterion is None:
            criterion, passing = rule.expressions.get("exclude"), False
        if criterion is None:
            return
        passes = self.rng.random(len(self.frames[dataset])) >= self.breach
        self._intend(dataset, criterion, considered, passes, passing)

    def _expand(self, dataset: str, node: ir.Node) -> ir.Node:
        """Follow the row's own derived fields to the expression behind them."""
        for _ in range(20):
            derived = self._derived_of(dataset, node)
            if derived is None:
                break
            node = derived
        return node

    def _child_aggregate(self, node: ir.Node) -> ir.Call | None:
        """`min(appointments.offered_on where …)` computed per row through a child's link,
        with a column of the child that can be set."""
        if (
            isinstance(node, ir.Call)
            and node.name in ("min", "max")
            and node.over is not None
            and node.correlated_link is not None
            and node.args
            and self._settable(node.over, node.args[0]) is not None
        ):
            return node
        return None

    def _shape(self, rule: CompiledRule, action: Any) -> None:
        """Shape the data for one rule; an expression this module cannot solve is skipped
        with a warning rather than stopping the whole run (the data stays valid)."""
        try:
            action(rule)
        except (TypeError, ValueError, KeyError, IndexError, ArithmeticError) as exc:
            warnings.warn(
                f"synth: data not shaped for rule `{rule.id}` ({type(exc).__name__}: {exc})",
                SynthWarning,
                stacklevel=2,
            )
