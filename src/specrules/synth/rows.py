"""How many rows each dataset gets and the row-by-row skeleton (keys, parents, anchor date)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from specrules.dsl import ir
from specrules.synth.common import _DTYPES, DATE_LAG_DAYS, _typed
from specrules.synth.values import (
    _ID_TOKENS,
    _ids,
    _is_event_dataset,
    _prefix,
    _time_of_day,
    _tokens,
    _uniform_days,
)
from specrules.verdicts import amount_value, scale_factor


class Rows:
    """Row counts and each row's skeleton (part of `generator._Synth`)."""

    def _size_and_anchor(self, name: str) -> tuple[int, np.ndarray | None, np.ndarray | None]:
        """Row count, parent row of each row (if any) and anchor dates, before sorting."""
        rng = self.rng
        layout = self.layout
        ds = self.spec.datasets[name]
        anchor = self.anchor[name]
        primary = layout.primary[name]
        if name == layout.root:
            n = self.rows
            return n, None, _uniform_days(rng, self.t0, self.t1, n) if anchor else None
        if primary is not None and primary[0] in self.frames:
            parent_name, link_field = primary
            parent = self.frames[parent_name]
            if ds.key_fields == (link_field,):  # one row per parent at most (an extension)
                counts = (rng.random(len(parent)) < 0.8).astype(int)
            else:
                mean = 3.0 if _is_event_dataset(name) else 1.0
                counts = rng.poisson(mean, len(parent))
                if name in self.slots:
                    least = len(self.slots[name])
                    counts = least + rng.poisson(max(mean - least, 0.5), len(parent))
            parent_rows = np.repeat(np.arange(len(parent)), counts)
            n = len(parent_rows)
            if anchor is None:
                return n, parent_rows, None
            parent_anchor = self.anchor[parent_name]
            if parent_anchor is None:
                return n, parent_rows, _uniform_days(rng, self.t0, self.t1, n)
            base = parent[parent_anchor].to_numpy("datetime64[ns]")[parent_rows]
            base = base.astype("datetime64[D]").astype("datetime64[ns]")
            lag = pd.to_timedelta(np.ceil(rng.exponential(DATE_LAG_DAYS, n)), unit="D")
            dates = base + lag.to_numpy()
            empty = np.isnat(dates)
            dates[empty] = _uniform_days(rng, self.t0, self.t1, int(empty.sum()))
            return n, parent_rows, dates
        if name in layout.lookup:
            n = max(3, min(60, self.rows // 50))
            return n, None, _uniform_days(rng, self.t0, self.t1, n) if anchor else None
        return self._blocks(name, anchor is not None)

    def _blocks(self, name: str, dated: bool) -> tuple[int, None, np.ndarray | None]:
        """A dataset that stands alone: a few rows per period for each rule on it.

        A count target sets how many (e.g. `at least 3 per quarter`: three or more a quarter,
        each kept with probability 1 - breach_rate); other rules get a few rows each, so
        there is something to measure; one background row a quarter joins them.
        """
        rng = self.rng
        pieces: list[tuple[str | None, pd.Timestamp, pd.Timestamp, int]] = []
        for rule in self.rules_on.get(name, []):
            model = rule.model
            if rule.kind == "kpi" and model.scoring == "ratio":
                continue
            for first, last, period in self._periods(rule.period):
                count = 2 if rule.period == "month" else 3
                threshold = rule.threshold
                if (
                    rule.kind == "kpi"
                    and model.scoring == "count"
                    and isinstance(threshold, ir.Threshold)
                    and not isinstance(threshold.amount, ir.Percent | ir.Duration)
                ):
                    count = self._count_for(threshold, first, last, period)
                pieces.append((model.id, first, last, count))
        for first, last, _ in self._periods("quarter"):
            pieces.append((None, first, last, 1))
        total = sum(p[3] for p in pieces)
        cap = max(self.rows, 200)
        if total > cap:  # a huge target on a side dataset: keep within the requested scale
            pieces = [(r, a, b, int(c * cap / total)) for r, a, b, c in pieces]
        owners: list[np.ndarray] = []
        dates: list[np.ndarray] = []
        rule_ids = [p[0] for p in pieces]
        for index, (_, first, last, count) in enumerate(pieces):
            owners.append(np.full(count, index))
            dates.append(_uniform_days(rng, first, last, count))
        owner = np.concatenate(owners) if owners else np.zeros(0, dtype=int)
        anchor = np.concatenate(dates) if dates else np.zeros(0, dtype="datetime64[ns]")
        order = np.argsort(anchor, kind="stable")
        owner, anchor = owner[order], anchor[order]
        for rule_id in dict.fromkeys(r for r in rule_ids if r is not None):
            wanted = [i for i, r in enumerate(rule_ids) if r == rule_id]
            self.blocks[(name, rule_id)] = np.isin(owner, wanted)
        self.block_datasets.add(name)
        return len(owner), None, anchor if dated else None

    def _count_band(
        self, threshold: ir.Threshold, first: pd.Timestamp, last: pd.Timestamp, period
    ) -> tuple[float, float | None]:
        """A count target for one period: pro rata for `per`, a share of a cumulative total."""
        low = amount_value(threshold.amount)
        high = amount_value(threshold.upper) if threshold.upper is not None else None
        if threshold.by is not None:  # cumulative: an even share of the total to the deadline
            deadline = pd.Timestamp(threshold.by)
            span = max(1, (deadline - self.t0).days + 1)
            overlap = max(0, (min(last, deadline) - first).days + 1)
            low, high = low * overlap / span, None if high is None else high * overlap / span
        elif threshold.per is not None and period is not None:
            factor = scale_factor(threshold.per, period)
            low, high = low * factor, None if high is None else high * factor
        return low, high

    def _count_for(
        self, threshold: ir.Threshold, first: pd.Timestamp, last: pd.Timestamp, period
    ) -> int:
        """Rows to make for a count target in one period (each kept with 1 - breach rate)."""
        rng = self.rng
        low, high = self._count_band(threshold, first, last, period)
        kind = threshold.kind
        if kind in ("at most", "less than"):
            base = int(low * 0.6)
            return base + int(rng.binomial(max(1, math.ceil(low * 0.8)), self.breach))
        if kind == "between" and high is not None:
            target = int(rng.integers(math.ceil(low), math.floor(high) + 1))
        elif kind == "exactly":
            target = round(low)
        else:
            extra = int(rng.integers(0, max(1, math.ceil(low * 0.2)) + 1))
            target = math.floor(low) + 1 + extra if kind == "more than" else math.ceil(low) + extra
        return int(rng.binomial(target, 1.0 - self.breach))

    def _generate(self, name: str) -> None:
        rng = self.rng
        ds = self.spec.datasets[name]
        fields = self.fields[name]
        n, parent_rows, anchor_dates = self._size_and_anchor(name)
        anchor = self.anchor[name]
        if anchor_dates is not None and name not in self.block_datasets:
            # ids rise with time, as a provider's system would number them
            order = np.argsort(anchor_dates, kind="stable")
            anchor_dates = anchor_dates[order]
            parent_rows = parent_rows[order] if parent_rows is not None else None
        columns: dict[str, Any] = {}
        keys = ds.key_fields
        if anchor is not None and anchor_dates is not None:
            values = anchor_dates
            if fields[anchor].type == "datetime":
                values = values + _time_of_day(rng, n)
            columns[anchor] = values
        self._date_chain(name, columns, n)
        primary = self.layout.primary[name]
        for field_name, spec in fields.items():
            if field_name in columns:
                continue
            if primary is not None and field_name == primary[1] and parent_rows is not None:
                parent_key = self.spec.datasets[primary[0]].key_fields[0]
                columns[field_name] = self.frames[primary[0]][parent_key].array.take(parent_rows)
            elif field_name in keys:
                columns[field_name] = self._key_values(name, field_name, n, len(keys) == 1)
            elif field_name in self.link_fields[name]:
                columns[field_name] = pd.array([pd.NA] * n, dtype=_DTYPES[spec.type])
            elif (
                spec.type == "text" and _tokens(field_name) & _ID_TOKENS and parent_rows is not None
            ):
                # one value per parent row: a client's interventions share the client's id
                width = max(6, len(str(n)))
                columns[field_name] = _ids(_prefix(field_name), parent_rows + 1, width)
            else:
                columns[field_name] = self._fresh(name, field_name, n)
        self.frames[name] = _typed(columns, fields, n)
        if len(keys) > 1:
            self.frames[name] = self.frames[name].drop_duplicates(list(keys)).reset_index(drop=True)
            for key in [k for k in self.blocks if k[0] == name]:
                self.blocks.pop(key)  # block rows moved; their rules fall back to pushes
            self.block_datasets.discard(name)
        self._fresh_derived = {k for k in self._fresh_derived if k[0] != name}
