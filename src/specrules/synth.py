"""Synthetic activity data for any spec, derived only from what the spec declares.

`synthesize(spec, rows, seed, breach_rate)` returns one DataFrame per declared dataset;
`specrules synth` writes them as `<dataset>.csv` (or `.parquet`). Nothing here knows any
particular spec: every choice comes from the declared datasets and the compiled rules.

- **Shape**: datasets are generated parents first (topological order of `links`). The main
  dataset (the top of the largest family of linked datasets) gets `rows` rows; each child
  row belongs to an existing parent row (a few children per parent); datasets that stand
  alone (evidence items, indicators) get a few rows per period, enough for the count
  targets that are set on them.
- **Values** follow the declared types, with field-name hints (age, bmi, minutes, cost …)
  for plausible ranges and the literals that rules compare a field with (a text field
  compared with "GP" takes values like "GP"). Keys are unique; dates fall inside the
  contract, a child's after its parent's, a row's later dates after its earlier ones.
- **Rules shape the data** through the checked IR: a response time's end is placed after
  its start, mostly within the limit (evaluated per row with the engine's clock
  arithmetic); eligibility criteria, KPI numerators and continuous observations are
  *solved* for the columns they name (a boolean set, a number or date moved to the right
  side of a comparison, an enumeration value chosen), so rows pass or fail as intended;
  populations are made common enough to measure and exclusions rare.
- **`breach_rate`** is the share of rows made to fail each rule (late, failing a criterion,
  outside the KPI's target), and scales the share of missing values in nullable fields.

Everything is whole-column numpy/pandas work, drawn from one seeded `numpy` Generator, so a
seed always gives the same data.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from specrules.api import Spec, load
from specrules.dsl import ir
from specrules.dsl.types import BOOLEAN
from specrules.engine.calendar import working_day_calendar
from specrules.engine.pandas_backend import Context, evaluate_column, shift_date, true_mask
from specrules.errors import SpecificationError
from specrules.periods import Period, contract_end, periods_within
from specrules.spec import models
from specrules.spec.compiler import CompiledRule, Plan
from specrules.verdicts import amount_value, scale_factor

DEFAULT_ROWS = 1000
DEFAULT_BREACH_RATE = 0.1
# Populations are made common enough to measure, not dominant: many rules may each pick a
# different value of the same field (intervention_type = "weight management", …).
APPLIES_SHARE = 0.7  # applies_to: the rows a standard is about (accepted referrals)
POPULATION_SHARE = 0.25  # a KPI's initial population, at least this share of the dataset
DENOMINATOR_SHARE = 0.5  # a proportion's denominator, within its initial population
EXCLUSION_SHARE = 0.05  # denominator exclusions and exceptions are rare
MISSING_PER_BREACH = 0.1  # share of missing values in a nullable field = this × breach rate
LATE_MISSING_SHARE = 0.25  # of the rows made to breach a clock: no end event at all
DATE_LAG_DAYS = 10.0  # mean gap between successive dates of a row, and parent → child
DATETIME_LAG_HOURS = 20.0

Format = Literal["csv", "parquet"]


class SynthError(SpecificationError):
    """Synthetic data cannot be made or written (bad arguments, unwritable folder)."""


class SynthWarning(UserWarning):
    """A rule whose expressions synthesis could not shape the data for."""


# ------------------------------------------------------------------ name hints
@dataclass(frozen=True)
class _Range:
    low: float
    high: float
    integer: bool
    decimals: int = 1


# First match wins, so the more specific hints come first (weight_change_pct is a share).
_NUMBER_HINTS: list[tuple[frozenset[str], _Range]] = [
    (
        frozenset({"pct", "percent", "percentage", "rate", "share", "prevalence", "proportion"}),
        _Range(0, 1, False, 3),
    ),
    (frozenset({"change", "loss", "gain", "difference", "diff"}), _Range(-5, 10, False, 1)),
    (frozenset({"bmi"}), _Range(18.5, 45, False, 1)),
    (frozenset({"systolic"}), _Range(100, 180, True)),
    (frozenset({"diastolic"}), _Range(60, 110, True)),
    (frozenset({"age"}), _Range(16, 90, True)),
    (frozenset({"weight", "kg"}), _Range(55, 140, False, 1)),
    (frozenset({"height", "cm"}), _Range(150, 195, False, 0)),
    (frozenset({"units"}), _Range(0, 50, True)),
    (frozenset({"minutes", "mins", "duration"}), _Range(10, 90, True)),
    (frozenset({"hours"}), _Range(0.5, 8, False, 1)),
    (frozenset({"score", "scale", "wemwbs", "swemwbs", "phq", "gad"}), _Range(0, 40, True)),
    (
        frozenset(
            {"amount", "cost", "costs", "price", "spend", "fee", "fees", "budget", "gbp"}
            | {"pounds", "income", "payment", "invoice", "paid"}
        ),
        _Range(20, 5000, False, 2),
    ),
    (frozenset({"fte"}), _Range(0.2, 1.0, False, 2)),
    (
        frozenset({"count", "number", "num", "sessions", "contacts", "attended", "visits"})
        | {"appointments", "times", "days", "weeks", "people", "members", "conversations"},
        _Range(0, 12, True),
    ),
]
_ID_TOKENS = frozenset({"id", "ref", "reference", "code", "number", "no", "nhs", "identifier"})
_BIRTH_TOKENS = frozenset({"birth", "dob", "born"})
_EVENT_TOKENS = frozenset(
    {"contact", "appointment", "session", "attendance", "visit", "call", "encounter"}
    | {"activity", "activities", "conversation", "review", "event"}
)


def _tokens(name: str) -> set[str]:
    return set(name.lower().split("_"))


def _is_birth(name: str) -> bool:
    return bool(_tokens(name) & _BIRTH_TOKENS)


def _is_event_dataset(name: str) -> bool:
    return any(t.rstrip("s") in _EVENT_TOKENS or t in _EVENT_TOKENS for t in _tokens(name))


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


_NEGATE = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_THRESHOLD_OP = {
    "at least": ">=",
    "more than": ">",
    "at most": "<=",
    "less than": "<",
    "exactly": "=",
}
_GAP_FUNCTIONS = {"days_between", "working_days_between", "hours_between", "age_at"}


# ------------------------------------------------------------------ sampling helpers
def _sample_number(
    rng: np.random.Generator,
    op: str,
    bound: np.ndarray,
    low: float | None,
    high: float | None,
    integer: bool,
    upper: np.ndarray | None = None,
) -> np.ndarray:
    """Values on the side of `bound` that `op` asks for (op `between`: up to `upper`).

    A field's natural range (`low`..`high`) is used where it lies on the right side, so
    `age >= 18` gives adult ages rather than ages just over 18.
    """
    n = len(bound)
    u = rng.random(n)
    b = bound.astype(float)
    width = np.where(b != 0, np.abs(b) * 0.3, 1.0)
    if integer:
        width = np.maximum(width, 3.0)
    hi = np.full(n, np.inf if high is None else high)
    lo = np.full(n, -np.inf if low is None else low)
    if op == "between":
        assert upper is not None
        top = upper.astype(float)
        x = b + u * (top - b)
        return np.clip(np.round(x), np.ceil(b), np.floor(top)) if integer else x
    if op in (">", ">="):
        top = np.where(np.isfinite(hi) & (hi > b), hi, b + width)
        if integer:
            start = np.floor(b) + 1 if op == ">" else np.ceil(b)
            top = np.maximum(np.floor(top), start)
            return start + np.floor(u * (top - start + 1))
        start = b + (0.02 * (top - b) if op == ">" else 0.0)
        return start + u * (top - start)
    if op in ("<", "<="):
        fallback = np.where(b > 0, np.maximum(0.0, b - width), b - width)
        bottom = np.where(np.isfinite(lo) & (lo < b), lo, fallback)
        if integer:
            end = np.ceil(b) - 1 if op == "<" else np.floor(b)
            bottom = np.minimum(np.ceil(bottom), end)
            return bottom + np.floor(u * (end - bottom + 1))
        end = b - (0.02 * (b - bottom) if op == "<" else 0.0)
        return bottom + u * (end - bottom)
    if op == "=":
        return np.round(b) if integer else b
    # "!=": a nearby different value, on the side that stays in range
    step = np.maximum(1.0, np.round(width * u)) if integer else width * (0.1 + 0.9 * u)
    up = (rng.random(n) < 0.5) | (b - step < lo) | ((b >= 0) & (b - step < 0))
    return np.where(up, b + step, b - step)


def _uniform_days(rng: np.random.Generator, first: pd.Timestamp, last: pd.Timestamp, n: int):
    days = max(1, (last.normalize() - first.normalize()).days + 1)
    offsets = rng.integers(0, days, n)
    return (first.normalize() + pd.to_timedelta(offsets, unit="D")).to_numpy("datetime64[ns]")


def _time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    # Office hours mostly: 08:00 to 17:55 in five-minute steps.
    return pd.to_timedelta(8 * 60 + 5 * rng.integers(0, 120, n), unit="min").to_numpy()


# Text columns are built as Arrow strings directly: making Python strings first is slow.
def _ids(prefix: str, numbers: np.ndarray, width: int) -> pd.api.extensions.ExtensionArray:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers.astype(np.int64)), pa.string()), width, "0")
    return pd.arrays.ArrowStringArray(pc.binary_join_element_wise(prefix, digits, ""))


def _choose(pool: list[str], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Strings `pool[code]` for each code."""
    strings = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(pool))
    return pd.arrays.ArrowStringArray(strings.cast(pa.string()))


def _prefix(name: str) -> str:
    letters = "".join(t for t in name.split("_") if t and t not in _ID_TOKENS) or name
    return letters[:3].upper()


# ------------------------------------------------------------------ layout
@dataclass
class _Layout:
    order: list[str]
    root: str
    primary: dict[str, tuple[str, str] | None]  # dataset -> (parent dataset, link field)
    secondary: dict[str, list[tuple[str, str]]]  # other links, filled with any parent key
    lookup: set[str]  # tops whose children all hang from another family: kept small


def _volumes(plan: Plan) -> dict[str, float]:
    """Rows a year each dataset's count targets imply (12,000 champions ≫ 3 case studies a
    quarter): among unlinked datasets, the largest is the main one."""
    per_year = {"year": 1.0, "quarter": 4.0, "month": 12.0, "week": 52.0}
    found: dict[str, float] = {}
    for rule in plan.rules:
        threshold = rule.threshold
        if (
            rule.kind == "kpi"
            and rule.model.scoring == "count"
            and isinstance(threshold, ir.Threshold)
            and isinstance(threshold.amount, ir.Number)
        ):
            amount = float(threshold.amount.value) * per_year.get(threshold.per or "year", 1.0)
            dataset = rule.model.dataset
            found[dataset] = max(found.get(dataset, 0.0), amount)
    return found


def _layout(spec: models.Spec, rule_counts: dict[str, int], volumes: dict[str, float]) -> _Layout:
    names = list(spec.datasets)
    parents = {
        n: [(link.dataset, link.field) for link in spec.datasets[n].links.values()] for n in names
    }
    outside = {n: [p for p in parents[n] if p[0] != n] for n in names}
    order: list[str] = []
    while len(order) < len(names):
        ready = [n for n in names if n not in order and all(p in order for p, _ in outside[n])]
        # a cycle of links: take the first remaining dataset; its open links get any key
        order.append(ready[0] if ready else next(n for n in names if n not in order))
    position = {n: i for i, n in enumerate(order)}
    depth: dict[str, int] = {}
    for n in order:
        earlier = [depth[p] for p, _ in outside[n] if position[p] < position[n]]
        depth[n] = 1 + max(earlier) if earlier else 0
    children = {n: [c for c in names if any(p == n for p, _ in outside[c])] for n in names}

    def descendants(n: str) -> set[str]:
        found: set[str] = set()
        stack = list(children[n])
        while stack:
            c = stack.pop()
            if c not in found:
                found.add(c)
                stack.extend(children[c])
        return found

    tops = [n for n in names if not outside[n]] or [order[0]]
    root = max(
        tops,
        key=lambda n: (
            len(descendants(n)),
            volumes.get(n, 0.0),
            rule_counts.get(n, 0),
            -names.index(n),
        ),
    )
    family = {root} | descendants(root)
    primary: dict[str, tuple[str, str] | None] = {}
    secondary: dict[str, list[tuple[str, str]]] = {}
    for n in order:
        before = [p for p in outside[n] if position[p[0]] < position[n]]
        chosen = (
            max(before, key=lambda p: (p[0] in family, depth[p[0]], -before.index(p)))
            if before and n != root
            else None
        )
        primary[n] = chosen
        secondary[n] = [p for p in parents[n] if p != chosen]
    lookup = {
        n
        for n in tops
        if n != root and children[n] and all(primary[c] and primary[c][0] != n for c in children[n])
    }
    return _Layout(order, root, primary, secondary, lookup)


# ------------------------------------------------------------------ the generator
class _Synth:
    def __init__(self, plan: Plan, rows: int, seed: int, breach_rate: float):
        self.plan = plan
        self.spec = plan.spec
        self.rows = rows
        self.breach = breach_rate
        self.rng = np.random.default_rng(seed)
        contract = self.spec.contract
        self.t0 = pd.Timestamp(contract.start)
        self.t1 = pd.Timestamp(contract.end)
        # dates a rule sets (a policy's expiry, a late end) may run into the extension years
        self.t_last = pd.Timestamp(contract_end(contract)) + pd.Timedelta(hours=23, minutes=59)
        self.claimed: dict[str, np.ndarray] = {}  # rows earlier populations rely on
        self.intents: list[tuple[str, ir.Node, Any, np.ndarray, bool]] = []
        self.frames: dict[str, pd.DataFrame] = {}
        # derived columns live in the working frames; these are up to date
        self._fresh_derived: set[tuple[str, str]] = set()
        self._linked: dict[tuple[str, str], tuple[str, str, str]] = {}  # column -> link, parent
        self._link_rows: dict[tuple[str, str], np.ndarray] = {}  # (dataset, link) -> parent rows
        self._rewrites: dict[tuple[str, ir.Node], ir.Node] = {}
        self.fields = {
            name: {f: ds.field_spec(f) for f in ds.fields}
            for name, ds in self.spec.datasets.items()
        }
        self.derived = {name: dict(cd.derived) for name, cd in plan.datasets.items()}
        self.keys = {n: d.schema.key[0] for n, d in plan.datasets.items() if len(d.schema.key) == 1}
        self.links = {
            n: {name: (link.dataset, link.column) for name, link in d.schema.links.items()}
            for n, d in plan.datasets.items()
        }
        self._depends = self._dependencies()
        self.link_fields = {
            n: {link.field for link in ds.links.values()} for n, ds in self.spec.datasets.items()
        }
        self.rules_on: dict[str, list[CompiledRule]] = {n: [] for n in self.spec.datasets}
        for rule in plan.rules:
            self.rules_on.setdefault(rule.model.dataset, []).append(rule)
        self.layout = _layout(
            self.spec, {n: len(r) for n, r in self.rules_on.items()}, _volumes(plan)
        )
        # Aggregates computed per row over a child dataset (min(appointments.offered_on where
        # …)): each distinct condition gets its own child row of every parent, so every
        # parent row has at least that many children.
        self.slots: dict[str, list[ir.Node | None]] = {}
        for node in self._expressions():
            for sub in ir.walk(node):
                if isinstance(sub, ir.Call) and sub.over and sub.correlated_link:
                    conditions = self.slots.setdefault(sub.over, [])
                    if sub.where not in conditions:
                        conditions.append(sub.where)
        self.anchor = {n: self._anchor_field(n) for n in self.spec.datasets}
        self.text_literals, self.number_literals = self._literals()
        self.blocks: dict[tuple[str, str], np.ndarray] = {}  # (dataset, rule id) -> its rows
        self.block_datasets: set[str] = set()
        prefixes: dict[str, str] = {}
        for name in self.spec.datasets:
            prefix = _prefix(name)
            while prefix in prefixes.values():
                prefix = prefix[:3] + str(len(prefixes))
            prefixes[name] = prefix
        self.prefixes = prefixes

    # ------------------------------------------------------------ what the spec says
    def _anchor_field(self, name: str) -> str | None:
        """The date field that places a row in time: the dataset's `date` where it is one."""
        compiled = self.plan.datasets[name]
        keys = self.spec.datasets[name].key_fields
        # a date that is (part of) the key must stay unique, so it is generated as a key
        fields = {f: s for f, s in self.fields[name].items() if f not in keys}
        if compiled.date is not None:
            for sub in ir.walk(compiled.date):
                if (
                    isinstance(sub, ir.Reference)
                    and sub.via_link is None
                    and sub.column in fields
                    and fields[sub.column].type in ("date", "datetime")
                ):
                    return sub.column
        for field_name, spec in fields.items():
            if spec.type in ("date", "datetime") and not _is_birth(field_name):
                return field_name
        return None

    def _expressions(self) -> list[ir.Node]:
        nodes: list[ir.Node] = []
        for compiled in self.plan.datasets.values():
            nodes.extend(node for _, node in compiled.derived)
            if compiled.date is not None:
                nodes.append(compiled.date)
        for rule in self.plan.rules:
            nodes.extend(rule.expressions.values())
        return nodes

    def _literals(self) -> tuple[dict, dict]:
        """Literal values that rules compare each field with: they show what values look like."""
        texts: dict[tuple[str, str], list[str]] = {}
        numbers: dict[tuple[str, str], list[float]] = {}

        def note(ref: ir.Node, literals: list[ir.Node]) -> None:
            if not isinstance(ref, ir.Reference) or ref.dataset is None or ref.column is None:
                return
            key = (ref.dataset, ref.column)
            for lit in literals:
                if isinstance(lit, ir.Text):
                    texts.setdefault(key, [])
                    if lit.value not in texts[key]:
                        texts[key].append(lit.value)
                elif isinstance(lit, ir.Number | ir.Percent | ir.Money):
                    value = lit.fraction if isinstance(lit, ir.Percent) else float(lit.value)
                    numbers.setdefault(key, []).append(value)

        for node in self._expressions():
            for sub in ir.walk(node):
                if isinstance(sub, ir.Compare):
                    note(sub.left, [sub.right])
                    note(sub.right, [sub.left])
                elif isinstance(sub, ir.InList):
                    note(sub.operand, list(sub.items.items))
                elif isinstance(sub, ir.Between):
                    note(sub.operand, [sub.low, sub.high])
        for rule in self.plan.rules:  # a continuous KPI's target says what its values are like
            observation = rule.expressions.get("observation")
            threshold = rule.threshold
            if isinstance(observation, ir.Reference) and threshold is not None:
                if isinstance(threshold, ir.Reduction):
                    amounts = [threshold.baseline]
                else:
                    amounts = [threshold.amount, *([threshold.upper] if threshold.upper else [])]
                note(observation, amounts)
        return texts, numbers

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

    def _periods(self, kind: str) -> list[tuple[pd.Timestamp, pd.Timestamp, Period | None]]:
        contract = self.spec.contract
        if kind == "contract":
            return [(self.t0, self.t1, None)]
        outer = Period(contract.start, contract.end, "span", "all")
        found = []
        for period in periods_within(outer, kind, contract):
            first = max(self.t0, pd.Timestamp(period.start))
            last = min(self.t1, pd.Timestamp(period.end))
            if first <= last:
                found.append((first, last, period))
        return found

    # ------------------------------------------------------------ evaluating
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
        ctx = Context(frames, dataset, frames[dataset], frames, self.keys, self.links)
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

    # ------------------------------------------------------------ writing columns
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

    # ------------------------------------------------------------ base values
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

    def _date_chain(self, name: str, columns: dict[str, Any], n: int) -> None:
        """Dates of a row in the order declared: later fields after earlier ones."""
        rng = self.rng
        fields = self.fields[name]
        dated = [
            f
            for f, s in fields.items()
            if s.type in ("date", "datetime")
            and not _is_birth(f)
            and f not in self.spec.datasets[name].key_fields
        ]
        anchor = self.anchor[name]
        if not dated:
            return
        if anchor not in columns:
            anchor = dated[0]
            columns[anchor] = self._fresh(name, anchor, n)
        at = dated.index(anchor) if anchor in dated else 0

        def lag(field_name: str) -> np.ndarray:
            if fields[field_name].type == "datetime":
                hours = rng.exponential(DATETIME_LAG_HOURS, n)
                return pd.to_timedelta(np.round(hours * 60), unit="min").to_numpy()
            return pd.to_timedelta(np.ceil(rng.exponential(DATE_LAG_DAYS, n)), unit="D").to_numpy()

        previous = np.asarray(columns[anchor], dtype="datetime64[ns]")
        for field_name in dated[at + 1 :]:
            previous = previous + lag(field_name)
            columns[field_name] = previous
        following = np.asarray(columns[anchor], dtype="datetime64[ns]")
        for field_name in reversed(dated[:at]):
            following = following - lag(field_name)
            columns[field_name] = following
        for field_name, spec in fields.items():
            if _is_birth(field_name) and spec.type in ("date", "datetime"):
                base = np.asarray(columns[anchor], dtype="datetime64[ns]")
                years = rng.integers(18 * 365, 90 * 365, n)
                columns[field_name] = base - pd.to_timedelta(years, unit="D").to_numpy()

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

    # ------------------------------------------------------------ solving expressions
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

    def _sample_date(self, kind: str, op: str, bound) -> np.ndarray:
        rng = self.rng
        if isinstance(bound, tuple):
            first = pd.to_datetime(bound[0]).to_numpy("datetime64[ns]")
            last = pd.to_datetime(bound[1]).to_numpy("datetime64[ns]")
            span = (last - first).astype("timedelta64[ns]").astype(float)
            return first + (rng.random(len(first)) * span).astype("timedelta64[ns]")
        b = pd.to_datetime(bound)
        n = len(b)
        if kind == "date":
            floor, ceil = b.dt.floor("D"), b.dt.ceil("D")
            steps = pd.to_timedelta(rng.integers(0, 29, n), unit="D")
            strict = pd.to_timedelta(rng.integers(1, 29, n), unit="D")
            pick = {
                ">=": ceil + steps,
                ">": floor + strict,
                "<=": floor - steps,
                "<": ceil - strict,
                "=": floor,
                "!=": floor + strict,
            }[op]
            if op == "=" and (b != floor).any():  # a date cannot equal a time of day
                pick = floor
            return pick.to_numpy("datetime64[ns]")
        minutes = pd.to_timedelta(rng.integers(0, 3 * 24 * 60, n), unit="min")
        strict = pd.to_timedelta(rng.integers(1, 3 * 24 * 60, n), unit="min")
        pick = {
            ">=": b + minutes,
            ">": b + strict,
            "<=": b - minutes,
            "<": b - strict,
            "=": b,
            "!=": b + strict,
        }[op]
        return pick.to_numpy("datetime64[ns]")

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

    def _solve_clock(self, dataset: str, call: ir.Call, op: str, bound, rows) -> bool:
        """`hour(start_at) >= 8`, `weekday(day) <= 5`: move the time of day, or the day."""
        column = self._settable(dataset, call.args[0])
        if column is None or isinstance(bound, tuple):
            return False
        b = bound.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        current = pd.to_datetime(self.frames[dataset][column])
        day = current.dt.normalize()
        if call.name == "hour":
            if self.fields[dataset][column].type != "datetime":
                return False
            hours = _sample_number(self.rng, op, b, 0.0, 23.9, False)
            minutes = np.clip(np.round(hours * 12) * 5, 0, 24 * 60 - 5)  # five-minute steps
            if op in (">", "<"):  # rounding must not land on the bound itself
                minutes = np.where(minutes / 60 == b, minutes + (5 if op == ">" else -5), minutes)
            values = day + pd.to_timedelta(minutes, unit="min")
        else:
            wanted = _sample_number(self.rng, op, b, 1.0, 7.0, True)
            weekday = current.dt.day_of_week.to_numpy(dtype=float, na_value=np.nan) + 1
            values = current + pd.to_timedelta(np.nan_to_num(wanted - weekday), unit="D")
        rows = rows & current.notna().to_numpy(dtype=bool)
        self._set(dataset, column, rows, values)
        return True

    def _solve_gap(self, dataset: str, call: ir.Call, op: str, bound, rows: np.ndarray) -> bool:
        """`days_between(a, b) <= 14` and friends: place b after a (or a before b)."""
        first, second = call.args
        settable_second = self._settable(dataset, second)
        settable_first = self._settable(dataset, first)
        if settable_second is None and settable_first is None:
            return False
        integer = call.name != "hours_between"
        if isinstance(bound, tuple):
            low = bound[0].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            high = bound[1].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            gap = _sample_number(self.rng, "between", low, 0.0, None, integer, high)
        else:
            b = bound.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            gap = _sample_number(self.rng, op, b, 0.0, None, integer)
        gap = np.nan_to_num(gap)
        sign = 1 if settable_second is not None else -1
        column = settable_second if settable_second is not None else settable_first
        base = pd.to_datetime(self._eval(dataset, first if sign == 1 else second))
        rows = rows & base.notna().to_numpy(dtype=bool)
        if not rows.any():
            return True
        origin = base.to_numpy("datetime64[ns]")
        if call.name == "working_days_between":
            days = origin.astype("datetime64[D]")
            safe = np.where(np.isnat(days), np.datetime64("2000-01-03"), days)
            # counted as the engine counts: working days after the first date up to and
            # including the second, so a start on a holiday rolls back, not forward
            steps = (sign * gap).astype(int)
            moved = np.busday_offset(safe, steps, roll="backward", busdaycal=working_day_calendar())
            values = np.where(steps == 0, safe, moved).astype("datetime64[ns]")
        elif call.name == "age_at":
            # mid-way through the year of age, so whole years come out exact
            years = gap + 0.05 + 0.9 * self.rng.random(len(gap))
            delta = pd.to_timedelta(np.round(years * 365.25), unit="D").to_numpy()
            values = origin + sign * delta
        else:
            unit = "h" if call.name == "hours_between" else "D"
            values = origin + sign * pd.to_timedelta(gap, unit=unit).to_numpy()
        if call.name != "hours_between" and self.fields[dataset][column].type == "datetime":
            # whole days apart: a time of day that keeps the later event after the earlier
            since_midnight = origin - origin.astype("datetime64[D]").astype("datetime64[ns]")
            left = np.timedelta64(24 * 60 - 1, "m") - since_midnight
            u = self.rng.random(len(origin))
            at = since_midnight + (left * u if sign == 1 else -since_midnight * u)
            day = values.astype("datetime64[D]").astype("datetime64[ns]")
            values = day + at.astype("timedelta64[m]").astype("timedelta64[ns]")
        self._set(dataset, column, rows, values)
        return True

    def _solve_change(self, dataset: str, call: ir.Call, op: str, bound, rows) -> bool:
        """`pct_change(before, after) <= -5%`: set after = before × (1 + change)."""
        before, after = call.args
        column = self._settable(dataset, after) or self._settable(dataset, before)
        if column is None or isinstance(bound, tuple):
            return False
        b = bound.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        change = _sample_number(self.rng, op, b, -0.5, 0.5, False)
        if self._settable(dataset, after) == column:
            other = self._eval(dataset, before).astype("Float64").to_numpy(float, na_value=np.nan)
            values = other * (1 + change)
        else:
            other = self._eval(dataset, after).astype("Float64").to_numpy(float, na_value=np.nan)
            values = other / (1 + change)
        rows = rows & np.isfinite(values) & (other != 0)
        self._set(dataset, column, rows, values)
        return True

    # ------------------------------------------------------------ rules
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
            else:
                low = amount_value(threshold.amount)
                high = amount_value(threshold.upper) if threshold.upper is not None else low
                kind = threshold.kind
                if kind in ("at least", "more than"):
                    share = np.full(n, (low + (1 - low) * 0.5) * (1 - b))
                elif kind in ("at most", "less than"):
                    share = np.full(n, low * 0.5 + (1 - low * 0.5) * b)
                else:  # exactly, between: the middle of the band, missed by the breaching rows
                    share = np.full(n, (low + high) / 2 * (1 - b))
            hit = rng.random(n) < share
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
        low = amount_value(threshold.amount, unit)
        is_duration = observation.type is not None and observation.type.kind == "duration"
        share = self._share_of_total(rule, threshold, rows) if model.aggregate == "sum" else 1.0

        def series(value: float) -> pd.Series:
            if is_duration:
                return pd.Series(pd.to_timedelta(value, unit="h" if unit else "D"), index=index)
            return pd.Series(value * share, index=index, dtype="Float64")

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

    def _response_time(self, rule: CompiledRule) -> None:
        """End events after the start: mostly within the limit, late for the breaching rows."""
        model = rule.model
        dataset = model.dataset
        exprs = rule.expressions
        if not {"start", "end", "limit"} <= set(exprs):
            return
        end_node = self._expand(dataset, exprs["end"])
        column = self._settable(dataset, end_node)
        aggregate = self._child_aggregate(end_node) if column is None else None
        if column is None and aggregate is None:
            return  # the end is computed some other way (or a parent's): leave it as it comes
        end_type = (end_node.args[0] if aggregate else end_node).type
        rng = self.rng
        considered = self._mask(dataset, exprs.get("applies_to"))
        start = pd.to_datetime(self._eval(dataset, exprs["start"]))
        limit_node = exprs["limit"]
        limit = self._eval(dataset, limit_node)
        kind = limit_node.type.duration_kind if limit_node.type else "time"
        # the deadline exactly as engine.rules computes it
        if model.clock == "hours":
            deadline = start + limit if kind == "time" else shift_date(start, limit, kind, 1)
        else:
            day = start.dt.normalize()
            deadline = day + limit if kind == "time" else shift_date(day, limit, kind, 1)
            deadline = deadline.dt.normalize() if kind != "time" else deadline
        deadline = pd.to_datetime(deadline)
        rows = considered & start.notna().to_numpy(dtype=bool) & deadline.notna().to_numpy(bool)
        n = len(rows)
        late = rows & (rng.random(n) < self.breach)
        on_time = rows & ~late
        span = (deadline - start).clip(lower=pd.Timedelta(0))
        within = start + span * rng.beta(2.0, 3.0, n)
        if model.clock == "hours":
            over = (deadline - start) * rng.uniform(0.1, 1.0, n) + pd.Timedelta(minutes=1)
        else:
            over = pd.to_timedelta(1 + rng.geometric(0.25, n), unit="D")
        values = within.where(on_time, deadline + over)
        if end_type is not None and end_type.kind == "datetime" and model.clock != "hours":
            # a time of day on the end date, never before the start on the same day
            days = values.dt.normalize() + pd.to_timedelta(_time_of_day(rng, n))
            values = days.where(days >= start, values)
        overflow = (values > self.t_last).fillna(False).to_numpy(dtype=bool)
        values = values.where(~overflow, self.t_last)
        # some clocks never stop; a late one after the contract has ended, too
        never = late & ((rng.random(n) < LATE_MISSING_SHARE) | overflow)
        if column is not None:
            if not self.fields[dataset][column].nullable:
                never[:] = False
            self._move_dates(dataset, column, rows & ~never, values)
            self._blank(dataset, column, never)
        elif aggregate is not None:
            self._child_end(aggregate, rows, values, never)

    def _child_end(
        self, call: ir.Call, rows: np.ndarray, values: pd.Series, never: np.ndarray
    ) -> None:
        """Place a parent row's end event on its children: one child at the end date (and
        passing the aggregate's `where`), the others after it (before it, for `max`)."""
        child = call.over or ""
        column = self._settable(child, call.args[0]) or ""
        positions = self._positions(child, call.correlated_link or "")
        linked = positions >= 0
        parent_row = np.where(linked, positions, 0)
        if call.where is None:
            never = np.zeros(len(rows), dtype=bool)  # no way to stop the clock: just late
        targeted = linked & (rows & ~never)[parent_row]
        chosen = np.flatnonzero(targeted)
        _, first_at = np.unique(positions[chosen], return_index=True)
        first = np.zeros(len(positions), dtype=bool)
        first[chosen[first_at]] = True
        target = values.to_numpy("datetime64[ns]")[parent_row]
        lag = pd.to_timedelta(self.rng.integers(0, 29, len(positions)), unit="D").to_numpy()
        others = target + lag if call.name == "min" else target - lag
        self._move_dates(child, column, targeted, np.where(first, target, others))
        if call.where is not None:
            self.satisfy(child, call.where, first, True)
            self.satisfy(child, call.where, linked & never[parent_row], False)

    def _move_dates(self, dataset: str, column: str, rows: np.ndarray, values: Any) -> None:
        """Set a date, moving the row's later dates (declared after it) by as much, so the
        gaps between them, which other rules may rely on, are kept."""
        before = self.frames[dataset][column].to_numpy("datetime64[ns]").copy()
        self._set(dataset, column, rows, values)
        delta = self.frames[dataset][column].to_numpy("datetime64[ns]") - before
        moved = rows & ~np.isnat(delta)
        fields = list(self.fields[dataset])
        keys = self.spec.datasets[dataset].key_fields
        for later in fields[fields.index(column) + 1 :]:
            spec = self.fields[dataset][later]
            if (
                spec.type in ("date", "datetime")
                and later not in keys
                and later != self.anchor[dataset]
                and not _is_birth(later)
            ):
                current = self.frames[dataset][later].to_numpy("datetime64[ns]")
                self._set(dataset, later, moved & ~np.isnat(current), current + delta)

    # ------------------------------------------------------------ finishing
    def _missing_values(self) -> None:
        rate = MISSING_PER_BREACH * self.breach
        if rate <= 0:
            return
        for name, frame in self.frames.items():
            ds = self.spec.datasets[name]
            protected = {*ds.key_fields, *self.link_fields[name], self.anchor[name]}
            for field_name, spec in self.fields[name].items():
                if spec.nullable and field_name not in protected:
                    self._blank(name, field_name, self.rng.random(len(frame)) < rate)

    def _clip_dates(self) -> None:
        """Dates inside the contract: the date that places a row in a period within its
        start and end, the others possibly in the extension years. A row with a date
        outside has all its dates moved by whole weeks together, keeping the gaps between
        them, the weekday and the time of day that rules may check; what still falls
        outside is clipped."""
        week = np.timedelta64(7, "D").astype("timedelta64[ns]")
        end = self.t1 + pd.Timedelta(hours=23, minutes=59)
        for name, frame in self.frames.items():
            dated = [
                f
                for f, spec in self.fields[name].items()
                if spec.type in ("date", "datetime") and not _is_birth(f)
            ]
            if not dated:
                continue
            limits = {f: end if f == self.anchor[name] else self.t_last for f in dated}
            values = {f: frame[f].to_numpy("datetime64[ns]") for f in dated}
            zero = np.zeros(len(frame), dtype="timedelta64[ns]")
            late, early = zero.copy(), zero.copy()
            for f in dated:
                over = values[f] - limits[f].to_datetime64()
                under = self.t0.to_datetime64() - values[f]
                late = np.maximum(late, np.where(np.isnat(over), zero, over))
                early = np.maximum(early, np.where(np.isnat(under), zero, under))
            weeks = np.ceil(late / week) - np.ceil(early / week)
            moved = weeks != 0
            for f in dated:
                shifted = values[f] - weeks.astype(np.int64) * week
                self._set(name, f, moved & ~np.isnat(values[f]), shifted)
                last = limits[f]
                frame[f] = self.frames[name][f].clip(self.t0, last)
                self._changed(name, f)

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

    def run(self) -> dict[str, pd.DataFrame]:
        for name in self.layout.order:
            self._generate(name)
        self._fill_links()
        rules = [r for r in self.plan.rules if r.model.dataset in self.frames]
        for rule in rules:
            self._shape(rule, self._populations)
        # KPIs first, then the 100% standards (criteria, clocks), which one stray row breaks
        for rule in rules:
            if rule.kind == "kpi":
                self._shape(rule, self._kpi)
                if rule.model.scoring == "count":
                    self._shape(rule, self._count)
        for rule in rules:
            if rule.kind == "eligibility":
                self._shape(rule, self._eligibility)
        self._repair()
        self._clip_dates()
        for rule in rules:
            if rule.kind == "response_time":
                self._shape(rule, self._response_time)
        self._missing_values()
        self._clip_dates()
        return {
            name: _output(self.frames[name][list(self.fields[name])], self.fields[name])
            for name in self.spec.datasets
        }


def _literal_value(node: ir.Node) -> Any:
    if isinstance(node, ir.Percent):
        return node.fraction
    if isinstance(node, ir.Date | ir.DateTime):
        return pd.Timestamp(node.value)
    return getattr(node, "value", None)


def _compare(op: str, left: ir.Node, right: ir.Node) -> ir.Compare:
    return ir.Compare(op, left, right, type=BOOLEAN)  # type: ignore[arg-type]


_DTYPES = {
    "integer": "Float64",
    "number": "Float64",
    "boolean": "boolean",
    "date": "datetime64[ns]",
    "datetime": "datetime64[ns]",
    "text": "string",
    "enumeration": "string",
}


def _typed(columns: dict[str, Any], fields: dict[str, models.FieldSpec], n: int) -> pd.DataFrame:
    """Columns in the dtypes `specrules.data` gives loaded data, so the engine can read them."""
    out = {}
    for name, spec in fields.items():
        values = columns[name]
        if spec.type in ("date", "datetime"):
            stamps = pd.Series(np.asarray(values, dtype="datetime64[ns]"))
            out[name] = stamps.dt.normalize() if spec.type == "date" else stamps
        elif spec.type in ("integer", "number") and isinstance(values, np.ndarray):
            out[name] = pd.array(values.astype(float), dtype="Float64")
        else:
            out[name] = pd.array(values, dtype=_DTYPES[spec.type])
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def _output(frame: pd.DataFrame, fields: dict[str, models.FieldSpec]) -> pd.DataFrame:
    """The frame handed to users: whole numbers as Int64, the rest as loaded."""
    out = frame.copy()
    for name, spec in fields.items():
        if spec.type == "integer":
            out[name] = out[name].round().astype("Int64")
        elif spec.type == "date":
            out[name] = out[name].dt.normalize()
    return out.reset_index(drop=True)


# ------------------------------------------------------------------ public API
def synthesize(
    spec: Spec | str | Path,
    rows: int = DEFAULT_ROWS,
    seed: int = 0,
    breach_rate: float = DEFAULT_BREACH_RATE,
) -> dict[str, pd.DataFrame]:
    """Synthetic activity data for every dataset `spec` declares.

    `rows` is the size of the main dataset (the top of the largest family of linked
    datasets); the others scale from it. `breach_rate` (0 to 1) is the share of rows made
    to fail each rule, so 0 gives data on which every row-level standard is met.
    """
    if isinstance(spec, str | Path):
        spec = load(spec)
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows < 1:
        raise SynthError(f"rows must be a whole number of at least 1, not {rows!r}")
    if not 0.0 <= float(breach_rate) <= 1.0:
        raise SynthError(f"breach_rate must be between 0 and 1, not {breach_rate!r}")
    return _Synth(spec.plan, int(rows), int(seed), float(breach_rate)).run()


def _csv_frame(frame: pd.DataFrame, ds: models.Dataset) -> pd.DataFrame:
    out = frame.copy()
    for name in ds.fields:
        kind = ds.field_spec(name).type
        if kind == "date":
            out[name] = out[name].dt.strftime("%Y-%m-%d")
        elif kind == "datetime":
            out[name] = out[name].dt.strftime("%Y-%m-%dT%H:%M")
        elif kind == "boolean":
            out[name] = out[name].map({True: "true", False: "false"}).astype("string")
    return out


def write(
    spec: Spec, frames: dict[str, pd.DataFrame], out: str | Path, fmt: Format = "csv"
) -> list[Path]:
    """Write each frame as `<dataset>.<fmt>` in folder `out` (created if need be)."""
    folder = Path(out)
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in frames.items():
            path = folder / f"{name}.{fmt}"
            if fmt == "parquet":
                frame.to_parquet(path, index=False)
            else:
                _csv_frame(frame, spec.model.datasets[name]).to_csv(path, index=False)
            written.append(path)
    except OSError as exc:
        raise SynthError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    return written
