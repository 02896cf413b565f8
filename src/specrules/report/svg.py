"""Charts as inline SVG for the HTML report: nothing fetched, no plotting library, prints sharp.

Each chart is a `viewBox` drawing that scales to the width of its box, with every label as
text (so the printed PDF carries it) and a `<title>` for screen readers. Colours follow the
verdicts; status is always written out too, so the charts read in greyscale. The callers
pass figures that have been through disclosure control: a figure shown as "*" is given as
None and is not drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from specrules.report.figures import MAX_SCORE

COLOURS = {"green": "#1a7f37", "amber": "#9a6700", "red": "#cf222e", "grey": "#57606a"}
INK, MUTED, RULE = "#1d2327", "#57606a", "#d0d7de"
FONT = 'font-family="system-ui, sans-serif"'


def _svg(width: int, height: int, title: str, body: list[str], css_class: str) -> str:
    return (
        f'<svg class="chart {css_class}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" {FONT} font-size="11">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, dashed: bool = False) -> str:
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
        f'stroke="{colour}" stroke-width="1.2"{dash}/>'
    )


def _fit(text: str, chars: int) -> str:
    """Text cut to `chars` characters (with an ellipsis), so a label stays inside its chart."""
    return text if len(text) <= chars else text[: chars - 1] + "…"


# ------------------------------------------------------------------ overview
LABEL_CHARS = 46  # about 300 px of 11 px text


@dataclass(frozen=True)
class OverviewRow:
    label: str  # rule id, period and group
    score: float | None  # figure / target, oriented so that 1 or more meets it
    rag: str  # green, amber, red, grey
    note: str  # "75.0% vs 100.0%", or why there is no dot


def overview(rows: Sequence[OverviewRow], title: str) -> str:
    """One dot per verdict line at its figure as a share of its target; 100% dashed."""
    width, label_w, row_h, top = 720, 300, 18, 34
    plot_w = 260
    height = top + row_h * len(rows) + 26

    def x(score: float) -> float:
        return label_w + plot_w * min(max(score, 0.0), MAX_SCORE) / MAX_SCORE

    body = [_text(0, 14, _fit(title, 110), font_weight="600")]
    for tick in (0.0, 0.5, 1.0, 1.5, 2.0):
        body.append(_line(x(tick), top - 6, x(tick), height - 22, RULE))
        body.append(_text(x(tick), height - 8, f"{tick:.0%}", "middle", fill=MUTED))
    body.append(_line(x(1.0), top - 6, x(1.0), height - 22, INK, dashed=True))
    body.append(_text(x(1.0), top - 10, "target", "middle", fill=MUTED))
    for i, row in enumerate(rows):
        y = top + row_h * i + row_h / 2
        body.append(_text(label_w - 8, y + 4, _fit(row.label, LABEL_CHARS), "end"))
        if row.score is not None:
            body.append(
                f'<circle cx="{x(row.score):.1f}" cy="{y:.1f}" r="5" fill="{COLOURS[row.rag]}"/>'
            )
        body.append(_text(label_w + plot_w + 10, y + 4, _fit(row.note, 24), fill=MUTED))
    return _svg(width, height, title, body, "overview")


# ------------------------------------------------------------------ trend
@dataclass(frozen=True)
class TrendPoint:
    period: str
    value: float | None  # None: no figure, or hidden by disclosure control
    target: float | None
    label: str  # the figure as printed
    rag: str


def _scale(low: float, high: float, top: float, bottom: float):
    span = (high - low) or 1.0

    def y(value: float) -> float:
        return bottom - (value - low) / span * (bottom - top)

    return y


def trend(points: Sequence[TrendPoint], title: str, target_label: str | None) -> str:
    """A rule's figure over its periods (dots in the verdict's colour), its target dashed."""
    width, height, left, right, top, bottom = 720, 200, 40, 700, 30, 160
    known = [p.value for p in points if p.value is not None]
    known += [p.target for p in points if p.target is not None]
    low, high = min([0.0, *known]), max([0.0, *known])
    high += 0.12 * ((high - low) or 1.0)
    y = _scale(low, high, top, bottom)
    step = (right - left) / max(len(points), 1)

    def x(i: int) -> float:
        return left + step * (i + 0.5)

    body = [_text(0, 14, title, font_weight="600"), _line(left, bottom, right, bottom, RULE)]
    targets = [(i, p.target) for i, p in enumerate(points) if p.target is not None]
    for i, target in targets:  # one level per period: targets can differ by period
        body.append(_line(x(i) - step / 2, y(target), x(i) + step / 2, y(target), INK, True))
    if targets and target_label:
        body.append(_text(right, y(targets[-1][1]) - 4, target_label, "end", fill=MUTED))
    drawn = [(x(i), y(p.value)) for i, p in enumerate(points) if p.value is not None]
    if len(drawn) > 1:
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in drawn)
        body.append(f'<polyline points="{path}" fill="none" stroke="{MUTED}" stroke-width="1.5"/>')
    for i, p in enumerate(points):
        body.append(_text(x(i), bottom + 16, p.period, "middle"))
        if p.value is None:
            body.append(_text(x(i), bottom - 6, p.label, "middle", fill=MUTED))
            continue
        body.append(
            f'<circle cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="5" fill="{COLOURS[p.rag]}"/>'
        )
        body.append(_text(x(i), y(p.value) - 9, p.label, "middle"))
    return _svg(width, height, title, body, "trend")


# ------------------------------------------------------------------ response times
@dataclass(frozen=True)
class Bar:
    low: float  # the bin's edges, in the rule's unit
    high: float
    on_time: int | None  # None: a count hidden by disclosure control
    late: int | None


def distribution(
    bars: Sequence[Bar], limits: Sequence[float], unit: str, title: str, limit_label: str
) -> str:
    """Elapsed times as a histogram, on time (green) under late (red), the limit dashed."""
    width, height, left, right, top, bottom = 720, 220, 40, 700, 30, 176
    lo = min([b.low for b in bars] + list(limits))
    hi = max([b.high for b in bars] + list(limits))
    span = (hi - lo) or 1.0

    def x(value: float) -> float:
        return left + (value - lo) / span * (right - left)

    tallest = max([(b.on_time or 0) + (b.late or 0) for b in bars] + [1])
    y = _scale(0.0, tallest * 1.1, top, bottom)
    body = [_text(0, 14, title, font_weight="600"), _line(left, bottom, right, bottom, RULE)]
    for bar in bars:
        x0, w = x(bar.low), max(x(bar.high) - x(bar.low) - 1, 1)
        if bar.on_time is None or bar.late is None:  # hidden: marked, not measured
            body.append(_text(x0 + w / 2, bottom - 4, "*", "middle", fill=MUTED))
            continue
        base = bottom
        for count, colour in ((bar.on_time, COLOURS["green"]), (bar.late, COLOURS["red"])):
            if count:
                top_y = y(count) - (bottom - base)
                body.append(
                    f'<rect x="{x0:.1f}" y="{top_y:.1f}" width="{w:.1f}" '
                    f'height="{base - top_y:.1f}" fill="{colour}"/>'
                )
                base = top_y
    for limit in limits:
        body.append(_line(x(limit), top - 4, x(limit), bottom, INK, dashed=True))
    if limits:  # beside the last limit line, on whichever side has room
        at = x(limits[-1])
        inside = at > (left + right) / 2
        body.append(
            _text(at - 4 if inside else at + 4, top + 6, limit_label, "end" if inside else "start")
        )
    body.append(_line(left, y(tallest), right, y(tallest), RULE))
    body.append(_text(left - 4, y(tallest) + 4, f"{tallest:,}", "end", fill=MUTED))
    body.append(_text(left - 4, bottom + 4, "0", "end", fill=MUTED))
    for value in (lo, (lo + hi) / 2, hi):
        body.append(_text(x(value), bottom + 14, f"{value:,.3g}", "middle", fill=MUTED))
    body.append(_text(right, bottom + 30, f"{unit} from start to end", "end", fill=MUTED))
    body.append(_text(left, bottom + 30, "green: within the limit · red: late", fill=MUTED))
    return _svg(width, height, title, body, "distribution")
