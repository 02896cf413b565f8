"""The report's charts from its verdicts: what each SVG chart draws, after disclosure control.

A figure hidden by disclosure control is not drawn (its label shows "*"), and a histogram bar
whose count would be hidden is marked "*" without a height, so no chart gives back a count
the tables hide.
"""

from __future__ import annotations

from specrules.report import svg
from specrules.report.disclosure import SUPPRESSED, Disclosure
from specrules.report.elapsed import elapsed_times
from specrules.report.figures import display_unit, figure_text, format_value, score, target_text
from specrules.report.summary import Line
from specrules.results import Evaluation, Verdict


def _rag(verdict: Verdict) -> str:
    return verdict.rag or {"met": "green", "not met": "red"}.get(verdict.status, "grey")


def overview_chart(lines: list[Line], hidden: set[int], counts: str) -> str:
    """Every judged verdict line (not met first, then met) against its target."""
    rows = []
    for line in lines:
        v = line.verdict
        label = f"{line.label} {v.period}"
        if id(v) in hidden:
            rows.append(svg.OverviewRow(label, None, _rag(v), f"{SUPPRESSED} vs {target_text(v)}"))
            continue
        note = f"{figure_text(v)} vs {target_text(v)}" if v.target is not None else v.status
        rows.append(svg.OverviewRow(label, score(v), _rag(v), note))
    return svg.overview(rows, f"Figures against targets: {counts}")


def trend_chart(series: list[Verdict], hidden: set[int]) -> str | None:
    """A breached rule (and group) over the periods of the evaluation; None for one period."""
    if len(series) < 2:
        return None
    unit = display_unit(series[-1])
    points = [
        svg.TrendPoint(
            period=v.period,
            value=None if id(v) in hidden else v.value,
            target=v.target,
            label=SUPPRESSED if id(v) in hidden else format_value(v.value, unit),
            rag=_rag(v),
        )
        for v in series
    ]
    last = series[-1]
    title = f"{last.rule_id}: figure by period, target dashed"
    return svg.trend(points, title, f"target ({last.threshold})" if last.threshold else None)


Charts = dict[tuple[str, str], tuple[str | None, str | None]]


def distribution_chart(
    evaluation: Evaluation, verdict: Verdict, disclosure: Disclosure, cache: Charts
) -> tuple[str | None, str | None]:
    """A response-time rule's elapsed times in the breached period: (svg, note).

    A rule's groups share its rows, so the chart is worked out once per rule and period
    (kept in `cache` while one report is built).
    """
    key = (verdict.rule_id, verdict.period)
    if key not in cache:
        cache[key] = _distribution(evaluation, verdict, disclosure)
    svg_text, note = cache[key]
    if verdict.group:
        note = (note + ". " if note else "") + "The chart shows every group's rows."
    return svg_text, note


def _distribution(
    evaluation: Evaluation, verdict: Verdict, disclosure: Disclosure
) -> tuple[str | None, str | None]:
    try:
        times = elapsed_times(evaluation, verdict.rule_id, verdict.period)
    except ValueError as exc:  # no rows kept (JSON read back, SQL engines) or none judged
        return None, f"No distribution of response times: {exc}."
    edges, on_time, late = times.histogram()
    bars = []
    for low, high, ok, bad in zip(edges[:-1], edges[1:], on_time, late, strict=True):
        hide = disclosure.hides(int(ok)) or disclosure.hides(int(bad))
        bars.append(svg.Bar(low, high, None if hide else int(ok), None if hide else int(bad)))
    limits = [limit + times.limit_offset for limit in times.limits]
    late_n, judged = int(times.late.sum()), len(times.late)
    shown = f"{disclosure.count(late_n)} of {disclosure.count(judged)}"
    title = f"{verdict.rule_id} {verdict.period}: time from start to end, {shown} late (all rows)"
    label = "limit " + ", ".join(format_value(x, times.unit) for x in times.limits)
    note = None
    if len(times.unplaced):
        note = "Not drawn (no elapsed time): " + "; ".join(
            f"{disclosure.count(int(n))} {reason}" for reason, n in times.unplaced.items()
        )
    return svg.distribution(bars, limits, times.unit, title, label), note
