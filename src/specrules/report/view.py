"""What a report shows, worked out once in Python so the templates only lay it out.

Every figure reaches the templates as display text that has already been through disclosure
control, so a template (built-in or a user's override) cannot print a hidden count by mistake.
The raw `Verdict` is passed along too, for templates that want more.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from specrules.report.chart_views import (
    Charts,
    distribution_chart,
    overview_chart,
    trend_chart,
)
from specrules.report.disclosure import SUPPRESSED, Disclosure
from specrules.report.figures import display_unit, format_gap, format_value
from specrules.report.summary import COUNTED, Summary, group_label, summarise
from specrules.report.words import reason_in_words
from specrules.results import Evaluation, Provenance, RowResult, Verdict

if TYPE_CHECKING:
    from specrules.api import Spec

# Rows listed in the page before the list is folded into a <details> element.
FOLD_AFTER = 20

_STATUS_RAG = {"met": "green", "not met": "red"}


@dataclass
class Figures:
    """One verdict's numbers as printed."""

    value: str
    numerator: str
    denominator: str
    counts: str  # "6 of 8", or "" when the figure is not a share of counted rows
    target: str
    gap: str
    gap_short: str  # for tables: percentage points as "pp"
    breach_count: str
    suppressed: bool  # some figure is hidden by disclosure control


@dataclass
class SummaryRow:
    verdict: Verdict
    group_label: str
    rag_class: str
    figures: Figures
    is_group: bool
    anchor: str | None = None  # the breach section, when not met
    trend_text: str = ""  # the figure in the period before, for the summary's trend column
    due: str | None = None  # when the consequence of a breach is due
    breach: BreachView | None = None  # the breach's section, when not met


@dataclass
class TrendPoint:
    period: str
    status: str
    rag_class: str
    figures: Figures
    current: bool


@dataclass
class Consequence:
    id: str | None
    kind: str | None
    text: str | None


@dataclass
class BreachView:
    verdict: Verdict
    number: int
    anchor: str
    group_label: str
    figures: Figures
    trend: list[TrendPoint]
    trend_note: str | None
    consequence: Consequence
    template: str
    rows: list[RowResult]
    rows_total: str
    rows_withheld: bool
    rows_folded: bool
    rows_file: str | None
    excluded: list[tuple[str, str]]
    due: str | None = None
    trend_svg: Markup | None = None
    distribution_svg: Markup | None = None
    distribution_note: str | None = None

    @property
    def consequence_short(self) -> str:
        """The consequence's kind (or id) in words, for the summary table."""
        name = self.consequence.kind or self.consequence.id
        return name.replace("_", " ") if name else "none stated"


@dataclass
class DatasetRowsView:
    name: str
    read: str
    evaluated: str
    rejected: str
    reasons: list[tuple[str, str]]


@dataclass
class ReportView:
    title: str
    evaluation: Evaluation
    provenance: Provenance
    summary: list[SummaryRow]  # every verdict line, in the evaluation's order
    breaches: list[BreachView]
    status_counts: dict[str, int]  # verdict lines per status, what needs action first
    datasets: list[DatasetRowsView]
    suppress_below: int | None
    fold_after: int = FOLD_AFTER
    notes: list[str] = field(default_factory=list)
    headline: str = ""  # the counts with what they count, as every renderer prints them
    counted: str = COUNTED
    action: list[SummaryRow] = field(default_factory=list)  # not met
    met: list[SummaryRow] = field(default_factory=list)
    monitoring: list[SummaryRow] = field(default_factory=list)
    no_verdict: list[SummaryRow] = field(default_factory=list)  # no data, not due
    overview_svg: Markup | None = None


# ------------------------------------------------------------------ figures
def rag_class(verdict: Verdict) -> str:
    """The colour a verdict is shown in: its RAG rating, else one implied by its status."""
    return verdict.rag or _STATUS_RAG.get(verdict.status, "grey")


def figures(verdict: Verdict, disclosure: Disclosure) -> Figures:
    unit = verdict.unit
    shown_in = display_unit(verdict)
    hidden_parts = disclosure.hides(verdict.numerator) or disclosure.hides(verdict.denominator)
    if unit == "count":
        # The figure is itself a count; the gap to a known target would give it back.
        hide_value = disclosure.hides(verdict.value)
    else:
        # A share or ratio of hidden counts gives them back (with the other count shown).
        hide_value = unit in ("share", "ratio") and hidden_parts
    counts = ""
    if verdict.numerator is not None and verdict.denominator is not None:
        counts = f"{disclosure.count(verdict.numerator)} of {disclosure.count(verdict.denominator)}"
    target = (
        format_value(verdict.target, shown_in)
        if verdict.target is not None
        else (verdict.threshold or "-")
    )
    breach_count = disclosure.count(verdict.breach_count) if verdict.breach_count else "0"
    return Figures(
        value=SUPPRESSED if hide_value else format_value(verdict.value, shown_in),
        numerator=disclosure.count(verdict.numerator),
        denominator=disclosure.count(verdict.denominator),
        counts=counts,
        target=target,
        gap=SUPPRESSED if hide_value else format_gap(verdict.gap, shown_in),
        gap_short=SUPPRESSED if hide_value else format_gap(verdict.gap, shown_in, short=True),
        breach_count=breach_count,
        suppressed=hide_value or hidden_parts or disclosure.hides(verdict.breach_count),
    )


def anchor_for(verdict: Verdict, taken: set[str]) -> str:
    text = "-".join([verdict.rule_id, verdict.period, *(verdict.group or {}).values()])
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower() or "breach"
    anchor, n = base, 2
    while anchor in taken:
        anchor, n = f"{base}-{n}", n + 1
    taken.add(anchor)
    return anchor


def rows_file_name(verdict: Verdict) -> str:
    """`<rule_id>_<period>.csv` (and `_<group>` for a breakdown group); `/` becomes `-`."""
    parts = [verdict.period, *(verdict.group or {}).values()]
    safe = [re.sub(r"[^A-Za-z0-9.-]+", "-", p).strip("-") or "-" for p in parts]
    return "_".join([verdict.rule_id, *safe]) + ".csv"


# ------------------------------------------------------------------ trend
def _same_series(a: Verdict, b: Verdict) -> bool:
    return a.rule_id == b.rule_id and (a.group or None) == (b.group or None)


def _series(verdict: Verdict, everything: list[Verdict]) -> list[Verdict]:
    """The same rule (and group) in this period and the earlier ones, oldest first."""
    return sorted(
        (
            v
            for v in everything
            if _same_series(v, verdict) and v.period_start <= verdict.period_start
        ),
        key=lambda v: v.period_start,
    )


def trend_text(series: list[Verdict], disclosure: Disclosure) -> str:
    """The change from the period before: `▼ from 80.0% (2019/20-Q1)`, or `no earlier period`."""
    if len(series) < 2:
        return "no earlier period"
    before, now = series[-2], series[-1]
    was = figures(before, disclosure).value
    if was == SUPPRESSED or figures(now, disclosure).value == SUPPRESSED:
        return f"from {SUPPRESSED} ({before.period})"
    if before.value is None or now.value is None:
        return f"was {before.status} ({before.period})"
    arrow = "▲" if now.value > before.value else "▼" if now.value < before.value else "="
    return f"{arrow} from {was} ({before.period})"


def due_text(verdict: Verdict) -> str | None:
    """When a breach's consequence is due (its `deadline` from the end of the period)."""
    if isinstance(verdict.due, dt.datetime):  # a deadline in hours: the moment, to the minute
        return verdict.due.strftime("%Y-%m-%d %H:%M")
    return None if verdict.due is None else verdict.due.isoformat()


def trend(
    verdict: Verdict, everything: list[Verdict], disclosure: Disclosure, requested: str = "all"
) -> tuple[list[TrendPoint], str | None]:
    """The same rule (and group) in the earlier periods of this evaluation, then this one."""
    series = [v for v in everything if _same_series(v, verdict)]
    earlier = sorted(
        (v for v in series if v.period_start < verdict.period_start), key=lambda v: v.period_start
    )
    points = [
        TrendPoint(v.period, v.status, rag_class(v), figures(v, disclosure), v is verdict)
        for v in [*earlier, verdict]
    ]
    note = None
    if len({v.period for v in series}) <= 1:
        note = f"Only one period ({verdict.period}) is in this evaluation, so there is no trend"
        if requested.lower() == "all":
            note += ": the data cover no earlier period."
        else:
            note += f" (it was asked for period {requested}; --period all gives every year)."
    elif not earlier:
        note = f"{verdict.period} is the first period in this evaluation: no earlier figures."
    return points, note


# ------------------------------------------------------------------ spec look-ups
def consequences_of(spec: Spec | None) -> dict[str, Consequence]:
    """Each rule's consequence (id, kind and text) from the spec, when there is one."""
    if spec is None:
        return {}
    found = {}
    for rule in spec.plan.rules:
        cid = rule.model.consequence
        model = spec.model.consequences.get(cid or "")
        if cid and model is not None:
            found[rule.model.id] = Consequence(cid, model.kind, model.text)
    return found


def build_view(
    evaluation: Evaluation,
    *,
    spec: Spec | None = None,
    disclosure: Disclosure | None = None,
    breach_templates: dict[str, str] | None = None,
    default_breach_template: str = "breach",
    rows_files: dict[int, str] | None = None,
    fold_after: int = FOLD_AFTER,
) -> ReportView:
    """Everything a report template needs.

    `breach_templates` maps a consequence id to the template that renders its breaches;
    `rows_files` maps id() of a breached verdict to the CSV that holds its rows in full.
    """
    disclosure = disclosure or Disclosure()
    breach_templates = breach_templates or {}
    rows_files = rows_files or {}
    consequences = consequences_of(spec)
    counted = summarise(evaluation)
    everything = [line.verdict for line in counted.lines]
    charts: Charts = {}  # distributions by rule and period, shared by a rule's groups
    taken: set[str] = set()

    summary: list[SummaryRow] = []
    breaches: list[BreachView] = []
    for line in counted.lines:
        v = line.verdict
        series = _series(v, everything)
        row = SummaryRow(
            verdict=v,
            group_label=group_label(v.group),
            rag_class=rag_class(v),
            figures=figures(v, disclosure),
            is_group=line.is_group,
            trend_text=trend_text(series, disclosure),
            due=due_text(v),
        )
        summary.append(row)
        if v.status == "not met":
            row.anchor = anchor_for(v, taken)
            row.breach = _breach(
                evaluation,
                row,
                series,
                len(breaches) + 1,
                everything,
                disclosure,
                consequences.get(v.rule_id) or Consequence(None, None, v.consequence),
                breach_templates,
                default_breach_template,
                rows_files.get(id(v)),
                fold_after,
                charts,
            )
            breaches.append(row.breach)
    hidden = {id(r.verdict) for r in summary if r.figures.value == SUPPRESSED}
    judged = [*counted.of("not met"), *counted.of("met")]
    drawn = Summary(tuple(judged))
    overview = overview_chart(judged, hidden, f"{drawn.counts_text()} verdicts") if judged else None

    datasets = [
        DatasetRowsView(
            name=name,
            read=disclosure.count(rows.read),
            evaluated=disclosure.count(rows.evaluated),
            rejected=disclosure.count(sum(rows.rejected.values())),
            reasons=[(reason, disclosure.count(n)) for reason, n in rows.rejected.items()],
        )
        for name, rows in evaluation.rows.items()
    ]
    notes = []
    if disclosure.active:
        notes.append(
            f"Disclosure control: counts from 1 to {disclosure.below - 1} are shown as "
            f'"{SUPPRESSED}", with the shares and gaps worked from them; zero is shown as 0. '
            "The rows behind each breach are not listed, since their keys and number would "
            "give the hidden counts back. Verdicts are unchanged."
        )
    return ReportView(
        title=evaluation.spec_title,
        evaluation=evaluation,
        provenance=evaluation.provenance,
        summary=summary,
        breaches=breaches,
        status_counts=counted.counts,
        datasets=datasets,
        suppress_below=disclosure.below if disclosure.active else None,
        fold_after=fold_after,
        notes=notes,
        headline=counted.headline(),
        action=[r for r in summary if r.verdict.status == "not met"],
        met=[r for r in summary if r.verdict.status == "met"],
        monitoring=[r for r in summary if r.verdict.status == "monitoring"],
        no_verdict=[r for r in summary if r.verdict.status in ("no data", "not due")],
        overview_svg=Markup(overview) if overview else None,
    )


def _breach(
    evaluation: Evaluation,
    row: SummaryRow,
    series: list[Verdict],
    number: int,
    everything: list[Verdict],
    disclosure: Disclosure,
    consequence: Consequence,
    breach_templates: dict[str, str],
    default_template: str,
    rows_file: str | None,
    fold_after: int,
    charts: Charts,
) -> BreachView:
    """One breach's section: figures, trend (table and chart), consequence, rows in words."""
    v = row.verdict
    points, note = trend(v, everything, disclosure, evaluation.provenance.period)
    hidden = {id(x) for x in series if figures(x, disclosure).value == SUPPRESSED}
    trend_svg = trend_chart(series, hidden)
    distribution_svg = distribution_note = None
    if v.kind == "response_time":
        distribution_svg, distribution_note = distribution_chart(evaluation, v, disclosure, charts)
    rows_withheld = disclosure.active
    return BreachView(
        verdict=v,
        number=number,
        anchor=row.anchor or "",
        group_label=row.group_label,
        figures=row.figures,
        trend=points,
        trend_note=note,
        consequence=consequence,
        template=breach_templates.get(consequence.id or "", default_template),
        rows=[] if rows_withheld else _rows_in_words(v),
        rows_total=disclosure.count(len(v.breaches)),
        rows_withheld=rows_withheld,
        rows_folded=len(v.breaches) > fold_after,
        rows_file=rows_file,
        excluded=[(e.reason, disclosure.count(e.count)) for e in v.excluded],
        due=row.due,
        trend_svg=Markup(trend_svg) if trend_svg else None,
        distribution_svg=Markup(distribution_svg) if distribution_svg else None,
        distribution_note=distribution_note,
    )


def _rows_in_words(verdict: Verdict) -> list[RowResult]:
    return [
        RowResult(key=row.key, row=row.row, reason=reason_in_words(row.reason))
        for row in verdict.breaches
    ]


def spec_dir(spec: Spec | None, at: tuple[str | int, ...] = ()) -> Path | None:
    """The folder of the spec file (of the base spec, when the value at `at` was written in
    a spec this one extends); None for a spec given as text."""
    if spec is None or not spec.path or spec.path.startswith("<"):
        return None
    return Path(spec.source.file_at(at) if at else spec.path).resolve().parent
