"""The generator: one class made of the concerns above, and `synthesize`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from specrules.api import Spec, load
from specrules.dsl import ir
from specrules.periods import contract_end
from specrules.spec.compiler import CompiledRule, Plan
from specrules.synth.columns import Columns
from specrules.synth.common import DEFAULT_BREACH_RATE, DEFAULT_ROWS, SynthError, _output
from specrules.synth.dates import DatesAndClocks
from specrules.synth.evaluation import Evaluation
from specrules.synth.layout import _layout, _volumes
from specrules.synth.rows import Rows
from specrules.synth.shaping import Shaping
from specrules.synth.snapshots import Snapshots
from specrules.synth.solver import Solver
from specrules.synth.values import _is_birth, _prefix


class _Synth(Evaluation, Columns, Rows, DatesAndClocks, Solver, Shaping, Snapshots):
    """The generator: the parts it is made of live in the modules of this package."""

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
        # snapshot rules: each row's census (its period end) and the period ends shaped to miss
        self.census_of: dict[str, tuple[list, np.ndarray]] = {}
        self.missed_periods: dict[str, np.ndarray] = {}
        self.census_later = 0  # read the census this many periods on (closing rows after it)
        self.block_datasets: set[str] = set()
        prefixes: dict[str, str] = {}
        for name in self.spec.datasets:
            prefix = _prefix(name)
            while prefix in prefixes.values():
                prefix = prefix[:3] + str(len(prefixes))
            prefixes[name] = prefix
        self.prefixes = prefixes

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

    def run(self) -> dict[str, pd.DataFrame]:
        for name in self.layout.order:
            self._generate(name)
        self._fill_links()
        self._across_clock_changes()
        rules = [r for r in self.plan.rules if r.model.dataset in self.frames]
        self._censuses(rules)
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
        for rule in rules:
            if getattr(rule.model, "snapshot", False):
                self._shape(rule, self._close_after_census)
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
