"""Evaluating checked IR on the working frames, with derived columns kept fresh."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from specrules.dsl import ir
from specrules.engine.pandas.expressions import Context, evaluate_column, true_mask
from specrules.periods import contract_end
from specrules.spec.compiler import SNAPSHOT_NAMES


class Evaluation:
    """Evaluating checked IR on the working frames (part of `generator._Synth`)."""

    # Derived fields are computed lazily, one column at a time, and dropped when a column
    # they read changes: recomputing them all after every change is far too slow.
    def _reads(self, scope: str, node: ir.Node) -> set[tuple[str, str]]:
        """The (dataset, column) pairs a row expression of `scope` reads, links included."""
        found: set[tuple[str, str]] = set()
        if isinstance(node, ir.Reference) and node.dataset and node.column:
            found.add((node.dataset, node.column))
            if node.via_link is not None:  # the foreign key that finds the parent row
                found.add((scope, self.links[scope][node.via_link][1]))
            return found
        inner = scope
        if isinstance(node, ir.Call) and node.over:
            inner = node.over  # (rows are never added or removed, so a bare count reads nothing)
            if node.correlated_link is not None:
                found.add((node.over, self.links[node.over][node.correlated_link][1]))
        for child in ir.children(node):
            found |= self._reads(inner, child)
        return found

    def _dependencies(self) -> dict[tuple[str, str], set[tuple[str, str]]]:
        direct = {
            (name, column): self._reads(name, node)
            for name, derived in self.derived.items()
            for column, node in derived.items()
        }
        closed = {key: set(reads) for key, reads in direct.items()}
        changed = True
        while changed:  # a derived field also reads whatever the derived fields it uses read
            changed = False
            for reads in closed.values():
                extra: set[tuple[str, str]] = set()
                for dataset, column in reads:
                    if (dataset, column) in closed:
                        extra |= closed[(dataset, column)]
                if not extra <= reads:
                    reads |= extra
                    changed = True
        return closed

    def _changed(self, dataset: str, column: str) -> None:
        self._fresh_derived = {
            key
            for key in self._fresh_derived
            if (dataset, column) not in self._depends[key]
            and (dataset, "*") not in self._depends[key]
        }

    def _needed(self, node: ir.Node) -> list[tuple[str, str]]:
        return [
            (sub.dataset, sub.column)
            for sub in ir.walk(node)
            if isinstance(sub, ir.Reference)
            and sub.dataset
            and sub.column
            and (sub.column in self.derived.get(sub.dataset, {}) or sub.column.startswith("__"))
        ]

    def _rewrite(self, scope: str, node: ir.Node) -> ir.Node:
        """`node` with each link reference (`intervention.ended_on`) read from a column of
        the row's own dataset, filled by position: keys and links never change once made,
        so each link is resolved once rather than on every evaluation."""
        if isinstance(node, ir.Reference) and node.via_link is not None and node.column:
            name = f"__{node.via_link}__{node.column}"
            parent = node.dataset or ""
            foreign_key = self.links[scope][node.via_link][1]
            self._linked[(scope, name)] = (node.via_link, parent, node.column)
            self._depends[(scope, name)] = {
                (parent, node.column),
                (scope, foreign_key),
                *self._depends.get((parent, node.column), set()),
            }
            return dataclasses.replace(node, dataset=scope, column=name, via_link=None)
        inner = node.over if isinstance(node, ir.Call) and node.over else scope
        changes: dict[str, Any] = {}
        for item in dataclasses.fields(node):
            value = getattr(node, item.name)
            if isinstance(value, ir.Node):
                new = self._rewrite(inner, value)
                if new is not value:
                    changes[item.name] = new
            elif isinstance(value, tuple) and value and isinstance(value[0], ir.Node):
                items = tuple(self._rewrite(inner, v) for v in value)
                if any(a is not b for a, b in zip(items, value, strict=True)):
                    changes[item.name] = items
        return dataclasses.replace(node, **changes) if changes else node

    def _positions(self, scope: str, link: str) -> np.ndarray:
        if (scope, link) not in self._link_rows:
            parent, foreign_key = self.links[scope][link]
            keys = pd.Index(self.frames[parent][self.keys[parent]])
            self._link_rows[(scope, link)] = keys.get_indexer(self.frames[scope][foreign_key])
        return self._link_rows[(scope, link)]

    def _ensure(self, key: tuple[str, str], busy: set[tuple[str, str]]) -> None:
        """Bring a derived (or linked) column `key` up to date in the working frame."""
        if key in self._fresh_derived or key in busy:
            return
        busy.add(key)
        dataset, column = key
        if key in self._linked:
            link, parent, parent_column = self._linked[key]
            if parent_column in self.derived.get(parent, {}):
                self._ensure((parent, parent_column), busy)
            rows = self._positions(dataset, link)
            values = self.frames[parent][parent_column].array.take(rows, allow_fill=True)
            self.frames[dataset][column] = pd.Series(values, index=self.frames[dataset].index)
        else:
            node = self._rewritten(dataset, self.derived[dataset][column])
            for needed in self._needed(node):
                self._ensure(needed, busy)
            self.frames[dataset][column] = self._evaluate(dataset, node)
        self._fresh_derived.add(key)

    def _rewritten(self, scope: str, node: ir.Node) -> ir.Node:
        key = (scope, node)
        if key not in self._rewrites:
            self._rewrites[key] = self._rewrite(scope, node)
        return self._rewrites[key]

    def _evaluate(self, dataset: str, node: ir.Node) -> pd.Series:
        frames = self.frames
        frame = frames[dataset]
        if any(
            isinstance(sub, ir.Reference)
            and sub.column in SNAPSHOT_NAMES
            and sub.column not in frame
            for sub in ir.walk(node)
        ):
            if dataset in self.census_of:  # each row as at its own census (snapshots.py)
                end, start = self._census_columns(dataset, self.census_later)
                frame = frame.assign(period_end=end, period_start=start)
            else:
                end = pd.Timestamp(contract_end(self.spec.contract))
                frame = frame.assign(period_end=end, period_start=end.replace(day=1))
        ctx = Context(frames, dataset, frame, frames, self.keys, self.links)
        return evaluate_column(node, ctx)

    def _eval(self, dataset: str, node: ir.Node) -> pd.Series:
        node = self._rewritten(dataset, node)
        busy: set[tuple[str, str]] = set()
        for needed in self._needed(node):
            self._ensure(needed, busy)
        return self._evaluate(dataset, node)

    def _mask(self, dataset: str, node: ir.Node | None) -> np.ndarray:
        n = len(self.frames[dataset])
        if node is None:
            return np.ones(n, dtype=bool)
        return true_mask(self._eval(dataset, node), self.frames[dataset].index)
