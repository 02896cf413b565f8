"""Charts of an Evaluation for notebooks (matplotlib; `pip install "specrules[analysis]"`).

Each function draws on `ax` (or on a new figure's axes) and returns the matplotlib `Axes`,
so an analyst can restyle, annotate or save it. Colours follow the verdicts' RAG rating.

- `kpi_overview(evaluation)`: every rule's figure against its threshold, one dot per rule.
  Figures have different units (shares, counts, days), so each is drawn as a percentage of
  its target, turned so that right of the 100% line always means "meets the threshold"
  (for "at most" thresholds and reductions the ratio is target / figure). The real figure
  and target are written beside each dot. Rules with no target (monitoring only, no data)
  are listed in grey without a dot.
- `trend(evaluation, rule_id)`: one rule over its periods, with its target as a dashed line.
  A monitoring-only rule (no threshold) is drawn without the line and the title says so:
  its figures are still worth seeing over time.
- `response_time_distribution(evaluation, rule_id)`: elapsed time from start to end for the
  rows a response-time rule judged, stacked on time / late, with the limit(s) marked. Rows
  with no end (or no start) event cannot be placed on the axis; the title counts them.

Bad input raises `KeyError` (an unknown rule or period, naming the known ones) or
`ValueError` (nothing to draw, or the wrong kind of rule), never an error from deep inside
matplotlib.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from specrules.report.elapsed import elapsed_times
from specrules.report.figures import (
    MAX_SCORE,
    figure_text,
    format_value,
    lower_is_better,
    score,
    target_text,
)
from specrules.report.notebook import COLOURS, colour
from specrules.report.summary import COUNTED, Summary, lines_of
from specrules.results import Evaluation, Verdict

if TYPE_CHECKING:
    from matplotlib.axes import Axes


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError('charts need matplotlib: pip install "specrules[analysis]"') from None
    return plt


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, new = _pyplot().subplots(figsize=size, layout="constrained")
    return new


def _require_verdicts(evaluation: Evaluation) -> None:
    if not isinstance(evaluation, Evaluation):
        raise TypeError(f"expected an Evaluation, got {type(evaluation).__name__}")
    if not evaluation.verdicts:
        raise ValueError(
            "the evaluation has no verdicts: no period was evaluated, so there is nothing "
            "to draw (check the data's dates and the period asked for)"
        )


def _rule_verdicts(evaluation: Evaluation, rule_id: str) -> list[Verdict]:
    _require_verdicts(evaluation)
    evaluation._rule_periods(rule_id, None)  # a KeyError naming the known rules
    found = [v for v in evaluation.verdicts if v.rule_id == rule_id]
    return sorted(found, key=lambda v: (v.period_start, v.period_end))


def _percent_axis(axis: Any) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0))


def _legend_for(ax: Axes, verdicts: list[Verdict]) -> None:
    from matplotlib.lines import Line2D

    seen: dict[str, str] = {}
    for v in verdicts:
        label = v.status if v.rag is None or v.rag in ("green", "red") else f"{v.status} ({v.rag})"
        seen.setdefault(label, colour(v))
    handles = [
        Line2D([], [], marker="o", linestyle="", color=c, label=label) for label, c in seen.items()
    ]
    if handles:
        ax.legend(handles=handles, loc="best", fontsize="small", frameon=False)


# ------------------------------------------------------------------ overview
def _overview_verdicts(evaluation: Evaluation, period: str | None) -> list[Verdict]:
    """One top-level verdict per rule: the latest, or the one for (or within) `period`."""
    by_rule: dict[str, list[Verdict]] = {}
    for v in evaluation.verdicts:
        by_rule.setdefault(v.rule_id, []).append(v)
    if period is None:
        return [max(vs, key=lambda v: (v.period_end, v.period_start)) for vs in by_rule.values()]
    exact = [v for v in evaluation.verdicts if v.period == period]
    if not exact:
        labels = ", ".join(dict.fromkeys(v.period for v in evaluation.verdicts))
        raise KeyError(f"no verdict for period {period!r}; the evaluation's periods: {labels}")
    start, end = exact[0].period_start, exact[0].period_end
    chosen = []
    for vs in by_rule.values():
        same = [v for v in vs if v.period == period]
        inside = [v for v in vs if v.period_start >= start and v.period_end <= end]
        if same or inside:
            chosen.append((same or sorted(inside, key=lambda v: v.period_end))[-1])
    return chosen


def kpi_overview(evaluation: Evaluation, period: str | None = None, ax: Axes | None = None) -> Axes:
    """Every rule's figure against its threshold, coloured by verdict (a dot plot).

    `period` picks the verdicts for that period (a rule judged in finer periods, such as
    quarters, shows its latest one within it); by default each rule's latest verdict.
    """
    _require_verdicts(evaluation)
    verdicts = _overview_verdicts(evaluation, period)
    ax = _axes(ax, (9, 0.45 * len(verdicts) + 1.5))
    scores = [score(v) for v in verdicts]
    drawn = [
        (i, v, s) for i, (v, s) in enumerate(zip(verdicts, scores, strict=True)) if s is not None
    ]
    x = [min(max(s, 0.0), MAX_SCORE) for _, _, s in drawn]
    y = [i for i, _, _ in drawn]
    ax.scatter(x, y, c=[colour(v) for _, v, _ in drawn], s=60, zorder=3, clip_on=False)
    ax.axvline(1.0, color="#444", linestyle="--", linewidth=1, zorder=2)
    right = max([1.25, *(xi * 1.08 for xi in x)])
    for (_, v, _), xi, yi in zip(drawn, x, y, strict=True):
        ax.annotate(
            f"{figure_text(v)} vs {target_text(v)}",
            (xi, yi),
            xytext=(7, 0),
            textcoords="offset points",
            va="center",
            fontsize="small",
        )
    for i, (v, s) in enumerate(zip(verdicts, scores, strict=True)):
        if s is None:
            what = v.status if v.value is None else f"{v.status}: {figure_text(v)} (no threshold)"
            ax.annotate(what, (0.01, i), va="center", fontsize="small", color=COLOURS[v.status])
    ax.set_yticks(range(len(verdicts)))
    ax.set_yticklabels(
        [
            v.rule_id + (f"  ({v.period})" if period is not None and v.period != period else "")
            for v in verdicts
        ]
    )
    ax.set_ylim(len(verdicts) - 0.5, -0.5)
    ax.set_xlim(-0.03, right + 0.35)
    _percent_axis(ax.xaxis)
    ax.set_xlabel("figure as a share of its target (right of the dashed line meets it)")
    # Counted as every renderer counts (verdict lines), over the verdicts drawn here.
    drawn_lines = Summary(tuple(line for line in lines_of(verdicts) if not line.is_group))
    shown = period or "latest period of each rule"
    ax.set_title(
        f"{evaluation.spec_title}\n{shown}: {drawn_lines.counts_text()}\n({COUNTED})",
        fontsize="medium",
    )
    _legend_for(ax, [v for _, v, _ in drawn])
    ax.grid(axis="x", alpha=0.3)
    return ax


# ------------------------------------------------------------------ trend
def trend(evaluation: Evaluation, rule_id: str, ax: Axes | None = None) -> Axes:
    """One rule's figure over its periods, dots coloured by verdict, target dashed.

    A monitoring-only rule has no target: it is drawn without a target line and the title
    says "monitoring only (no threshold)". A rule with no figure in any period is an error.
    """
    verdicts = _rule_verdicts(evaluation, rule_id)
    values = [math.nan if v.value is None else v.value for v in verdicts]
    if all(math.isnan(x) for x in values):
        reasons = "; ".join(dict.fromkeys(f"{v.status}: {v.reason or '-'}" for v in verdicts))
        raise ValueError(f"rule {rule_id!r} has no figure in any period to draw ({reasons})")
    ax = _axes(ax, (max(5.0, 0.9 * len(verdicts) + 3), 3.8))
    positions = np.arange(len(verdicts))
    ax.plot(positions, values, color="#555", linewidth=1.5, zorder=2, label="figure")
    has = [i for i, x in enumerate(values) if not math.isnan(x)]
    ax.scatter(
        positions[has],
        [values[i] for i in has],
        c=[colour(verdicts[i]) for i in has],
        s=60,
        zorder=3,
    )
    targets = [math.nan if v.target is None else v.target for v in verdicts]
    title = verdicts[0].title
    if all(math.isnan(t) for t in targets):
        title += "\nmonitoring only (no threshold)"
    else:
        # One level per period (targets can differ: pro rata, trajectories, reductions).
        ax.plot(
            np.arange(len(verdicts) + 1) - 0.5,
            [*targets, targets[-1]],
            color="#444",
            linestyle="--",
            drawstyle="steps-post",
            linewidth=1,
            zorder=1,
            label=f"target ({verdicts[0].threshold})",
        )
    for i in has:
        ax.annotate(
            figure_text(verdicts[i]),
            (positions[i], values[i]),
            xytext=(0, 7),
            textcoords="offset points",
            ha="center",
            fontsize="small",
        )
    ax.set_xticks(positions)
    ax.set_xticklabels([v.period for v in verdicts])
    ax.set_xlim(-0.5, len(verdicts) - 0.5)
    unit = verdicts[0].unit
    if unit == "share":
        _percent_axis(ax.yaxis)
    ax.set_ylabel(unit)
    ax.set_title(f"{rule_id}: {title}", fontsize="medium")
    known = [x for x in values + targets if not math.isnan(x)]
    low, high = min([0.0, *known]), max([0.0, *known])
    ax.set_ylim(low - 0.05 * (high - low or 1), high + 0.12 * (high - low or 1))
    from matplotlib.lines import Line2D

    handles, _ = ax.get_legend_handles_labels()
    for status in dict.fromkeys(verdicts[i].status for i in has):
        first = next(verdicts[i] for i in has if verdicts[i].status == status)
        handles.append(Line2D([], [], marker="o", linestyle="", color=colour(first), label=status))
    ax.legend(handles=handles, loc="best", fontsize="small", frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return ax


# ------------------------------------------------------------------ response times
def response_time_distribution(
    evaluation: Evaluation, rule_id: str, period: str | None = None, ax: Axes | None = None
) -> Axes:
    """Elapsed time from start to end, on time (green) and late (red), with the limit(s).

    Only the rows the rule judged (its denominator) are drawn, each once. With one limit the
    region beyond it is shaded; when the limit depends on the row (1 week for stop smoking,
    else 2 weeks) each distinct limit gets its own line and the bars' colour says which rows
    were late. The limit line sits at the boundary between the last on-time day and the
    first late one. Rows with no end or start event are counted in the title.
    """
    verdicts = _rule_verdicts(evaluation, rule_id)
    if verdicts[0].kind != "response_time":
        known = sorted({v.rule_id for v in evaluation.verdicts if v.kind == "response_time"})
        raise ValueError(
            f"rule {rule_id!r} is a {verdicts[0].kind} rule; a response-time distribution "
            f"needs a response-time rule (this evaluation has: {', '.join(known) or 'none'})"
        )
    times = elapsed_times(evaluation, rule_id, period)
    unit, late, limits, offset = times.unit, times.late, times.limits, times.limit_offset
    ax = _axes(ax, (8, 4))
    edges, on_time_counts, late_counts = times.histogram()
    lefts, widths = edges[:-1], np.diff(edges)
    shown_on_time = on_time_counts > 0
    ax.bar(
        lefts[shown_on_time],
        on_time_counts[shown_on_time],
        width=widths[shown_on_time],
        align="edge",
        color=COLOURS["green"],
        edgecolor="white",
        label=f"within the limit ({int((~late).sum())})",
    )
    shown_late = late_counts > 0
    ax.bar(
        lefts[shown_late],
        late_counts[shown_late],
        width=widths[shown_late],
        bottom=on_time_counts[shown_late],
        align="edge",
        color=COLOURS["red"],
        edgecolor="white",
        label=f"late ({int(late.sum())})",
    )
    for limit in limits:
        ax.axvline(limit + offset, color="#222", linestyle="--", linewidth=1.2)
        ax.annotate(
            f"limit {format_value(limit, unit)}",
            (limit + offset, 1),
            xycoords=("data", "axes fraction"),
            xytext=(3, -4),
            textcoords="offset points",
            rotation=90,
            va="top",
            fontsize="small",
        )
    if len(limits) == 1:
        ax.axvspan(
            limits[0] + offset, max(edges[-1], limits[0] + offset), color=COLOURS["red"], alpha=0.08
        )
    share = late.mean()
    title = f"{rule_id}: {share:.1%} late ({int(late.sum())} of {len(late)})"
    if len(times.unplaced):
        title += "; not drawn: " + ", ".join(f"{n} {r}" for r, n in times.unplaced.items())
    ax.set_title(title, fontsize="medium")
    from matplotlib.ticker import MaxNLocator

    low, high = float(edges[0]), max(float(edges[-1]), max(limits, default=0) + offset)
    ax.set_xlim(low - 0.02 * (high - low), high + 0.06 * (high - low) + offset)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    if unit != "hours":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"{unit} from start to end")
    ax.set_ylabel("rows")
    ax.legend(loc="best", fontsize="small", frameon=False)
    return ax


__all__ = ["kpi_overview", "lower_is_better", "response_time_distribution", "score", "trend"]
