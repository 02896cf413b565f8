"""Spec → Plan: parse every expression, resolve names, type-check, check consistency.

All problems are collected, located in the YAML file, and raised together as one SpecError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from specrules.dsl import ir
from specrules.dsl.checker import (
    Catalog,
    DatasetSchema,
    Link,
    RuleNames,
    TypeCheckError,
    check,
    constant_mistake,
    too_long,
)
from specrules.dsl.parser import ExpressionSyntaxError, parse_expression, parse_threshold
from specrules.dsl.types import BOOLEAN, NUMBER, TEXT, TIME_UNITS, Type
from specrules.dsl.types import DATE as DATE_TYPE
from specrules.dsl.types import DATETIME as DATETIME_TYPE
from specrules.errors import Diagnostic, did_you_mean
from specrules.spec import consistency, models
from specrules.spec.consistency import unit_hint
from specrules.spec.yaml_source import SourceMap

FIELD_TYPES: dict[str, Type] = {
    "text": TEXT,
    "integer": NUMBER,
    "number": NUMBER,
    "boolean": BOOLEAN,
    "date": DATE_TYPE,
    "datetime": DATETIME_TYPE,
}

RuleKind = Literal["eligibility", "response_time", "kpi"]


@dataclass
class CompiledDataset:
    name: str
    model: models.Dataset
    schema: DatasetSchema
    derived: list[tuple[str, ir.Node]] = field(default_factory=list)
    date: ir.Node | None = None


@dataclass(frozen=True)
class ScheduledThreshold:
    """One value of a dated threshold: in force from `start` to `end` (None: open-ended)."""

    start: Any  # dt.date
    end: Any  # dt.date | None
    threshold: ir.Threshold | ir.Reduction
    text: str


@dataclass(frozen=True)
class ThresholdInForce:
    """A rule's threshold on a day: what judges the figure, its text as written, the dates
    a dated value is in force, or why no threshold is (None: the rule has one)."""

    threshold: ir.Threshold | ir.Reduction | None
    text: str | None
    start: Any = None  # dt.date | None
    end: Any = None
    missing: str | None = None


@dataclass
class CompiledRule:
    kind: RuleKind
    model: Any  # models.Eligibility | models.ResponseTime | models.KPI
    expressions: dict[str, ir.Node]
    threshold: ir.Threshold | ir.Reduction | None
    period: str
    date: ir.Node | None
    group_thresholds: dict[str, ir.Threshold | ir.Reduction] = field(default_factory=dict)
    # A threshold with dated values: each in force over its days (`threshold` is the first).
    schedule: list[ScheduledThreshold] = field(default_factory=list)
    # Named exclusions and exceptions, in order (the first that applies is a row's reason);
    # `expressions` holds their `or` for the engines' totals.
    named: dict[str, list[tuple[str, ir.Node]]] = field(default_factory=dict)
    # An eligibility rule: whether a row passes every criterion of its dataset that applies
    eligible: ir.Node | None = None

    @property
    def id(self) -> str:
        return self.model.id

    def threshold_at(self, day: Any) -> ThresholdInForce:
        """The threshold that judges a period whose last day is `day`: the rule's one
        threshold, or the value of a dated threshold in force that day (docs/reference.md)."""
        if not self.schedule:
            written = getattr(self.model, "threshold", None) or getattr(self.model, "target", None)
            text = None if self.threshold is None else str(written)
            return ThresholdInForce(self.threshold, text)
        for entry in self.schedule:
            if entry.start <= day and (entry.end is None or day <= entry.end):
                return ThresholdInForce(entry.threshold, entry.text, entry.start, entry.end)
        return ThresholdInForce(None, None, missing=f"no threshold in force on {day}")

    @property
    def lower_is_better(self) -> bool:
        """Whether the rule's thresholds all ask for a share no higher than a value (`at most`,
        `less than`, a reduction): then the rows counted in the numerator are the ones that
        count against the provider, and a row whose numerator is unknown is counted there,
        so that missing data never improves a verdict."""
        thresholds = [self.threshold, *self.group_thresholds.values()]
        thresholds += [entry.threshold for entry in self.schedule]
        known = [t for t in thresholds if t is not None]
        return bool(known) and all(
            isinstance(t, ir.Reduction) or t.kind in ("at most", "less than") for t in known
        )

    @property
    def duration_unit(self) -> str:
        """The unit a figure that is a length of time (a continuous KPI's observation) is
        given in: the threshold's when it is seconds, minutes or hours, else days (weeks are
        shown as days). Printing may choose a smaller unit for a small figure
        (report/figures.py)."""
        threshold = self.threshold
        if isinstance(threshold, ir.Threshold) and isinstance(threshold.amount, ir.Duration):
            unit = threshold.amount.unit
            return unit if unit in TIME_UNITS else "days"
        return "days"


@dataclass
class Plan:
    spec: models.Spec
    catalog: Catalog
    datasets: dict[str, CompiledDataset]
    rules: list[CompiledRule]
    warnings: list[Diagnostic] = field(default_factory=list)
    # each consequence's `deadline: within 20 working days`, as the duration after the period
    deadlines: dict[str, ir.Duration] = field(default_factory=dict)


def _field_type(spec: models.FieldSpec) -> Type:
    if spec.type == "enumeration":
        return Type("text", values=tuple(spec.values or ()))
    return FIELD_TYPES[spec.type]


def _link_type_mismatch(
    child: models.Dataset, field_name: str, parent: models.Dataset, parent_name: str
) -> tuple[str, str] | None:
    """Why a link's field cannot match its dataset's key (other types: a value of one type
    is never equal to a key of another), with what to write instead; None when it can."""
    key = parent.key_fields[0]
    if key not in parent.fields:
        return None  # reported as S101
    have, want = child.field_spec(field_name), parent.field_spec(key)
    kinds = {_field_type(have).kind, _field_type(want).kind}
    if len(kinds) == 1 or kinds <= {"date", "datetime"}:
        return None
    return (
        f"`{field_name}` is {have.type} but `{parent_name}`'s key `{key}` is {want.type}, "
        "so no value could match",
        f"declare `{field_name}` as {want.type}, the type of `{parent_name}.{key}`",
    )


class _Compiler:
    def __init__(self, spec: models.Spec, source: SourceMap):
        self.spec = spec
        self.source = source
        self.problems: list[Diagnostic] = []
        self.names: RuleNames | None = None  # what the rule being compiled may name
        # Derived fields whose expression failed, as (dataset, name): a use of one elsewhere
        # is not a second mistake ("unknown field"), so it is not reported again.
        self.broken: set[tuple[str, str]] = set()
        self.eligible: dict[str, ir.Node] = {}  # dataset → `eligible`, once criteria are done

    # ------------------------------------------------------------------ reporting
    def problem(
        self,
        path: tuple[str | int, ...],
        code: str,
        message: str,
        hint: str | None = None,
        severity: Literal["error", "warning"] = "error",
        key: bool = False,
    ) -> None:
        self.problems.append(self.source.diagnostic(path, code, message, hint, severity, key))

    def expression(
        self,
        path: tuple[str | int, ...],
        text: str,
        scope: str | None,
        want: str | tuple[str, ...] | None = None,
        what: str = "this expression",
    ) -> ir.Node | None:
        """Parse and check one expression; report problems at their place in the file."""
        try:
            node = check(parse_expression(text), self.catalog, scope, self.names)
        except ExpressionSyntaxError as exc:
            snippet = exc.snippet or text[exc.offset : exc.offset + 8]
            hint = unit_hint(text, exc.offset) or exc.hint
            self.problems.append(
                self.source.expression_diagnostic(
                    path, exc.offset, snippet, "E101", f"syntax: {exc.message}", hint
                )
            )
            return None
        except TypeCheckError as exc:
            if exc.field in self.broken:
                return None  # follows from the derived field's own error, reported there
            start, end = exc.span
            self.problems.append(
                self.source.expression_diagnostic(
                    path, start, text[start:end], exc.code, exc.message, exc.hint
                )
            )
            return None
        mistake = constant_mistake(node, text)
        if mistake is not None:
            where, code, message, hint = mistake
            start, end = where.span
            self.problems.append(
                self.source.expression_diagnostic(path, start, text[start:end], code, message, hint)
            )
            return None
        wanted = (want,) if isinstance(want, str) else want
        if wanted and node.type is not None and node.type.kind not in wanted:
            expected = " or ".join(wanted)
            hint = None
            if "boolean" in wanted:
                hint = "write a condition, for instance `age >= 16`"
            self.problem(path, "E206", f"{what} must be {expected}, but it is {node.type}", hint)
            return None
        return node

    # ------------------------------------------------------------------ datasets
    def datasets(self) -> dict[str, CompiledDataset]:
        schemas: dict[str, DatasetSchema] = {}
        for name, ds in self.spec.datasets.items():
            fields = {f: _field_type(ds.field_spec(f)) for f in ds.fields}
            for k in ds.key_fields:
                if k not in ds.fields:
                    self.problem(
                        ("datasets", name, "key"),
                        "S101",
                        f"key `{k}` is not a field of dataset `{name}`",
                        did_you_mean(k, ds.fields) or f"declare `{k}` under fields",
                    )
            schemas[name] = DatasetSchema(name, fields, ds.key_fields)
        for name, ds in self.spec.datasets.items():
            for link_name, link in ds.links.items():
                path = ("datasets", name, "links", link_name)
                if link.dataset not in self.spec.datasets:
                    self.problem(
                        (*path, "dataset"),
                        "S102",
                        f"link `{link_name}` points at undeclared dataset `{link.dataset}`",
                        did_you_mean(link.dataset, self.spec.datasets),
                    )
                    continue
                if link.field not in ds.fields:
                    self.problem(
                        (*path, "field"),
                        "S102",
                        f"link `{link_name}`: `{link.field}` is not a field of `{name}`",
                        did_you_mean(link.field, ds.fields),
                    )
                    continue
                if len(self.spec.datasets[link.dataset].key_fields) != 1:
                    self.problem(
                        path, "S102", f"`{link.dataset}` must have a single-field key to link to"
                    )
                    continue
                if link_name in ds.fields:
                    self.problem(
                        path, "S102", f"link `{link_name}` has the same name as a field", key=True
                    )
                    continue
                mismatch = _link_type_mismatch(
                    ds, link.field, self.spec.datasets[link.dataset], link.dataset
                )
                if mismatch:
                    self.problem(
                        (*path, "field"), "S102", f"link `{link_name}`: {mismatch[0]}", mismatch[1]
                    )
                    continue
                schemas[name].links[link_name] = Link(link.dataset, link.field)
        self.catalog = Catalog(schemas)

        compiled: dict[str, CompiledDataset] = {}
        for name, ds in self.spec.datasets.items():
            out = CompiledDataset(name, ds, schemas[name])
            for derived_name, text in ds.derived.items():
                path = ("datasets", name, "derived", derived_name)
                if derived_name in ds.fields:
                    self.problem(
                        path,
                        "S103",
                        f"derived field `{derived_name}` is also a declared field",
                        key=True,
                    )
                    continue
                node = self.expression(path, text, name)
                if node is not None:
                    schemas[name].fields[derived_name] = node.type
                    out.derived.append((derived_name, node))
                else:
                    self.broken.add((name, derived_name))
            if ds.date is not None:
                out.date = self.expression(
                    ("datasets", name, "date"), ds.date, name, ("date", "datetime"), "`date`"
                )
            compiled[name] = out
        return compiled

    # ------------------------------------------------------------------ rules
    def rules(self, datasets: dict[str, CompiledDataset]) -> list[CompiledRule]:
        compiled: list[CompiledRule] = []
        seen: dict[str, str] = {}  # each id in lower case → the id as written
        groups = (
            ("eligibility", "eligibility", self.spec.eligibility),
            ("response_times", "response_time", self.spec.response_times),
            ("kpis", "kpi", self.spec.kpis),
        )
        for section, kind, rules in groups:
            if kind == "response_time":  # every criterion is compiled: `eligible` is known
                self.add_eligible(compiled, datasets)
            for index, rule in enumerate(rules):
                path = (section, index)
                first = seen.get(rule.id.lower())
                if first is not None:
                    self.problem(
                        (*path, "id"),
                        "S201",
                        f"duplicate rule id `{rule.id}`"
                        + (f" (`{first}` differs only in case)" if first != rule.id else ""),
                        "every rule needs its own id; ids that differ only in case would "
                        "share a file name and a FHIR id",
                    )
                seen[rule.id.lower()] = rule.id
                result = self.rule(kind, rule, path, datasets)
                if result is not None:
                    compiled.append(result)
        return compiled

    def add_eligible(self, criteria: list[CompiledRule], datasets: dict[str, CompiledDataset]):
        """`eligible`, a derived field of each dataset with criteria, computed once: the
        other rules may read it, and each criterion reads it (its combined count, and to
        judge a decision). A field the spec names `eligible` is left as the spec says."""
        self.eligible = _eligible_nodes(criteria)
        for name, node in self.eligible.items():
            fields = self.catalog.datasets[name].fields
            if ELIGIBLE in fields:
                continue  # declared by the spec: criteria compute theirs inline
            datasets[name].derived.append((ELIGIBLE, node))
            fields[ELIGIBLE] = BOOLEAN
            self.eligible[name] = ir.Reference((ELIGIBLE,), name, ELIGIBLE, type=BOOLEAN)
        for criterion in criteria:
            criterion.eligible = self.eligible.get(criterion.model.dataset)

    def rule(
        self,
        kind: RuleKind,
        rule: Any,
        path: tuple[str | int, ...],
        datasets: dict[str, CompiledDataset],
    ) -> CompiledRule | None:
        if rule.consequence is not None and rule.consequence not in self.spec.consequences:
            self.problem(
                (*path, "consequence"),
                "S203",
                f"undeclared consequence `{rule.consequence}`",
                did_you_mean(rule.consequence, self.spec.consequences)
                or "declare it under `consequences`",
            )
        if rule.dataset not in datasets:
            self.problem(
                (*path, "dataset"),
                "S202",
                f"undeclared dataset `{rule.dataset}`",
                did_you_mean(rule.dataset, datasets) or "declare it under `datasets`",
            )
            return None
        scope = rule.dataset
        fields = self.catalog.datasets[scope].fields
        for i, name in enumerate(rule.breakdowns):
            if name not in fields:
                self.problem(
                    (*path, "breakdowns", i),
                    "S204",
                    f"breakdown on undeclared field `{name}` of `{scope}`",
                    did_you_mean(name, fields),
                )
        exprs: dict[str, ir.Node] = {}
        named: dict[str, list[tuple[str, ir.Node]]] = {}
        self.names = _rule_names(rule, scope, kind, self.eligible)

        def add(name: str, want: str | tuple[str, ...] | None, what: str, row: bool = True):
            text = getattr(rule, name)
            if text is None:
                return
            if isinstance(text, list):
                found = self.named_conditions((*path, name), text, scope, what)
                if found is not None:
                    named[name] = found
                    exprs[name] = _any_of([node for _, node in found])
                return
            node = self.expression((*path, name), text, scope if row else None, want, what)
            if node is not None:
                exprs[name] = node

        add("applies_to", "boolean", "`applies_to`") if hasattr(rule, "applies_to") else None
        if kind == "eligibility":
            add("accept", "boolean", "`accept`")
            add("exclude", "boolean", "`exclude`")
            add("decision", "boolean", "`decision`")
        elif kind == "response_time":
            add("start", ("date", "datetime"), "`start`")
            add("end", ("date", "datetime"), "`end`")
            add("limit", "duration", "`limit`")
            self.clock_fits(rule, exprs.get("limit"), path)
        else:
            scoring = rule.scoring
            for name in ("initial_population", "denominator_exclusions", "denominator_exceptions"):
                add(name, "boolean", f"`{name}`")
            if scoring == "ratio":
                add("numerator", "number", "a ratio's `numerator`", row=False)
                add("denominator", "number", "a ratio's `denominator`", row=False)
            else:
                add("denominator", "boolean", "`denominator`")
                add("numerator", "boolean", "`numerator`")
            add("observation", ("number", "duration"), "`observation`")
            self.percentile_fits(rule, path)
            if rule.distinct and rule.distinct not in fields:
                self.problem(
                    (*path, "distinct"),
                    "S205",
                    f"`distinct`: no field `{rule.distinct}` in `{scope}`",
                    did_you_mean(rule.distinct, fields),
                )

        threshold_text = getattr(rule, "threshold", None) or getattr(rule, "target", None)
        threshold = None
        schedule: list[ScheduledThreshold] = []
        field_name = "threshold" if kind == "kpi" else "target"
        if isinstance(threshold_text, list):
            schedule = self.schedule((*path, field_name), threshold_text, rule, kind)
            threshold = schedule[0].threshold if schedule else None
        elif threshold_text is not None:
            threshold = self.threshold((*path, field_name), str(threshold_text), rule, kind)
        self.names = None  # the rule's own expressions are done
        if kind == "eligibility" and rule.decision is None:
            threshold, schedule = None, []  # reported, not judged: nothing to hold anyone to
        if kind == "kpi" and threshold is None and not rule.monitoring_only and rule.threshold:
            return None

        period = rule.period or (
            threshold.per if isinstance(threshold, ir.Threshold) and threshold.per else "year"
        )
        if isinstance(threshold, ir.Threshold) and threshold.per == "week":
            period = rule.period or "year"
        date_node = datasets[scope].date
        if rule.date is not None:
            date_node = self.expression(
                (*path, "date"), rule.date, scope, ("date", "datetime"), "`date`"
            )
        undated = date_node is None and datasets[scope].model.date is None  # not a broken date
        if undated and period != "contract" and rule.date is None and not rule.snapshot:
            self.problem(
                (*path, "dataset"),
                "S206",
                f"dataset `{scope}` has no `date`, so rows cannot be placed in a {period}",
                f"add `date: <field>` to datasets.{scope}, or `period: contract` to this rule",
            )
        if rule.snapshot:
            self.snapshot_fits(rule, period, date_node, path, scope)
        groups = self.group_thresholds(rule, kind, path, threshold, fields)
        return CompiledRule(
            kind, rule, exprs, threshold, period, date_node, groups, schedule, named
        )

    def snapshot_fits(self, rule: Any, period: str, date_node, path, scope: str) -> None:
        """A snapshot is taken at the end of each month, quarter or year the data covers, so it
        needs such a period and a date that says which periods the data covers."""
        if getattr(rule, "scoring", None) == "ratio":
            self.problem(
                (*path, "snapshot"),
                "S210",
                "a ratio of two aggregates cannot be a snapshot: it has no rows of its own",
                "write the measure as a proportion, count or continuous KPI",
            )
        elif period == "contract":
            self.problem(
                (*path, "snapshot"),
                "S210",
                "a snapshot is taken at the end of each month, quarter or year, not over the "
                "whole contract",
                "write `period: month`, `period: quarter` or `period: year`",
            )
        elif date_node is None and rule.date is None and self.spec.datasets[scope].date is None:
            self.problem(
                (*path, "snapshot"),
                "S210",
                f"dataset `{scope}` has no `date`, so there is no telling which period ends "
                "its data covers",
                f"add `date: <field>` to datasets.{scope} (for instance the date a pathway "
                "started), or `date:` to this rule",
            )

    def named_conditions(
        self, path: tuple[str | int, ...], items: list[dict[str, str]], scope: str, what: str
    ) -> list[tuple[str, ir.Node]] | None:
        """An ordered list of named conditions; names must differ."""
        found: list[tuple[str, ir.Node]] = []
        seen: set[str] = set()
        ok = True
        for i, item in enumerate(items):
            ((name, text),) = item.items()
            if name in seen:
                self.problem(
                    (*path, i, name),
                    "S209",
                    f"{what}: the name `{name}` is used twice",
                    "give each condition its own name: it is the reason rows are counted under",
                    key=True,
                )
                ok = False
            seen.add(name)
            node = self.expression((*path, i, name), text, scope, "boolean", f"{what} `{name}`")
            if node is None:
                ok = False
            else:
                found.append((name, node))
        return found if ok else None

    def schedule(
        self, path: tuple[str | int, ...], entries: list, rule: Any, kind: RuleKind
    ) -> list[ScheduledThreshold]:
        """Parse a dated threshold's values; they must follow each other day after day, with
        no overlap and no gap, and share one `per`."""
        parsed: list[ScheduledThreshold] = []
        previous = None
        for i, entry in enumerate(entries):
            here = (*path, i)
            node = self.threshold((*here, "value"), entry.value, rule, kind)
            if entry.until is not None and entry.until < entry.from_:
                self.problem(
                    (*here, "until"),
                    "E306",
                    f"this value ends ({entry.until}) before it starts ({entry.from_})",
                    "write the later date under `until`",
                )
                return []
            if previous is not None:
                if previous.until is None or entry.from_ <= previous.until:
                    until = (
                        "has no `until`"
                        if previous.until is None
                        else (f"runs until {previous.until}")
                    )
                    self.problem(
                        (*here, "from"),
                        "E306",
                        f"dated thresholds overlap: the value before this one {until}, but this "
                        f"one starts on {entry.from_}",
                        "give the earlier value `until:` the day before this one's `from`, and "
                        "list the values in date order",
                    )
                    return []
                if (entry.from_ - previous.until).days > 1:
                    self.problem(
                        (*here, "from"),
                        "E306",
                        f"dated thresholds leave a gap: the value before this one ends on "
                        f"{previous.until}, this one starts on {entry.from_}",
                        f"start this value the day after {previous.until}, or end the one "
                        "before it later",
                    )
                    return []
            previous = entry
            if node is None:
                continue
            parsed.append(ScheduledThreshold(entry.from_, entry.until, node, entry.value))
        if len(parsed) != len(entries):
            return []
        pers = {t.threshold.per for t in parsed}
        if len(pers) > 1:
            self.problem(
                path,
                "E306",
                "the dated thresholds count over different periods ("
                + ", ".join(sorted(str(p or "the period") for p in pers))
                + ")",
                "give every value the same `per` (for instance all `per year`)",
                key=True,
            )
            return []
        return parsed

    def group_thresholds(self, rule, kind, path, overall, fields) -> dict:
        """Parse per-group thresholds; check their groups exist and their parts add up."""
        if not rule.group_thresholds:
            return {}
        here = (*path, "group_thresholds")
        if len(rule.breakdowns) != 1:
            self.problem(
                here,
                "S207",
                "`group_thresholds` needs exactly one breakdown field",
                "add `breakdowns: [locality]` (the field the groups come from)",
                key=True,
            )
            return {}
        if rule.breakdowns[0] not in fields:
            return {}  # reported as S204 (or follows from a field set aside)
        allowed = fields[rule.breakdowns[0]].values
        parsed = {}
        for label, text in rule.group_thresholds.items():
            if allowed is not None and label not in allowed:
                self.problem(
                    (*here, label),
                    "S208",
                    f"`{label}` is not a value of `{rule.breakdowns[0]}`",
                    did_you_mean(label, allowed) or "allowed: " + ", ".join(allowed),
                    key=True,
                )
                continue
            node = self.threshold((*here, label), str(text), rule, kind)
            if node is not None:
                parsed[label] = node
        self.parts_add_up(here, overall, parsed)
        return parsed

    def parts_add_up(self, path, overall, parts: dict) -> None:
        if not isinstance(overall, ir.Threshold) or overall.upper is not None or not parts:
            return
        if isinstance(overall.amount, ir.Percent):
            return  # shares do not add up
        amounts = []
        for node in parts.values():
            if not isinstance(node, ir.Threshold) or node.kind != overall.kind:
                return
            if node.upper is not None or isinstance(node.amount, ir.Percent | ir.Duration):
                return
            amounts.append(float(_amount(node.amount) or 0.0))
        total = float(_amount(overall.amount) or 0.0)
        if abs(sum(amounts) - total) > 1e-6 * max(1.0, total):
            self.problem(
                path,
                "E305",
                f"the group thresholds add up to {sum(amounts):,.10g}, but the overall "
                f"threshold is {total:,.10g}",
                "correct the part or the total so they agree",
                key=True,
            )

    def deadlines(self) -> dict[str, ir.Duration]:
        """Each consequence's `deadline: within <duration>`, parsed (E311 when it is not)."""
        found = {}
        for name, consequence in self.spec.consequences.items():
            text = consequence.deadline
            if text is None:
                continue
            words = text.split(None, 1)
            node, hint = None, None
            if len(words) == 2 and words[0].lower() == "within":
                try:
                    node = parse_expression(words[1])
                except ExpressionSyntaxError as exc:
                    hint = unit_hint(words[1], exc.offset)
            if not isinstance(node, ir.Duration):
                self.problem(
                    ("consequences", name, "deadline"),
                    "E311",
                    f"a deadline is `within` a length of time, not `{text}`",
                    hint
                    or "write for instance `within 20 working days`, `within 1 month` or "
                    "`within 48 hours`",
                )
                continue
            if node.amount <= 0 or too_long(node):  # a due date must be later, and a real date
                self.problem(
                    ("consequences", name, "deadline"),
                    "E311",
                    f"`{text}`: a deadline is a length of time above 0 and at most 200 years",
                    "write for instance `within 20 working days`",
                )
                continue
            found[name] = node
        return found

    def percentile_fits(self, rule: models.KPI, path) -> None:
        """`percentile:` goes with `aggregate: percentile`, and the other way round."""
        if rule.aggregate == "percentile" and rule.percentile is None:
            self.problem(
                (*path, "aggregate"),
                "S003",
                "`aggregate: percentile` needs the centile to compute",
                "add `percentile: 90` (a number from 0 to 100) beside it",
            )
        for name in ("percentile", "percentile_method"):
            if getattr(rule, name) is not None and rule.aggregate != "percentile":
                self.problem(
                    (*path, name),
                    "S003",
                    f"`{name}` goes with `aggregate: percentile`, but this KPI's aggregate is "
                    f"{rule.aggregate or 'not given'}",
                    "write `aggregate: percentile`, or remove this key",
                    key=True,
                )

    def clock_fits(self, rule: models.ResponseTime, limit: ir.Node | None, path) -> None:
        if limit is None or limit.type is None:
            return
        kind = limit.type.duration_kind
        if rule.clock == "working_days" and kind != "working":
            self.problem(
                (*path, "limit"),
                "E207",
                "a working-day clock needs a limit in working days",
                "write for instance `10 working days`",
            )
        if rule.clock != "working_days" and kind == "working":
            self.problem(
                (*path, "clock"),
                "E207",
                "a limit in working days needs `clock: working_days`",
                "set `clock: working_days`",
            )

    def threshold(
        self, path: tuple[str | int, ...], text: str, rule: Any, kind: RuleKind
    ) -> ir.Threshold | ir.Reduction | None:
        try:
            node = parse_threshold(text)
        except ExpressionSyntaxError as exc:
            hint = (
                unit_hint(text, exc.offset)
                or exc.hint
                or "write for instance `at least 60%`, `at most 14`, `between 200 and 250`"
            )
            self.problems.append(
                self.source.expression_diagnostic(
                    path, exc.offset, exc.snippet or "", "E102", f"threshold: {exc.message}", hint
                )
            )
            return None
        amounts = [node.baseline] if isinstance(node, ir.Reduction) else [node.amount]
        if isinstance(node, ir.Threshold) and node.upper is not None:
            amounts.append(node.upper)
        if any(isinstance(a, ir.Duration) and too_long(a) for a in amounts):
            self.problem(
                path,
                "E211",
                f"`{text}`: a length of time longer than 200 years",
                "write a length of time of at most 200 years",
            )
            return None
        is_share = kind != "kpi" or rule.scoring == "proportion"
        for amount in amounts:
            if is_share and not isinstance(amount, ir.Percent) and kind != "kpi":
                self.problem(
                    path,
                    "E301",
                    f"a target share must be a percentage, not `{text}`",
                    "write for instance `100%`",
                )
                return None
            if isinstance(amount, ir.Percent) and amount.value > 100 and is_share:
                self.problem(
                    path,
                    "E302",
                    f"a share cannot be above 100% (`{text}`)",
                    "write a percentage between 0% and 100%",
                )
                return None
            if (
                kind == "kpi"
                and rule.scoring == "proportion"
                and isinstance(amount, ir.Number)
                and not isinstance(node, ir.Reduction)
            ):
                self.problem(
                    path,
                    "E301",
                    f"a proportion's threshold is a percentage: `{text}`",
                    f"write `{_as_percentages(text, amounts)}` or express it as a count KPI",
                )
                return None
            if kind == "kpi" and rule.scoring == "count" and isinstance(amount, ir.Percent):
                self.problem(
                    path,
                    "E301",
                    "a count's threshold cannot be a percentage",
                    "use `scoring: proportion` with a numerator for a share",
                )
                return None
        if isinstance(node, ir.Threshold) and node.upper is not None:
            low, high = _amount(node.amount), _amount(node.upper)
            if low is not None and high is not None and low > high:
                self.problem(
                    path,
                    "E303",
                    f"the minimum is above the maximum in `{text}`",
                    "write the smaller figure first",
                )
                return None
        if isinstance(node, ir.Threshold) and node.by is not None:
            contract = self.spec.contract
            last = max([contract.end, *(e.until for e in contract.extensions)])
            if not contract.start <= node.by <= last:
                self.problem(
                    path,
                    "E304",
                    f"deadline {node.by} lies outside the contract ({contract.start} to {last})",
                    "check the date",
                )
                return None
        return node


SNAPSHOT_NAMES = ("period_end", "period_start")


ELIGIBLE = "eligible"


def _rule_names(rule: Any, scope: str, kind: str, eligible: dict[str, ir.Node]) -> RuleNames:
    """The names a rule may use beside its dataset's fields: a snapshot's period dates, and
    `eligible` on a dataset with eligibility criteria."""
    names = RuleNames(scope)
    if kind == "eligibility":
        names.refused[ELIGIBLE] = (
            "`eligible` cannot be used in an eligibility criterion: it is made of them",
            "write the condition itself, or use `applies_to` to say which rows it checks",
        )
    elif scope not in eligible:  # with criteria, `eligible` is a field of the dataset
        names.refused[ELIGIBLE] = (
            f"`eligible` needs eligibility criteria on dataset `{scope}`, and it has none",
            f"add a criterion with `dataset: {scope}` under `eligibility`, or write the "
            "condition itself",
        )
    for name in SNAPSHOT_NAMES:
        if rule.snapshot:
            names.known[name] = DATE_TYPE
        else:
            names.refused[name] = (
                f"`{name}` is known only in a snapshot rule, judged as at the end of each period",
                "add `snapshot: true` (with `period: month`, `quarter` or `year`) to judge the "
                "rule as at each period end, or use a field of the dataset",
            )
    return names


def _is_true(node: ir.Node) -> ir.Node:
    """`x is not missing and x`: true or false, never unknown."""
    known = ir.IsMissing(node, negated=True, type=BOOLEAN, span=node.span)
    return ir.And(known, node, type=BOOLEAN, span=node.span)


def _eligible_nodes(criteria: list[CompiledRule]) -> dict[str, ir.Node]:
    """For each dataset with criteria: true when a row passes every criterion that applies to
    it. A criterion that cannot be told (missing data) is not passed; one whose `applies_to`
    cannot be told does not apply (as the criterion's own verdict leaves the row out)."""
    terms: dict[str, list[ir.Node]] = {}
    for rule in criteria:
        exprs = rule.expressions
        if "accept" in exprs:
            passes = exprs["accept"]
        elif "exclude" in exprs:
            passes = ir.Not(exprs["exclude"], type=BOOLEAN, span=exprs["exclude"].span)
        else:
            continue
        term = _is_true(passes)
        if "applies_to" in exprs:
            applies = _is_true(exprs["applies_to"])
            term = ir.Or(ir.Not(applies, type=BOOLEAN), term, type=BOOLEAN)
        terms.setdefault(rule.model.dataset, []).append(term)
    found = {}
    for dataset, parts in terms.items():
        joined = parts[0]
        for part in parts[1:]:
            joined = ir.And(joined, part, type=BOOLEAN)
        found[dataset] = joined
    return found


def _any_of(nodes: list[ir.Node]) -> ir.Node:
    """Conditions joined by `or` (true when any is true), as one checked node."""
    joined = nodes[0]
    for node in nodes[1:]:
        joined = ir.Or(joined, node, type=BOOLEAN, span=joined.span)
    return joined


def _as_percentages(text: str, amounts: list[ir.Node]) -> str:
    """`at least 0.5` → `at least 50%` (a fraction of the whole), `at least 80` → `at least
    80%`: each number of the threshold written as the percentage it most likely means."""
    fractions = all(isinstance(a, ir.Number) and 0 < a.value < 1 for a in amounts)

    def percent(match: re.Match[str]) -> str:
        value = float(match.group(0)) * (100 if fractions else 1)
        return f"{value:g}%"

    return _NUMBER.sub(percent, text.strip())


_NUMBER = re.compile(r"(?<![\d.-])\d+(?:\.\d+)?(?![\d%-])")


def _amount(node: ir.Node) -> float | None:
    if isinstance(node, ir.Percent):
        return node.fraction
    if isinstance(node, ir.Number | ir.Money):
        return float(node.value)
    if isinstance(node, ir.Duration):
        return None
    return None


def compile_spec(spec: models.Spec, source: SourceMap) -> tuple[Plan | None, list[Diagnostic]]:
    """Compile a validated spec; return the plan (None if there were errors) and problems."""
    compiler = _Compiler(spec, source)
    datasets = compiler.datasets()
    rules = compiler.rules(datasets)
    deadlines = compiler.deadlines()
    compiler.problems.extend(consistency.check(spec, rules, datasets, source))
    errors = [p for p in compiler.problems if p.severity == "error"]
    warnings = [p for p in compiler.problems if p.severity == "warning"]
    if errors:
        return None, compiler.problems
    plan = Plan(spec, compiler.catalog, datasets, rules, warnings, deadlines)
    return plan, compiler.problems
