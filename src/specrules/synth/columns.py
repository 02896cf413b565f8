"""Columns by type: fresh values (booleans, enumerations, numbers, text, keys),
writing values into rows, links and missing values."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from specrules.dsl import ir
from specrules.synth.common import MISSING_PER_BREACH
from specrules.synth.values import (
    _ID_TOKENS,
    _NUMBER_HINTS,
    _choose,
    _ids,
    _is_birth,
    _label,
    _prefix,
    _Range,
    _time_of_day,
    _tokens,
    _uniform_days,
)


class Columns:
    """Columns by type, and writing values into rows (part of `generator._Synth`)."""

    def _range(self, dataset: str, column: str) -> _Range | None:
        spec = self.fields[dataset][column]
        integer = spec.type == "integer"
        tokens = _tokens(column)
        for hint_tokens, hint in _NUMBER_HINTS:
            if tokens & hint_tokens:
                return dataclasses.replace(hint, integer=integer)
        literals = self.number_literals.get((dataset, column))
        if literals:
            small, big = min(literals), max(literals)
            low = small * 1.5 if small < 0 else small * 0.5
            high = big * 1.5 if big > 0 else max(abs(small), 1.0)
            decimals = 0 if integer else (3 if high <= 1 else 1)
            return _Range(low, high, integer, decimals)
        return None

    def _set(self, dataset: str, column: str, rows: np.ndarray, values: Any) -> None:
        """Write `values` (a full-length array or Series, or a scalar) into `rows`."""
        if not rows.any():
            return
        frame = self.frames[dataset]
        kind = self.fields[dataset][column].type
        if isinstance(values, pd.Series):
            values = values.array
        chosen = values[rows] if np.ndim(values) else values
        if kind in ("integer", "number"):
            chosen = pd.array(chosen if np.ndim(chosen) else [chosen] * int(rows.sum()))
            chosen = np.asarray(chosen.astype("Float64").to_numpy(float, na_value=np.nan))
            if kind == "integer":
                chosen = np.round(chosen)
        elif kind in ("date", "datetime"):
            stamps = pd.to_datetime(pd.Series(chosen if np.ndim(chosen) else [chosen] * rows.sum()))
            if kind == "date":
                stamps = stamps.dt.normalize()
            chosen = stamps.to_numpy("datetime64[ns]")
        elif kind == "boolean":
            chosen = (
                pd.array(chosen, dtype="boolean").to_numpy(bool, na_value=False)
                if np.ndim(chosen)
                else bool(chosen)
            )
        column_values = frame[column].copy()
        column_values[rows] = chosen
        frame[column] = column_values
        self._changed(dataset, column)

    def _blank(self, dataset: str, column: str, rows: np.ndarray) -> None:
        if rows.any():
            frame = self.frames[dataset]
            frame[column] = frame[column].mask(rows)
            self._changed(dataset, column)

    def _settable(self, dataset: str, node: ir.Node) -> str | None:
        """The column a reference names, if synthesis may change it on this dataset's rows."""
        if (
            isinstance(node, ir.Reference)
            and node.via_link is None
            and node.dataset == dataset
            and node.column in self.fields[dataset]
            and node.column not in self.spec.datasets[dataset].key_fields
            and node.column not in self.link_fields[dataset]
        ):
            return node.column
        return None

    def _derived_of(self, dataset: str, node: ir.Node) -> ir.Node | None:
        if isinstance(node, ir.Reference) and node.via_link is None and node.dataset == dataset:
            return self.derived[dataset].get(node.column or "")
        return None

    def _fresh(self, dataset: str, column: str, n: int) -> np.ndarray:
        """Values for a column drawn without context (types, name hints and literals)."""
        rng = self.rng
        spec = self.fields[dataset][column]
        kind = spec.type
        if kind == "boolean":
            return rng.random(n) < rng.uniform(0.25, 0.85)
        if kind == "enumeration":
            values = list(spec.values or [])
            weights = rng.dirichlet(np.full(len(values), 3.0))
            return _choose(values, rng.choice(len(values), size=n, p=weights))
        if kind in ("date", "datetime"):
            days = _uniform_days(rng, self.t0, self.t1, n)
            if _is_birth(column):
                days = days - pd.to_timedelta(rng.integers(18 * 365, 90 * 365, n), unit="D")
            return days + _time_of_day(rng, n) if kind == "datetime" else days
        if kind in ("integer", "number"):
            hint = self._range(dataset, column)
            if hint is None:
                if kind == "integer":
                    return rng.poisson(4.0, n).astype(float)
                return np.round(rng.lognormal(2.0, 0.5, n), 1)
            x = hint.low + (hint.high - hint.low) * rng.beta(2.0, 2.0, n)
            return np.round(x) if kind == "integer" else np.round(x, hint.decimals)
        # text
        literals = self.text_literals.get((dataset, column))
        if literals:
            pool_values = [*literals, f"Other {_label(column).lower()}"]
            weights = np.array([3.0] * len(literals) + [1.0])
            return _choose(
                pool_values, rng.choice(len(pool_values), size=n, p=weights / weights.sum())
            )
        if _tokens(column) & _ID_TOKENS:
            pool = max(1, int(n * 0.8))
            return _ids(_prefix(column), rng.integers(1, pool + 1, n), max(6, len(str(pool))))
        letters = [f"{_label(column)} {c}" for c in "ABCDEFGH"]
        return _choose(letters, rng.integers(0, len(letters), n))

    def _key_values(self, name: str, field_name: str, n: int, single: bool) -> np.ndarray:
        rng = self.rng
        spec = self.fields[name][field_name]
        if spec.type == "text":
            prefix = self.prefixes[name] if single else _prefix(field_name)
            return _ids(prefix, np.arange(1, n + 1), max(6, len(str(n))))
        if spec.type in ("integer", "number"):
            return np.arange(1, n + 1, dtype=float)
        if spec.type in ("date", "datetime"):
            days = max(1, (self.t1 - self.t0).days + 1)
            picked = np.sort(rng.choice(days, size=min(n, days), replace=False))
            values = (self.t0 + pd.to_timedelta(picked, unit="D")).to_numpy("datetime64[ns]")
            return np.resize(values, n)  # more rows than days: duplicates are dropped later
        return self._fresh(name, field_name, n)

    def _fill_links(self) -> None:
        """Links that are not a row's parent: any key of the linked dataset (self links: an
        earlier row, sometimes)."""
        rng = self.rng
        for name, links in self.layout.secondary.items():
            frame = self.frames[name]
            n = len(frame)
            for parent_name, field_name in links:
                parent = self.frames.get(parent_name)
                if parent is None or not n:
                    continue
                keys = parent[self.spec.datasets[parent_name].key_fields[0]].to_numpy()
                if not len(keys):
                    continue
                rows = np.ones(n, dtype=bool)
                if parent_name == name:
                    earlier = np.floor(rng.random(n) * np.arange(n)).astype(int)
                    values = keys[earlier]
                    if self.fields[name][field_name].nullable:
                        rows &= rng.random(n) < 0.15
                        rows[0] = False
                else:
                    values = keys[rng.integers(0, len(keys), n)]
                self._set(name, field_name, rows, values)
                if self.fields[name][field_name].nullable:
                    self._blank(name, field_name, ~rows)

    def _missing_values(self) -> None:
        rate = MISSING_PER_BREACH * self.breach
        if rate <= 0:
            return
        for name, frame in self.frames.items():
            ds = self.spec.datasets[name]
            protected = {*ds.key_fields, *self.link_fields[name], self.anchor[name]}
            protected |= self._snapshot_columns(name)  # a missing clock stop: still waiting
            for field_name, spec in self.fields[name].items():
                if spec.nullable and field_name not in protected:
                    self._blank(name, field_name, self.rng.random(len(frame)) < rate)
