"""Solving a boolean expression for the columns it names, so rows pass or fail as intended."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from specrules.dsl import ir
from specrules.engine.pandas.expressions import true_mask
from specrules.synth.common import _FLIP, _GAP_FUNCTIONS, _NEGATE, _compare, _literal_value
from specrules.synth.values import _label, _sample_number


def _is_instant(node: ir.Node) -> bool:
    return node.type is not None and node.type.kind in ("date", "datetime")


class Solver:
    """Solving conditions for the columns they name (part of `generator._Synth`)."""

    def satisfy(
        self,
        dataset: str,
        node: ir.Node,
        rows: np.ndarray,
        want: bool,
        depth: int = 0,
        current: pd.Series | None = None,
    ) -> None:
        """Change columns so that `node` is `want` on `rows` (best effort; rows already
        right are left alone). `current` is the node's value, if the caller has it."""
        if depth > 12 or not rows.any():
            return
        if current is None:
            current = self._eval(dataset, node)
        right = (current == want).fillna(False).to_numpy(dtype=bool)
        need = rows & ~right
        if not need.any():
            return
        deeper = depth + 1
        if isinstance(node, ir.Reference):
            column = self._settable(dataset, node)
            if column is not None and self.fields[dataset][column].type == "boolean":
                self._set(dataset, column, need, want)
            elif (derived := self._derived_of(dataset, node)) is not None:
                self.satisfy(dataset, derived, need, want, deeper)
            elif node.via_link is not None and node.column:
                parent, ref, parent_rows, _ = self._up(dataset, node, need)
                self.satisfy(parent, ref, parent_rows, want, deeper)
        elif isinstance(node, ir.Not):
            self.satisfy(dataset, node.operand, need, not want, deeper)
        elif isinstance(node, ir.And | ir.Or):
            if isinstance(node, ir.And) == want:  # every part must be `want`
                self.satisfy(dataset, node.left, need, want, deeper)
                self.satisfy(dataset, node.right, need, want, deeper)
            else:  # one part is enough: share the rows between the parts, then mop up
                left = self.rng.random(len(need)) < 0.5
                self.satisfy(dataset, node.left, need & left, want, deeper)
                self.satisfy(dataset, node.right, need & ~left, want, deeper)
                for part in (node.left, node.right):
                    still = rows & ~(self._eval(dataset, node) == want).fillna(False).to_numpy(
                        dtype=bool
                    )
                    self.satisfy(dataset, part, still, want, deeper)
        elif isinstance(node, ir.IsMissing):
            self._missing(dataset, node.operand, need, want != node.negated, deeper)
        elif isinstance(node, ir.Compare):
            op = node.op if want else _NEGATE[node.op]
            # the right side too where the left could not do it all (a count of children that
            # cannot reach the bound)
            if not self._solve(dataset, node.left, op, self._eval(dataset, node.right), need):
                self._solve(dataset, node.right, _FLIP[op], self._eval(dataset, node.left), need)
        elif isinstance(node, ir.InList):
            self._in_list(dataset, node, need, want != node.negated, deeper)
        elif isinstance(node, ir.Between):
            self._between(dataset, node, need, want, deeper)
        elif isinstance(node, ir.IfThenElse):
            chosen = self._mask(dataset, node.condition)
            self.satisfy(dataset, node.then, need & chosen, want, deeper)
            self.satisfy(dataset, node.otherwise, need & ~chosen, want, deeper)

    def _up(
        self, dataset: str, node: ir.Reference, rows: np.ndarray, values: pd.Series | None = None
    ) -> tuple[str, ir.Reference, np.ndarray, pd.Series | None]:
        """Through the link a reference follows: the parent rows of `rows`, the reference
        as the parent reads it, and `values` carried to the parent rows (a parent with
        several children takes its last child's)."""
        parent = node.dataset or ""
        positions = self._positions(dataset, node.via_link or "")
        chosen = rows & (positions >= 0)
        size = len(self.frames[parent])
        parent_rows = np.zeros(size, dtype=bool)
        parent_rows[positions[chosen]] = True
        ref = ir.Reference((node.column or "",), dataset=parent, column=node.column, type=node.type)
        carried = None
        if values is not None:
            picked = values[chosen]
            picked.index = positions[chosen]
            picked = picked[~picked.index.duplicated(keep="last")]
            carried = picked.reindex(pd.RangeIndex(size))
        return parent, ref, parent_rows, carried

    def _missing(
        self, dataset: str, operand: ir.Node, rows: np.ndarray, missing: bool, depth: int
    ) -> None:
        column = self._settable(dataset, operand)
        if column is None:
            operand = self._expand(dataset, operand)
            if isinstance(operand, ir.Call) and operand.over and operand.correlated_link:
                self._present(operand, rows, not missing)
            elif self._settable(dataset, operand) is not None:  # a derived alias of a field
                self._missing(dataset, operand, rows, missing, depth)
            return
        if missing:
            if self.fields[dataset][column].nullable:
                self._blank(dataset, column, rows)
            return
        present = self.frames[dataset][column].dropna().to_numpy()
        n = len(rows)
        if len(present):  # draw from the values the column already has
            values = present[self.rng.integers(0, len(present), n)]
        else:
            values = self._fresh(dataset, column, n)
        self._set(dataset, column, rows, values)

    def _present(self, call: ir.Call, rows: np.ndarray, present: bool) -> None:
        """A per-row aggregate with (or without) a value: a child that counts, or none."""
        child, family, _ = self._family(call, rows)
        if not present:
            if call.where is not None:
                self.satisfy(child, call.where, family, False)
            return
        chosen = family & (self._rank_in_slot(call) == 0)
        if call.where is not None:
            self.satisfy(child, call.where, chosen, True)
        if call.args:
            self._missing(child, call.args[0], chosen, False, 0)

    def _in_list(
        self, dataset: str, node: ir.InList, rows: np.ndarray, inside: bool, depth: int
    ) -> None:
        column = self._settable(dataset, node.operand)
        items = [i for i in node.items.items if not isinstance(i, ir.ListOf)]
        if column is None or not items:
            return
        spec = self.fields[dataset][column]
        values = [_literal_value(item) for item in items]
        n = len(rows)
        if inside:
            chosen = np.array(values, dtype=object)[self.rng.integers(0, len(values), n)]
        elif spec.type == "enumeration":
            others = [v for v in spec.values or [] if v not in values]
            if not others:
                return
            chosen = np.array(others, dtype=object)[self.rng.integers(0, len(others), n)]
        elif spec.type == "text":
            chosen = np.full(n, f"Other {_label(column).lower()}", dtype=object)
        elif spec.type in ("integer", "number"):
            chosen = np.full(n, max(float(v) for v in values) + 1.0)
        else:
            return
        self._set(dataset, column, rows, chosen)

    def _between(
        self, dataset: str, node: ir.Between, rows: np.ndarray, want: bool, depth: int
    ) -> None:
        low, high = self._eval(dataset, node.low), self._eval(dataset, node.high)
        if want:
            if not self._solve(dataset, node.operand, "between", (low, high), rows):
                self.satisfy(dataset, _compare(">=", node.operand, node.low), rows, True, depth)
                self.satisfy(dataset, _compare("<=", node.operand, node.high), rows, True, depth)
            return
        below = self.rng.random(len(rows)) < 0.5
        self._solve(dataset, node.operand, "<", low, rows & below)
        self._solve(dataset, node.operand, ">", high, rows & ~below)

    def _solve(
        self,
        dataset: str,
        target: ir.Node,
        op: str,
        bound: pd.Series | tuple[pd.Series, pd.Series],
        rows: np.ndarray,
        avoid: frozenset[tuple] = frozenset(),
    ) -> bool:
        """Make `target op bound` true on `rows` by changing a value `target` depends on
        (not one in `avoid`: those appear on both sides of an operator, as `weight` in
        `(weight - weight_end) / weight`).

        Returns False when nothing here can be changed (for instance a computed count).
        """
        if self._atom(target) in avoid:
            return False
        bounds = bound if isinstance(bound, tuple) else (bound,)
        for b in bounds:
            rows = rows & b.notna().to_numpy(dtype=bool)
        column = self._settable(dataset, target)
        if column is not None:
            if rows.any():
                self._set(dataset, column, rows, self._sample(dataset, column, op, bound))
            return True
        if (derived := self._derived_of(dataset, target)) is not None:
            return self._solve(dataset, derived, op, bound, rows, avoid)
        if isinstance(target, ir.Reference) and target.via_link is not None and target.column:
            carried = []  # the bound, carried to each child's parent row
            for b in bounds:
                parent, ref, parent_rows, up = self._up(dataset, target, rows, b)
                carried.append(up)
            if not carried or carried[0] is None:
                return False
            parent_bound = tuple(carried) if isinstance(bound, tuple) else carried[0]
            return self._solve(parent, ref, op, parent_bound, parent_rows)
        if isinstance(target, ir.Call) and target.over and target.correlated_link:
            return self._solve_aggregate(dataset, target, op, bound, rows)
        if isinstance(target, ir.Call) and target.name in ("hour", "weekday") and target.args:
            return self._solve_clock(dataset, target, op, bound, rows)
        if isinstance(target, ir.Call) and len(target.args) == 2 and target.over is None:
            if target.name in _GAP_FUNCTIONS:
                return self._solve_gap(dataset, target, op, bound, rows)
            if target.name == "pct_change":
                return self._solve_change(dataset, target, op, bound, rows)
        if isinstance(target, ir.Arithmetic):
            shared = self._atoms(dataset, target.left) & self._atoms(dataset, target.right)
            return self._solve_arithmetic(dataset, target, op, bound, rows, avoid | shared)
        return False

    @staticmethod
    def _atom(node: ir.Node) -> tuple | None:
        """A value solving can change: a column (own or a parent's), or a per-row aggregate."""
        if isinstance(node, ir.Reference) and node.column:
            return ("column", node.via_link, node.column)
        if isinstance(node, ir.Call) and node.over:
            return ("aggregate", node)
        return None

    def _atoms(self, dataset: str, node: ir.Node) -> frozenset[tuple]:
        """The values an expression is computed from, through the row's derived fields."""
        found: set[tuple] = set()
        stack = [node]
        while stack:
            sub = stack.pop()
            if (derived := self._derived_of(dataset, sub)) is not None:
                stack.append(derived)
                continue
            atom = self._atom(sub)
            if atom is not None:
                found.add(atom)
            if not (isinstance(sub, ir.Call) and sub.over):  # an aggregate is one value
                stack.extend(ir.children(sub))
        return frozenset(found)

    def _solve_arithmetic(
        self,
        dataset: str,
        target: ir.Arithmetic,
        op: str,
        bound: pd.Series | tuple[pd.Series, pd.Series],
        rows: np.ndarray,
        avoid: frozenset[tuple],
    ) -> bool:
        """Move the other operand across: L + R op B is L op B - R (or R op B - L); a
        product or quotient only where the other operand is positive, so `op` holds."""
        left, right = target.left, target.right

        def value(node: ir.Node) -> pd.Series:
            return self._eval(dataset, node)

        def positive(values: pd.Series) -> np.ndarray:
            return (values.astype("Float64") > 0).fillna(False).to_numpy(dtype=bool)

        def moved(how, flip: bool = False):
            """The bound with the other operand moved across (a band turns round on a flip)."""
            if not isinstance(bound, tuple):
                return how(bound)
            low, high = how(bound[0]), how(bound[1])
            return (high, low) if flip else (low, high)

        flipped = op if op == "between" else _FLIP[op]
        if target.op == "-" and _is_instant(left) and _is_instant(right):
            # `end - start`: a length of time, placed as a gap (never a negative one)
            def seconds(b: pd.Series) -> pd.Series:
                return pd.to_timedelta(b).dt.total_seconds()

            in_seconds = moved(seconds)
            return self._place_gap(dataset, right, left, "seconds_between", op, in_seconds, rows)
        try:
            if target.op == "+":
                return self._solve(
                    dataset, left, op, moved(lambda b: b - value(right)), rows, avoid
                ) or self._solve(dataset, right, op, moved(lambda b: b - value(left)), rows, avoid)
            if target.op == "-":
                return self._solve(
                    dataset, left, op, moved(lambda b: b + value(right)), rows, avoid
                ) or self._solve(
                    dataset, right, flipped, moved(lambda b: value(left) - b, True), rows, avoid
                )
            divisor = value(right)
            if target.op == "/":
                return self._solve(
                    dataset, left, op, moved(lambda b: b * divisor), rows & positive(divisor), avoid
                )
            factor = value(left)
            return self._solve(
                dataset, left, op, moved(lambda b: b / divisor), rows & positive(divisor), avoid
            ) or self._solve(
                dataset, right, op, moved(lambda b: b / factor), rows & positive(factor), avoid
            )
        except (TypeError, ValueError):
            return False

    def _sample(self, dataset: str, column: str, op: str, bound) -> Any:
        spec = self.fields[dataset][column]
        kind = spec.type
        rng = self.rng
        if kind in ("integer", "number"):
            hint = self._range(dataset, column)
            low, high = (hint.low, hint.high) if hint else (None, None)
            if isinstance(bound, tuple):
                first = bound[0].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
                last = bound[1].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
                return _sample_number(rng, "between", first, low, high, kind == "integer", last)
            b = bound.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            values = _sample_number(rng, op, b, low, high, kind == "integer")
            return values if kind == "integer" else np.round(values, 4)
        if kind in ("date", "datetime"):
            return self._sample_date(kind, op, bound)
        b = bound.to_numpy() if not isinstance(bound, tuple) else bound[0].to_numpy()
        if kind == "boolean":
            truth = pd.array(b, dtype="boolean").fillna(False).to_numpy(dtype=bool)
            return truth if op == "=" else ~truth
        if op == "=":
            return b
        if op != "!=":
            return b  # no order on text: the nearest we can do is the value itself
        if kind == "enumeration":
            choices = np.array(spec.values or [], dtype=object)
        else:
            pool = self.text_literals.get((dataset, column), [])
            choices = np.array([*pool, f"Other {_label(column).lower()}"], dtype=object)
        picked = choices[rng.integers(0, len(choices), len(b))]
        clash = picked == b
        if clash.any() and len(choices) > 1:  # step to the next choice: never the same value
            index = {v: i for i, v in enumerate(choices)}
            nxt = [choices[(index.get(v, -1) + 1) % len(choices)] for v in picked[clash]]
            picked[clash] = nxt
        return picked

    def _family(self, call: ir.Call, rows: np.ndarray) -> tuple[str, np.ndarray, np.ndarray]:
        """For a per-row aggregate over a child dataset: the child, its rows whose parent
        row is in `rows`, and each child row's parent row."""
        child = call.over or ""
        positions = self._positions(child, call.correlated_link or "")
        parent_row = np.where(positions >= 0, positions, 0)
        return child, (positions >= 0) & rows[parent_row], parent_row

    def _solve_aggregate(self, dataset: str, call: ir.Call, op: str, bound, rows) -> bool:
        """`count(children where W) > 0`, `min(children.x where W) <= b` and the like,
        computed per row: make the parent's own children (one per condition) fit."""
        child, family, parent_row = self._family(call, rows)
        if not family.any():
            return True
        where = call.where
        if call.name == "count" and not isinstance(bound, tuple):
            b = bound.astype("Float64").to_numpy(dtype=float, na_value=0.0)[parent_row]
            wanted = {">": b + 1, ">=": b, "=": b, "<": b - 1, "<=": b, "!=": b + 1}[op]
            wanted = np.maximum(np.ceil(wanted), 0).astype(int)
            chosen = family & (self._rank_in_slot(call) < wanted)
            available = np.bincount(parent_row[family], minlength=len(rows))
            reachable = bool((available[parent_row] >= wanted)[family].all())
            if where is not None:
                self.satisfy(child, where, chosen, True)
                if op in ("<", "<=", "="):
                    self.satisfy(child, where, family & ~chosen, False)
            if call.args:
                self._missing(child, call.args[0], chosen, False, 0)
            return reachable
        if call.name not in ("min", "max", "sum", "mean", "median") or not call.args:
            return False
        chosen = family & (self._rank_in_slot(call) == 0)
        if where is not None:
            self.satisfy(child, where, chosen, True)
            qualifying = family & self._mask(child, where)
        else:
            qualifying = family
        bounds = bound if isinstance(bound, tuple) else (bound,)
        index = self.frames[child].index
        carried = [pd.Series(b.array.take(parent_row), index=index) for b in bounds]
        if call.name == "sum" and op in ("<", "<=") and not isinstance(bound, tuple):
            # a total below the bound: each of the parent's rows takes its share of it
            per_parent = np.bincount(parent_row[qualifying], minlength=len(bounds[0]))
            carried[0] = carried[0] / np.maximum(per_parent[parent_row], 1)
        child_bound = tuple(carried) if isinstance(bound, tuple) else carried[0]
        return self._solve(child, call.args[0], op, child_bound, qualifying)

    def _rank_in_slot(self, call: ir.Call) -> np.ndarray:
        """Each child row's place among its parent's children, counted from the slot of
        this aggregate's condition: the row at 0 is the one kept for the condition."""
        child = call.over or ""
        positions = self._positions(child, call.correlated_link or "")
        rank = pd.Series(positions).groupby(positions).cumcount().to_numpy()
        slots = self.slots.get(child, [None])
        slot = slots.index(call.where) if call.where in slots else 0
        count = np.bincount(positions[positions >= 0], minlength=1 + max(0, positions.max()))
        size = np.maximum(count[np.where(positions >= 0, positions, 0)], 1)
        return (rank - slot) % size

    def _push(
        self,
        dataset: str,
        node: ir.Node,
        share: float,
        up: bool = True,
        within: np.ndarray | None = None,
    ) -> None:
        """At least (`up`) or at most `share` of the rows (`within`) make `node` true.

        Rows that an earlier population relies on are changed last, so one rule's
        population does not erode another's.
        """
        value = self._eval(dataset, node)
        current = true_mask(value, value.index)
        n = len(current)
        scope = np.ones(n, dtype=bool) if within is None else within
        total = int(scope.sum())
        if not total:
            return
        have = int((current & scope).sum()) if up else int((~current & scope).sum())
        wanted = math.ceil(share * total) if up else math.ceil((1 - share) * total)
        if have < wanted:
            claimed = self.claimed.get(dataset, np.zeros(n, dtype=bool))
            wrong = scope & (~current if up else current)
            free, taken = np.flatnonzero(wrong & ~claimed), np.flatnonzero(wrong & claimed)
            count = wanted - have
            chosen = self.rng.permutation(free)[:count]
            if len(chosen) < count:
                chosen = np.concatenate(
                    [chosen, self.rng.permutation(taken)[: count - len(chosen)]]
                )
            rows = np.zeros(n, dtype=bool)
            rows[chosen] = True
            self.satisfy(dataset, node, rows, up, current=value)
            current = current | rows
        if up:
            self.claimed[dataset] = self.claimed.get(dataset, np.zeros(n, dtype=bool)) | current
