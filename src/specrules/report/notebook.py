"""Notebook display: short plain `repr`s and self-contained HTML for specs, evaluations, verdicts.

The HTML uses inline styles only (a notebook's output must not restyle the page around it)
and escapes every piece of text that comes from a spec or from data. The status colour is
the RAG rating where there is one (green, amber, red), else a neutral colour per status, and
the threshold is shown beside the figure it judges.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from specrules.report.figures import count_text, figure_text, gap_text, target_text
from specrules.report.summary import COUNTED, failing_rows, summarise
from specrules.spec.models import threshold_words

if TYPE_CHECKING:
    from specrules.api import Spec
    from specrules.results import Evaluation, Verdict

#: Colours for RAG ratings and for statuses without one.
COLOURS = {
    "green": "#2e7d32",
    "amber": "#ef8f00",
    "red": "#c62828",
    "met": "#2e7d32",
    "not met": "#c62828",
    "monitoring": "#4a6fa5",
    "no data": "#8a8a8a",
    "not due": "#b0b0b0",
}
MAX_HTML_ROWS = 200  # an evaluation's table stops here and points to to_frame()
MAX_BREACH_ROWS = 10  # a verdict's card lists this many failing rows

_TABLE = "border-collapse:collapse;font-size:0.9em;margin-top:4px"
_CELL = "padding:3px 8px;border-bottom:1px solid #e0e0e0;text-align:left;vertical-align:top"
_HEAD = _CELL + ";border-bottom:2px solid #999;font-weight:600"
_MUTED = "color:#666"


def colour(verdict: Verdict) -> str:
    """The display colour of a verdict: its RAG rating, else its status."""
    return COLOURS[verdict.rag] if verdict.rag else COLOURS[verdict.status]


def _label(verdict: Verdict) -> str:
    group = ", ".join(f"{k}={v}" for k, v in (verdict.group or {}).items())
    return verdict.rule_id + (f" [{group}]" if group else "")


# ------------------------------------------------------------------ plain repr
def verdict_repr(verdict: Verdict) -> str:
    text = f"<Verdict {_label(verdict)} {verdict.period}: {verdict.status}"
    if verdict.value is not None:
        text += f" {figure_text(verdict)}"
        target = target_text(verdict)
        if target is not None:
            text += f" (target {target})"
        elif verdict.threshold:
            text += f" (threshold {verdict.threshold})"
    if verdict.numerator is not None and verdict.denominator is not None:
        text += f", {count_text(verdict.numerator)}/{count_text(verdict.denominator)}"
    failing = failing_rows(verdict)
    if failing:
        text += f", {count_text(failing)} failing row{'s' if failing != 1 else ''}"
    if verdict.value is None and verdict.reason:
        text += f": {verdict.reason}"
    return text + ">"


def evaluation_repr(evaluation: Evaluation) -> str:
    text = (
        f"<Evaluation {evaluation.spec_title!r} period={evaluation.provenance.period}: "
        f"{summarise(evaluation).headline()}"
    )
    if evaluation.data_issues:
        text += f"; {len(evaluation.data_issues)} data issues"
    return text + ">"


# ------------------------------------------------------------------ HTML pieces
def _pill(verdict: Verdict) -> str:
    return (
        f'<span style="background:{colour(verdict)};color:white;border-radius:9px;'
        f'padding:1px 8px;white-space:nowrap">{escape(verdict.status)}</span>'
    )


def _figure_html(verdict: Verdict) -> str:
    if verdict.value is None:
        return f'<span style="{_MUTED}">–</span>'
    text = f'<b style="color:{colour(verdict)}">{escape(figure_text(verdict))}</b>'
    target = target_text(verdict)
    if target is not None:
        text += f' <span style="{_MUTED}">vs {escape(target)}</span>'
    return text


def _counts_html(verdict: Verdict) -> str:
    if verdict.numerator is None or verdict.denominator is None:
        return ""
    return f"{count_text(verdict.numerator)} / {count_text(verdict.denominator)}"


def _threshold_html(verdict: Verdict) -> str:
    text = escape(verdict.threshold or "no threshold (figures only)")
    against = verdict.judged_against
    if against and against != "threshold":
        text += f'<br><span style="{_MUTED};font-size:0.85em">{escape(against)}</span>'
    return text


def _row_html(verdict: Verdict, indent: bool) -> str:
    label = escape(_label(verdict) if indent else verdict.rule_id)
    if indent:
        label = f'<span style="padding-left:1.2em;{_MUTED}">↳ {label}</span>'
    title = "" if indent else f'<br><span style="{_MUTED};font-size:0.85em">'
    title += "" if indent else f"{escape(verdict.title)}</span>"
    note = f' <span style="{_MUTED}">({escape(verdict.reason)})</span>' if verdict.reason else ""
    cells = [
        label + title,
        escape(verdict.period),
        _pill(verdict) + note,
        _figure_html(verdict),
        _threshold_html(verdict),
        _counts_html(verdict),
        count_text(failing_rows(verdict)) if failing_rows(verdict) else "",
    ]
    return "<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in cells) + "</tr>"


def _table(header: list[str], rows: list[str]) -> str:
    head = "".join(f'<th style="{_HEAD}">{escape(h)}</th>' for h in header)
    body = "".join(rows)
    return f'<table style="{_TABLE}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


# ------------------------------------------------------------------ HTML
def evaluation_html(evaluation: Evaluation) -> str:
    p = evaluation.provenance
    lines = summarise(evaluation)
    summary = " ".join(
        f'<span style="color:{COLOURS[s]};font-weight:600">{n} {escape(s)}</span>'
        for s, n in lines.counts.items()
    )
    if lines.lines:
        summary += f' <span style="{_MUTED}">({len(lines.lines)} {escape(COUNTED)})</span>'
    as_of = f" · as of {p.as_of}" if p.as_of else ""
    rows = [_row_html(line.verdict, line.is_group) for line in lines.lines[:MAX_HTML_ROWS]]
    total = len(lines.lines)
    more = ""
    if total > MAX_HTML_ROWS:
        more = (
            f'<div style="{_MUTED}">… {total - MAX_HTML_ROWS} more rows; '
            "use <code>to_frame()</code> to see them all</div>"
        )
    if not evaluation.verdicts:
        more = f'<div style="{_MUTED}">No verdicts: no period was evaluated.</div>'
    issues = ""
    if evaluation.data_issues:
        issues = (
            f'<div style="{_MUTED}">{len(evaluation.data_issues)} data issue(s); see '
            "<code>evaluation.data_issues</code></div>"
        )
    header = ["rule", "period", "status", "figure vs target", "threshold", "n / d", "failing rows"]
    return (
        f"<div><div><b>{escape(evaluation.spec_title)}</b> "
        f'<span style="{_MUTED}">· period {escape(p.period)}{as_of} · '
        f"evaluated {p.evaluated_at:%Y-%m-%d %H:%M} UTC</span></div>"
        f"<div>{summary}</div>{_table(header, rows)}{more}{issues}</div>"
    )


def verdict_html(verdict: Verdict) -> str:
    details: list[tuple[str, str]] = [
        ("figure", _figure_html(verdict)),
        ("threshold", _threshold_html(verdict)),
    ]
    if verdict.gap is not None:
        details.append(("gap", escape(gap_text(verdict))))
    if verdict.numerator is not None and verdict.denominator is not None:
        details.append(("numerator / denominator", _counts_html(verdict)))
    if verdict.populations:
        details.append(
            ("populations", escape(", ".join(f"{k} {v}" for k, v in verdict.populations.items())))
        )
    if verdict.excluded:
        details.append(
            ("left out", escape("; ".join(f"{e.count} {e.reason}" for e in verdict.excluded)))
        )
    if verdict.reason:
        details.append(("why no verdict", escape(verdict.reason)))
    if verdict.consequence:
        details.append(("consequence of breach", escape(verdict.consequence)))
    source = verdict.source.section + (
        f" — “{verdict.source.quote}”" if verdict.source.quote else ""
    )
    details.append(("source", escape(source)))
    table = "".join(
        f'<tr><th style="{_CELL};{_MUTED};font-weight:normal">{escape(k)}</th>'
        f'<td style="{_CELL}">{v}</td></tr>'
        for k, v in details
    )
    breaches = ""
    if verdict.breaches:
        shown = verdict.breaches[:MAX_BREACH_ROWS]
        rows = [
            f'<tr><td style="{_CELL}">{escape(b.key)}</td><td style="{_CELL}">{b.row}</td>'
            f'<td style="{_CELL}">{escape(b.reason)}</td></tr>'
            for b in shown
        ]
        more = len(verdict.breaches) - len(shown)
        breaches = (
            f'<div style="margin-top:6px"><b>{count_text(verdict.breach_count)} failing row(s)</b>'
            + (f' <span style="{_MUTED}">(first {len(shown)}; {more} more)</span>' if more else "")
            + _table(["key", "row", "reason"], rows)
            + "</div>"
        )
    group = ", ".join(f"{k}={v}" for k, v in (verdict.group or {}).items())
    return (
        f'<div style="border-left:5px solid {colour(verdict)};padding-left:8px">'
        f"<div><b>{escape(verdict.title)}</b></div>"
        f'<div style="{_MUTED}">{escape(verdict.rule_id)} · {escape(verdict.kind)} · '
        f"{escape(verdict.period)} ({verdict.period_start} to {verdict.period_end})"
        + (f" · {escape(group)}" if group else "")
        + f'</div><div style="margin:4px 0">{_pill(verdict)}</div>'
        f'<table style="{_TABLE}">{table}</table>{breaches}</div>'
    )


def _method(rule: object) -> str:
    """How a rule is measured, in the spec's own words."""
    kind = type(rule).__name__
    parts: list[str] = []

    def add(label: str, name: str) -> None:
        value = getattr(rule, name, None)
        if value not in (None, "", False):
            parts.append(f"{label}: {value}")

    add("applies to", "applies_to")
    if kind == "Eligibility":
        add("accept", "accept")
        add("exclude", "exclude")
        add("on fail", "on_fail")
    elif kind == "ResponseTime":
        add("from", "start")
        add("to", "end")
        add("within", "limit")
        add("clock", "clock")
    else:
        add("scoring", "scoring")
        add("population", "initial_population")
        add("denominator", "denominator")
        add("excluding", "denominator_exclusions")
        add("exceptions", "denominator_exceptions")
        add("numerator", "numerator")
        add("observation", "observation")
        add("aggregate", "aggregate")
        add("distinct", "distinct")
    add("per", "period")
    if getattr(rule, "breakdowns", None):
        parts.append("by " + ", ".join(rule.breakdowns))  # type: ignore[attr-defined]
    return "<br>".join(escape(p) for p in parts)


def spec_html(spec: Spec) -> str:
    """The spec as the commissioner's table: indicator, threshold, method, consequence."""
    model = spec.model
    contract = model.contract
    extensions = "".join(f", extendable to {e.until}" for e in contract.extensions)
    rows = []
    for rule in model.rules():
        threshold = getattr(rule, "threshold", None) or getattr(rule, "target", None)
        if getattr(rule, "monitoring_only", False) or threshold is None:
            threshold_cell = f'<span style="{_MUTED}">monitoring only</span>'
        else:
            threshold_cell = escape(threshold_words(threshold) or "")
        consequence = model.consequences.get(rule.consequence or "")
        source = rule.source.section + (f" (line {rule.source.line})" if rule.source.line else "")
        cells = [
            f"<b>{escape(rule.title)}</b><br>"
            f'<span style="{_MUTED};font-size:0.85em">{escape(rule.id)} · dataset '
            f"{escape(rule.dataset)}</span>",
            threshold_cell,
            _method(rule),
            escape(consequence.text) if consequence else "",
            f'<span style="font-size:0.85em">{escape(source)}</span>',
        ]
        rows.append("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in cells) + "</tr>")
    datasets = ", ".join(
        f"<code>{escape(name)}</code> ({len(ds.fields)} fields)"
        for name, ds in model.datasets.items()
    )
    header = ["indicator", "threshold", "method of measurement", "consequence of breach", "source"]
    return (
        f"<div><div><b>{escape(model.title)}</b></div>"
        f'<div style="{_MUTED}">{escape(model.commissioner)} · contract {contract.start} to '
        f"{contract.end}{escape(extensions)} · {len(model.rules())} rules</div>"
        f'<div style="{_MUTED}">datasets: {datasets}</div>'
        f"{_table(header, rows)}</div>"
    )
