"""Consistency checks that need the whole compiled spec: units, contract dates, examples.

These run after every expression has been parsed and type-checked (spec/compiler.py calls
`check`), so they can compare a threshold with the measure it judges, a date with the
contract, and a worked example with the datasets and rules it names. Each problem is a
located `Diagnostic`; errors stop a spec from compiling, warnings are reported by
`specrules validate` (and fail it only with `--strict`).

Codes: E307-E310 errors in a rule or the contract; S301-S307 errors in `examples`;
W301-W308 warnings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any, Literal, get_args

from specrules.dsl import ir
from specrules.dsl.parser import ExpressionSyntaxError, parse_threshold
from specrules.dsl.printer import to_text
from specrules.errors import Diagnostic, PeriodError, did_you_mean
from specrules.periods import contract_end, parse_period
from specrules.spec import models
from specrules.spec.yaml_source import SourceMap
from specrules.status import Status

Path_ = tuple[str | int, ...]
STATUSES: tuple[str, ...] = get_args(Status)
SECTIONS = (("eligibility", "eligibility"), ("response_times", "response_time"), ("kpis", "kpi"))


class _Report:
    def __init__(self, source: SourceMap):
        self.source = source
        self.found: list[Diagnostic] = []

    def add(
        self,
        path: Path_,
        code: str,
        message: str,
        hint: str | None = None,
        severity: Literal["error", "warning"] = "error",
        key: bool = False,
    ) -> None:
        self.found.append(self.source.diagnostic(path, code, message, hint, severity, key))

    def at_offset(
        self, path: Path_, text: str, span: ir.Span, code: str, message: str, hint: str
    ) -> None:
        start, end = span
        self.found.append(
            self.source.expression_diagnostic(path, start, text[start:end], code, message, hint)
        )


def check(spec: models.Spec, rules: list[Any], datasets: dict[str, Any], source: SourceMap):
    """Every consistency problem in a compiled spec (rules: CompiledRule, datasets:
    CompiledDataset, as built by the compiler)."""
    report = _Report(source)
    _contract(spec, report)
    compiled = {id(rule.model): rule for rule in rules}
    for path, rule in _rules(spec):
        done = compiled.get(id(rule))
        if done is None:
            continue
        _threshold_units(path, rule, done, report)
        _consequence(path, rule, done, report)
        _target_without_decision(path, rule, report)
        for name, node in done.expressions.items():
            _reversed_between((*path, name), str(getattr(rule, name)), node, report)
    for name, ds in datasets.items():
        for derived_name, node in ds.derived:
            if derived_name not in spec.datasets[name].derived:
                continue  # added by the compiler (`eligible`), checked in its criteria
            path = ("datasets", name, "derived", derived_name)
            _reversed_between(path, spec.datasets[name].derived[derived_name], node, report)
    _unused_consequences(spec, report)
    _examples(spec, rules, report)
    return report.found


def _rules(spec: models.Spec) -> Iterator[tuple[Path_, Any]]:
    for section, _kind in SECTIONS:
        for index, rule in enumerate(getattr(spec, section)):
            yield (section, index), rule


# ------------------------------------------------------------------ contract
# Contract dates a period can be computed for and a data date can reach (pandas keeps dates
# from 1677 to 2262; a year of the contract may run a year past its end).
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2199, 12, 31)


def _contract(spec: models.Spec, report: _Report) -> None:
    contract = spec.contract
    dated = [(("contract", "start"), contract.start), (("contract", "end"), contract.end)]
    dated += [
        (("contract", "extensions", index, "until"), extension.until)
        for index, extension in enumerate(contract.extensions)
    ]
    for path, day in dated:
        if not EARLIEST <= day <= LATEST:
            report.add(
                path,
                "E321",
                f"{day} is not a date a contract can have",
                f"write a date from {EARLIEST} to {LATEST}",
            )
    previous = contract.end
    for index, extension in enumerate(contract.extensions):
        if extension.until <= previous:
            report.add(
                ("contract", "extensions", index, "until"),
                "E309",
                f"extension to {extension.until} does not extend the contract beyond {previous}",
                "list extensions in order, each ending after the contract (or the extension "
                "before it) ends",
            )
        previous = max(previous, extension.until)
    if contract.year_start is not None:
        month, day = (int(part) for part in contract.year_start.split("-"))
        try:
            dt.date(2001, month, day)  # not a leap year: 02-29 cannot start every year
        except ValueError:
            report.add(
                ("contract", "year_start"),
                "E310",
                f"`year_start` {contract.year_start} is not a day of the year",
                'write the month then the day, for instance "07-01" for 1 July, or "04-01"',
            )


# ------------------------------------------------------------------ thresholds
def _amounts(threshold: ir.Threshold | ir.Reduction) -> list[ir.Node]:
    if isinstance(threshold, ir.Reduction):
        return [threshold.baseline]
    return [threshold.amount] + ([threshold.upper] if threshold.upper is not None else [])


def _measure(rule: Any, kind: str) -> str:
    """What a rule measures, in words and by unit: share, count, ratio or continuous."""
    if kind != "kpi":
        return "share"
    return {"proportion": "share", "count": "count", "ratio": "ratio"}.get(
        rule.scoring, "continuous"
    )


def _threshold_units(path: Path_, rule: Any, compiled: Any, report: _Report) -> None:
    field = "threshold" if compiled.kind == "kpi" else "target"
    judged = [((*path, field), compiled.threshold)] if not compiled.schedule else []
    judged += [
        ((*path, field, i, "value"), entry.threshold) for i, entry in enumerate(compiled.schedule)
    ]
    judged += [
        ((*path, "group_thresholds", label), node)
        for label, node in compiled.group_thresholds.items()
    ]
    measure = _measure(rule, compiled.kind)
    observation = compiled.expressions.get("observation")
    observed = observation.type if observation is not None else None
    for where, threshold in judged:
        if threshold is None:
            continue
        text = to_text(threshold)
        for amount in _amounts(threshold):
            if measure in ("count", "share", "ratio") and isinstance(amount, ir.Duration):
                report.add(
                    where,
                    "E308",
                    f"`{text}` is a length of time, but this rule measures a {measure}",
                    "a count is judged by a number (at least 3600 per year), a share by a "
                    "percentage (at least 60%); to judge a time, use `scoring: continuous` with "
                    "an `observation` such as `first_contact_on - received_on`",
                )
            elif measure in ("count", "share") and isinstance(amount, ir.Money):
                report.add(
                    where,
                    "E308",
                    f"`{text}` is an amount of money, but this rule measures a {measure}",
                    "judge money with `scoring: continuous` and `aggregate: sum`",
                )
            elif measure == "continuous" and observed is not None:
                _continuous_units(where, text, amount, observed, report)
        if isinstance(threshold, ir.Reduction) and threshold.relative and threshold.step > 100:
            report.add(
                where,
                "E302",
                f"a reduction of {threshold.step:g}% a year is impossible (`{text}`)",
                "a relative reduction lies between 0% and 100%",
            )
        if (
            isinstance(threshold, ir.Threshold)
            and threshold.per is not None
            and threshold.by is None
            and measure in ("share", "continuous")
            # A continuous sum or count is a total, so pro-rating it is right; so is a ratio
            # written `per year` (caseload per coach per year is a rate over time).
            and not (measure == "continuous" and rule.aggregate in ("sum", "count"))
        ):
            report.add(
                where,
                "W301",
                f"`per {threshold.per}` on a {measure}: a {measure} is not a total, so it "
                "would be pro-rated over shorter periods",
                f"remove `per {threshold.per}` and write `period: {threshold.per}` on the rule "
                "to judge it over each period",
                severity="warning",
            )
        if (
            isinstance(threshold, ir.Threshold)
            and measure == "share"
            and threshold.kind == "at least"
            and isinstance(threshold.amount, ir.Percent)
            and threshold.amount.value == 0
        ):
            report.add(
                where,
                "W302",
                f"`{text}` is always met",
                "write the share that must be reached, for instance 100%",
                severity="warning",
            )
    amber = getattr(rule, "amber", None)
    if amber is not None:
        if compiled.threshold is None or getattr(rule, "monitoring_only", False):
            report.add(
                (*path, "amber"),
                "W303",
                "`amber` has no effect on a rule that is not judged against a threshold",
                "remove `amber`, or give the rule a threshold",
                severity="warning",
            )
        elif float(amber.rstrip("%")) > 100:
            report.add(
                (*path, "amber"),
                "E320",
                f"an amber band of {amber} is wider than the target itself",
                "an amber band is a percentage of the target (at most 100%), usually 5% or 10%",
            )


def _continuous_units(
    where: Path_, text: str, amount: ir.Node, observed: Any, report: _Report
) -> None:
    if observed.kind == "duration" and isinstance(amount, ir.Number):
        report.add(
            where,
            "E308",
            f"the observation is a length of time, but `{text}` has no unit",
            f"give the threshold a unit, for instance `{text} days` or `{text} hours`",
        )
    elif observed.kind == "duration" and isinstance(amount, ir.Money | ir.Percent):
        report.add(
            where,
            "E308",
            f"the observation is a length of time, but `{text}` is not",
            "write a duration such as `at most 14 days`",
        )
    elif observed.kind == "number" and isinstance(amount, ir.Duration):
        report.add(
            where,
            "W304",
            f"the observation is a plain number, but `{text}` is a length of time: "
            "the number will be read as days",
            "make the observation a duration (`first_contact_on - received_on`) or write "
            "the threshold without a unit",
            severity="warning",
        )


def _consequence(path: Path_, rule: Any, compiled: Any, report: _Report) -> None:
    judged = compiled.threshold is not None and not getattr(rule, "monitoring_only", False)
    if judged and rule.consequence is None:
        report.add(
            (*path, "id"),
            "W305",
            f"rule `{rule.id}` has a threshold but no consequence of breach",
            "add `consequence: <name>` naming an entry under `consequences` (what happens "
            "when the threshold is not met), or `monitoring_only: true`",
            severity="warning",
        )


def _target_without_decision(path: Path_, rule: Any, report: _Report) -> None:
    """A criterion without `decision` is counted, not judged: its `target` does nothing."""
    counted = isinstance(rule, models.Eligibility) and rule.decision is None
    if counted and "target" in rule.model_fields_set:
        report.add(
            (*path, "target"),
            "W308",
            f"`target` has no effect: criterion `{rule.id}` has no `decision`, so it is "
            "counted, not judged",
            "add `decision: <condition>` (true when the provider took the row on) to "
            "judge the provider's decisions against the target, or remove `target`",
            severity="warning",
        )


def _unused_consequences(spec: models.Spec, report: _Report) -> None:
    used = {rule.consequence for _path, rule in _rules(spec)}
    for name in spec.consequences:
        if name not in used:
            report.add(
                ("consequences", name),
                "W306",
                f"consequence `{name}` is declared but no rule uses it",
                f"add `consequence: {name}` to the rules it applies to, or remove it",
                severity="warning",
                key=True,
            )


# ------------------------------------------------------------------ expressions
def _literal_value(node: ir.Node) -> tuple[str, object] | None:
    if isinstance(node, ir.Number | ir.Money):
        return ("number", float(node.value))
    if isinstance(node, ir.Percent):
        return ("number", node.fraction)
    if isinstance(node, ir.Date):
        return ("date", node.value)
    if isinstance(node, ir.DateTime):
        return ("datetime", node.value)
    if isinstance(node, ir.Duration):
        return (f"duration {node.unit}", node.amount)
    return None


def _reversed_between(path: Path_, text: str, node: ir.Node, report: _Report) -> None:
    for sub in ir.walk(node):
        if not isinstance(sub, ir.Between):
            continue
        low, high = _literal_value(sub.low), _literal_value(sub.high)
        if low is None or high is None or low[0] != high[0]:
            continue
        if low[1] > high[1]:  # type: ignore[operator]
            report.at_offset(
                path,
                text,
                sub.low.span,
                "E307",
                f"`between {to_text(sub.low)} and {to_text(sub.high)}`: the minimum is above "
                "the maximum, so this is never true",
                f"write the smaller figure first: between {to_text(sub.high)} and "
                f"{to_text(sub.low)}",
            )


# ------------------------------------------------------------------ examples
def _examples(spec: models.Spec, rules: list[Any], report: _Report) -> None:
    rule_ids = [rule.id for _path, rule in _rules(spec)]
    contract = spec.contract
    first, last = contract.start, contract_end(contract)
    for index, example in enumerate(spec.examples):
        here: Path_ = ("examples", index)
        if example.period is not None and example.period.strip().lower() != "all":
            try:
                parse_period(example.period, contract)
            except (PeriodError, ValueError, OverflowError) as exc:
                report.add(
                    (*here, "period"),
                    "S305",
                    f"example `{example.name}`: {exc}",
                    "write a contract year (2019/20), a quarter (2019/20-Q3), a month "
                    "(2020-01), `contract` or `all`",
                )
        for rule_id, expected in example.expect.items():
            status = expected if isinstance(expected, str) else expected.status
            if rule_id not in rule_ids:
                report.add(
                    (*here, "expect", rule_id),
                    "S303",
                    f"example `{example.name}` expects a verdict from unknown rule `{rule_id}`",
                    did_you_mean(rule_id, rule_ids) or "rules: " + ", ".join(rule_ids),
                    key=True,
                )
            if isinstance(expected, models.Expected) and expected.value is not None:
                _expected_value((*here, "expect", rule_id, "value"), expected.value, report)
            if status is not None and status not in STATUSES:
                report.add(
                    (*here, "expect", rule_id) + (() if isinstance(expected, str) else ("status",)),
                    "S304",
                    f"`{status}` is not a verdict",
                    did_you_mean(str(status), STATUSES) or "write one of: " + ", ".join(STATUSES),
                )
        for dataset, rows in example.data.items():
            if dataset not in spec.datasets:
                report.add(
                    (*here, "data", dataset),
                    "S301",
                    f"example `{example.name}` has rows for undeclared dataset `{dataset}`",
                    did_you_mean(dataset, spec.datasets) or "declare it under `datasets`",
                    key=True,
                )
                continue
            _example_rows(
                (*here, "data", dataset),
                spec.datasets[dataset],
                dataset,
                rows,
                (first, last),
                report,
            )


def _example_rows(
    path: Path_,
    declared: models.Dataset,
    dataset: str,
    rows: list[dict[str, object]],
    contract: tuple[dt.date, dt.date],
    report: _Report,
) -> None:
    fields = declared.fields
    date_field = declared.date if declared.date in fields else None
    for number, row in enumerate(rows):
        for column in row:
            if column not in fields:
                report.add(
                    (*path, number, column),
                    "S302",
                    f"`{column}` is not a field of `{dataset}`",
                    did_you_mean(column, fields) or "fields: " + ", ".join(fields),
                    key=True,
                )
        absent = [k for k in declared.key_fields if row.get(k) in (None, "")]
        if absent:
            report.add(
                (*path, number),
                "S307",
                f"this `{dataset}` row has no `{absent[0]}` (the dataset's key)",
                f"add `{absent[0]}:` with a value no other row of the example uses",
            )
        if date_field is not None:
            value = row.get(date_field)
            day = value.date() if isinstance(value, dt.datetime) else value
            if isinstance(day, dt.date) and not contract[0] <= day <= contract[1]:
                report.add(
                    (*path, number, date_field),
                    "W307",
                    f"{day} lies outside the contract ({contract[0]} to {contract[1]}), so "
                    "this row falls in no period",
                    "use a date inside the contract",
                    severity="warning",
                )


def _expected_value(path: Path_, value: str | float | int, report: _Report) -> None:
    """An example's expected `value` is a number, a percentage or a length of time."""
    try:
        parse_threshold("exactly " + models.figure_amount_text(value))
    except ExpressionSyntaxError:
        report.add(
            path,
            "S304",
            f"`{value}` is not a figure",
            "write a number (3.7), a percentage (75%) or a length of time (12.5 minutes)",
        )


# ------------------------------------------------------------------ hints
UNIT_WORDS = (
    "second",
    "seconds",
    "minute",
    "minutes",
    "hour",
    "hours",
    "day",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "year",
    "years",
    "working days",
)


def unit_hint(text: str, offset: int) -> str | None:
    """A hint for a misspelt unit after a number (`2 weks`), or None if that is not it."""
    before = text[:offset].rstrip()
    if not before or not before[-1].isdigit() or offset >= len(text):
        return None
    word = ""
    for char in text[offset:]:
        if not (char.isalpha() or char == "_"):
            break
        word += char
    if not word:
        return None
    close = did_you_mean(word.lower(), UNIT_WORDS)
    units = "seconds, minutes, hours, days, weeks, months, years or working days"
    return f"{close[:-1]} (a unit)?" if close else f"after a number, write a unit: {units}"
