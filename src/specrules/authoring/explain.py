"""`specrules explain`: a spec rendered back as the table commissioners know.

The NHS Standard Contract's quality requirements read Indicator · Threshold · Method of
Measurement · Consequence of Breach; a spec is shown the same way, with the contract facts
above, one table each for eligibility, response times and KPIs, and the minimum data set
after them. Expressions are shown as the compiler understood them (`dsl.printer.to_text`),
not as typed, so the author reads what will actually be checked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from specrules import __version__
from specrules.api import Spec
from specrules.dsl import ir
from specrules.dsl.percentiles import label as percentile_label
from specrules.dsl.printer import to_text
from specrules.periods import contract_end
from specrules.spec import models

FORMATS = ("md", "html")

ON_FAIL = {
    "not_accepted": "not accepted",
    "passed_back_to_referrer": "passed back to the referrer",
    "clinician_confirmation": "needs a clinician's confirmation",
    "signposted": "signposted elsewhere",
    "other": "see the note",
}
CLOCKS = {
    "calendar_days": "calendar days",
    "working_days": "working days (England and Wales bank holidays)",
    "hours": "hours",
    "minutes": "minutes",
    "seconds": "seconds",
}
KINDS = {
    "exception_report": "exception report",
    "remedial_action_plan": "remedial action plan",
    "passed_back_to_referrer": "passed back to referrer",
    "financial_sanction": "financial sanction",
    "contract_review": "contract review",
    "other": "other",
}


@dataclass
class Line:
    """One line of the method of measurement: a label and text, which may be an expression."""

    label: str
    text: str
    code: bool = True


@dataclass
class Row:
    id: str
    indicator: str
    threshold: list[str]
    method: list[Line]
    consequence: str | None
    source: str
    quote: str | None
    note: str | None


@dataclass
class Section:
    title: str
    rows: list[Row] = field(default_factory=list)


def explain(spec: Spec, fmt: str = "md") -> str:
    """The spec as Markdown (`md`) or a self-contained HTML page (`html`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    env = Environment(
        loader=PackageLoader("specrules.authoring", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["cell"] = _md_cell
    env.filters["inline_code"] = _inline_code
    template = env.get_template(f"explain.{fmt}")
    return template.render(**context(spec))


def context(spec: Spec) -> dict[str, Any]:
    """What the templates show, as plain values."""
    model = spec.model
    compiled = {id(rule.model): rule for rule in spec.plan.rules}
    sections = []
    for title, rules in (
        ("Eligibility", model.eligibility),
        ("Response times", model.response_times),
        ("Key performance indicators", model.kpis),
    ):
        section = Section(title)
        for rule in rules:
            done = compiled.get(id(rule))
            if done is not None:
                section.rows.append(_row(spec, done))
        if section.rows:
            sections.append(section)
    return {
        "spec": model,
        "file": spec.path,
        "facts": _facts(spec),
        "sections": sections,
        "datasets": _datasets(spec),
        "examples": [
            {
                "name": e.name,
                "expect": {rule: models.expectation_text(x) for rule, x in e.expect.items()},
                "rows": sum(len(r) for r in e.data.values()),
            }
            for e in model.examples
        ],
        "version": __version__,
        "unmet": _rules_without_consequence(sections),
    }


def _rules_without_consequence(sections: list[Section]) -> int:
    return sum(
        1 for s in sections for r in s.rows if r.consequence is None and r.threshold != ["—"]
    )


# ------------------------------------------------------------------ contract facts
def _day(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def _money(amount: float) -> str:
    return f"£{amount:,.0f}" if float(amount).is_integer() else f"£{amount:,.2f}"


def _facts(spec: Spec) -> list[tuple[str, str]]:
    model = spec.model
    contract = model.contract
    facts = [("Commissioner", model.commissioner)]
    if model.provider:
        facts.append(("Provider", model.provider))
    if model.service:
        facts.append(("Service", model.service))
    facts.append(("Source document", model.source_document))
    facts.append(("Term", f"{_day(contract.start)} to {_day(contract.end)}"))
    for extension in contract.extensions:
        text = f"to {_day(extension.until)}"
        facts.append(
            ("Extension option", text + (f" ({extension.note})" if extension.note else ""))
        )
    if contract.extensions:
        facts.append(("Latest possible end", _day(contract_end(contract))))
    if contract.periods == "financial_year":
        facts.append(("Years", "financial years, from 1 April"))
    else:
        month, day = (
            contract.year_start.split("-")
            if contract.year_start
            else (f"{contract.start.month:02d}", f"{contract.start.day:02d}")
        )
        start = dt.date(2001, int(month), int(day))
        facts.append(("Years", f"contract years, from {start.day} {start:%B}"))
    zones = sorted(
        {ds.timezone for ds in model.datasets.values() if ds.timezone} - {model.timezone}
    )
    facts.append(
        (
            "Time zone",
            f"{model.timezone}: date-times without a UTC offset are local time there; "
            "elapsed time is true elapsed time across clock changes"
            + (f" (some datasets: {', '.join(zones)})" if zones else ""),
        )
    )
    reporting = contract.reporting
    if reporting is not None:
        parts = [
            f"{label} {value}"
            for label, value in (
                ("monitoring", reporting.monitoring),
                ("report", reporting.report),
                ("review", reporting.review),
            )
            if value
        ]
        text = ", ".join(parts)
        if reporting.note:
            text = f"{text}. {reporting.note}" if text else reporting.note
        facts.append(("Reporting", text))
    for budget in contract.budgets:
        text = f"{_money(budget.amount)} per {budget.per}"
        facts.append((budget.name, text + (f" ({budget.note})" if budget.note else "")))
    if contract.note:
        facts.append(("Note", contract.note))
    if model.note:
        facts.append(("About this spec", model.note))
    return facts


# ------------------------------------------------------------------ rules
def _row(spec: Spec, rule: Any) -> Row:
    model = rule.model
    consequence = spec.model.consequences.get(model.consequence or "")
    consequence_text = None
    if consequence is not None:
        consequence_text = f"{consequence.text} ({KINDS[consequence.kind]})"
        if consequence.deadline:
            consequence_text += f"; due {consequence.deadline} of the end of the period"
    source = model.source.section + (f", line {model.source.line}" if model.source.line else "")
    return Row(
        id=model.id,
        indicator=model.title,
        threshold=_threshold(rule),
        method=_method(spec, rule),
        consequence=consequence_text,
        source=source,
        quote=model.source.quote,
        note=model.note,
    )


def _threshold_text(node: ir.Threshold | ir.Reduction) -> str:
    return to_text(node)


def _schedule(rule: Any) -> list[str]:
    """A dated threshold's values, one line each, with the days each is in force."""
    lines = ["dated values (each period is judged against the value in force on its last day):"]
    for entry in rule.schedule:
        until = f"until {entry.end}" if entry.end else "onwards"
        lines.append(f"{entry.start} {until}: {_threshold_text(entry.threshold)}")
    return lines


def _threshold(rule: Any) -> list[str]:
    model = rule.model
    lines = []
    if rule.schedule:
        if rule.kind == "response_time":
            limit = rule.expressions.get("limit")
            lines.append(f"the share within {to_text(limit) if limit else model.limit}")
        lines.extend(_schedule(rule))
    elif rule.kind == "eligibility" and model.decision is not None:
        lines.append(f"{model.target} of the provider's decisions agree with the criteria")
    elif rule.kind == "eligibility":
        lines.append("— (counted, not judged: no `decision` records who was taken on)")
    elif rule.kind == "response_time":
        limit = rule.expressions.get("limit")
        within = to_text(limit) if limit is not None else model.limit
        lines.append(f"{model.target} within {within}")
    elif rule.threshold is None:
        lines.append("— (monitoring only: the figure is reported)")
    else:
        text = _threshold_text(rule.threshold)
        if model.monitoring_only:
            text += " (for information: monitoring only, not judged)"
        lines.append(text)
    for label, node in rule.group_thresholds.items():
        lines.append(f"{label}: {_threshold_text(node)}")
    if model.amber:
        lines.append(f"amber within {model.amber} of the target")
    if getattr(model, "judged", "pro_rata") == "period_end" and rule.threshold is not None:
        lines.append("judged at the end of each period")
    return lines


def _expression(rule: Any, name: str) -> str | None:
    node = rule.expressions.get(name)
    if node is not None:
        return to_text(node)
    value = getattr(rule.model, name, None)
    return None if value is None else str(value)


def _method(spec: Spec, rule: Any) -> list[Line]:
    model = rule.model
    dataset = model.dataset
    lines: list[Line] = []
    applies = _expression(rule, "applies_to")
    if rule.kind == "eligibility":
        lines.append(_rows_line(dataset, applies, "Checked on"))
        if model.accept is not None:
            lines.append(Line("Accepted when", _expression(rule, "accept") or ""))
        else:
            lines.append(Line("Excluded when", _expression(rule, "exclude") or ""))
        lines.append(Line("If not", ON_FAIL[model.on_fail], code=False))
        if model.decision is not None:
            lines.append(Line("Taken on when", _expression(rule, "decision") or ""))
    elif rule.kind == "response_time":
        lines.append(_rows_line(dataset, applies, "Applies to"))
        lines.append(Line("Clock starts", _expression(rule, "start") or ""))
        lines.append(Line("Clock stops", _expression(rule, "end") or ""))
        lines.append(Line("Counted in", CLOCKS[model.clock], code=False))
        lines.append(Line("No stop", "counts as not met", code=False))
    else:
        lines.extend(_kpi_method(rule, dataset))
    period = rule.period
    if model.snapshot:
        lines.append(Line("Judged", f"as at the end of each {period} the data covers", code=False))
    elif period == "contract":
        lines.append(Line("Judged over", "the whole contract", code=False))
    else:
        lines.append(Line("Judged per", period, code=False))
    if model.date is not None and rule.date is not None:  # the dataset's date otherwise
        lines.append(Line("Dated by", to_text(rule.date)))
    if model.breakdowns:
        words = ", ".join(model.breakdowns)
        if model.per_group:
            words += " (the threshold applies to each group)"
        lines.append(Line("Broken down by", words, code=False))
    return lines


def _rows_line(dataset: str, condition: str | None, label: str) -> Line:
    if condition is None:
        return Line(label, f"every `{dataset}` row", code=False)
    return Line(label, f"`{dataset}` rows where `{condition}`", code=False)


def _kpi_method(rule: Any, dataset: str) -> list[Line]:
    model = rule.model
    lines: list[Line] = []
    scoring = model.scoring
    if scoring == "ratio":
        lines.append(Line("Numerator", _expression(rule, "numerator") or ""))
        lines.append(Line("Divided by", _expression(rule, "denominator") or ""))
        return lines
    initial = _expression(rule, "initial_population")
    lines.append(_rows_line(dataset, initial, "Initial population"))
    if scoring == "proportion":
        denominator = _expression(rule, "denominator")
        lines.append(
            Line("Denominator", denominator)
            if denominator
            else Line("Denominator", "the initial population", code=False)
        )
    for name, label in (
        ("denominator_exclusions", "Exclusions"),
        ("denominator_exceptions", "Exceptions (only if not met)"),
    ):
        if name in rule.named:  # named, in order: a row counts under the first that applies
            listed = "; ".join(f"{n}: {to_text(node)}" for n, node in rule.named[name])
            lines.append(Line(f"{label}, in order (the first that applies is the reason)", listed))
            continue
        text = _expression(rule, name)
        if text:
            lines.append(Line(label, text))
    if scoring == "proportion":
        lines.append(Line("Numerator", _expression(rule, "numerator") or ""))
        lines.append(Line("Figure", "numerator ÷ denominator, as a percentage", code=False))
    elif scoring == "count":
        if model.distinct:
            lines.append(Line("Figure", f"number of different `{model.distinct}`", code=False))
        else:
            lines.append(Line("Figure", "number of rows", code=False))
    else:
        lines.append(Line("Observation", _expression(rule, "observation") or ""))
        measure = model.aggregate
        if measure == "percentile":
            measure = percentile_label(model.percentile, model.percentile_method)
        lines.append(Line("Figure", f"the {measure} of the observations", code=False))
    return lines


# ------------------------------------------------------------------ datasets
def _datasets(spec: Spec) -> list[dict[str, Any]]:
    found = []
    for name, compiled in spec.plan.datasets.items():
        ds = compiled.model
        fields = []
        for field_name in ds.fields:
            info = ds.field_spec(field_name)
            kind = info.type
            if info.values:
                kind += ": " + ", ".join(info.values)
            if not info.nullable:
                kind += " (required)"
            fields.append({"name": field_name, "type": kind, "description": info.description})
        found.append(
            {
                "name": name,
                "description": ds.description,
                "key": ", ".join(ds.key_fields),
                "date": to_text(compiled.date) if compiled.date is not None else None,
                "fields": fields,
                "links": [
                    {"name": link, "dataset": spec_.dataset, "field": spec_.field}
                    for link, spec_ in ds.links.items()
                ],
                "derived": [{"name": n, "text": to_text(node)} for n, node in compiled.derived],
            }
        )
    return found


def _md_cell(text: object) -> str:
    """Text safe inside a Markdown table cell (GitHub Flavored Markdown)."""
    value = "" if text is None else str(text)
    return " ".join(value.replace("|", "\\|").split())


def _inline_code(text: object) -> Markup:
    """HTML for text in which `backticks` mark code."""
    parts = str(text).split("`")
    html = [
        f"<code>{escape(part)}</code>" if i % 2 else str(escape(part))
        for i, part in enumerate(parts)
    ]
    return Markup("".join(html))


__all__ = ["FORMATS", "context", "explain"]
