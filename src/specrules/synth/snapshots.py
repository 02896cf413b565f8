"""Snapshot rules (judged as at each period end): every row is shaped as at a period end of
its own, its census, so each period end of the data has a list shaped for it.

A waiting list judged at each month end (RTT incomplete pathways, DM01) is the rows open at
that day. Shaping them all as at one day (the contract's last) leaves the other month ends to
chance: rows made open at the end and never closed pile up, and nearly every month breaches.
Here each row draws a census (one period end, evenly over the contract), the rule's
expressions read `period_end` and `period_start` as that row's census, and after shaping each
row is closed before the next period end where the solver can do it without changing what
the row was shaped to be at its census. A `breach_rate` share of period ends is shaped to
miss the rule's threshold, each against the value in force on that day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from specrules.spec.compiler import CompiledRule

CLOSING_ROUNDS = 12  # each round closes a third or more of the rows still open (the solver picks


class Snapshots:
    """Censuses for snapshot rules (part of `generator._Synth`)."""

    def _censuses(self, rules: list[CompiledRule]) -> None:
        """A census (a period end of the first snapshot rule's period) for each row of every
        dataset a snapshot rule reads, and which period ends miss the threshold."""
        for rule in rules:
            dataset = rule.model.dataset
            if not getattr(rule.model, "snapshot", False) or dataset in self.census_of:
                continue
            periods = self._periods(rule.period)
            if not periods:
                continue
            which = self.rng.integers(0, len(periods), len(self.frames[dataset]))
            self.census_of[dataset] = (periods, which)
            self.missed_periods[dataset] = self.rng.random(len(periods)) < self.breach

    def _census_columns(self, dataset: str, later: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Each row's census (`period_end`) and the start of its period (`period_start`),
        `later` periods on (the last period stays the last)."""
        periods, which = self.census_of[dataset]
        at = np.minimum(which + later, len(periods) - 1)
        starts = np.array([pd.Timestamp(p.start).to_datetime64() for _, _, p in periods])
        ends = np.array([last.to_datetime64() for _, last, _ in periods])
        return ends[at].astype("datetime64[ns]"), starts[at].astype("datetime64[ns]")

    def _missed_at_census(self, dataset: str) -> np.ndarray:
        """Whether each row's census is one of the period ends shaped to miss."""
        _, which = self.census_of[dataset]
        return self.missed_periods[dataset][which]

    def _close_after_census(self, rule: CompiledRule) -> None:
        """Rows open at their census are taken off the list by the next period end, where the
        solver can do it without changing the row's figures at its census (rows it cannot
        close stay open: a list always holds some long waits)."""
        dataset = rule.model.dataset
        population = rule.expressions.get("initial_population")
        if population is None or dataset not in self.census_of:
            return
        periods, which = self.census_of[dataset]
        watched = [
            node
            for node in [population, *rule.expressions.values()]
            if node.type is not None and node.type.kind == "boolean"
        ]
        fields = list(self.fields[dataset])
        for _ in range(CLOSING_ROUNDS):
            before = [self._mask(dataset, node) for node in watched]
            on_list = before[0] & (which < len(periods) - 1)
            self.census_later = 1
            try:
                still_open = on_list & self._mask(dataset, population)
                if not still_open.any():
                    return
                saved = self.frames[dataset][fields].copy()
                self.satisfy(dataset, population, still_open, False)
            finally:
                self.census_later = 0
            for node, old in zip(watched, before, strict=True):  # as it was at the census
                now = self._mask(dataset, node)
                self.satisfy(dataset, node, still_open & old & ~now, True)
                self.satisfy(dataset, node, still_open & ~old & now, False)
            changed = np.zeros(len(still_open), dtype=bool)
            for node, old in zip(watched, before, strict=True):
                changed |= self._mask(dataset, node) != old
            if changed.any():  # undone where the row is still not what it was at its census
                frame = self.frames[dataset]
                for column in fields:
                    frame[column] = frame[column].where(~changed, saved[column])
                    self._changed(dataset, column)

    def _placed_by_snapshots_only(self, dataset: str) -> bool:
        """A dataset only snapshot rules read: its rows may start before the contract (a
        pathway already waiting on its first day), as the engines count them."""
        rules = self.rules_on.get(dataset, [])
        return bool(rules) and all(getattr(r.model, "snapshot", False) for r in rules)

    def _snapshot_columns(self, dataset: str) -> set[str]:
        """The columns a snapshot's population reads: no values are blanked there at random,
        since a missing one (a clock that never stopped) keeps the row on every later list."""
        found: set[str] = set()
        for rule in self.rules_on.get(dataset, []):
            population = rule.expressions.get("initial_population")
            if getattr(rule.model, "snapshot", False) and population is not None:
                found |= {
                    column for ds, column in self._reads(dataset, population) if ds == dataset
                }
        return found
