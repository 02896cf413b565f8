"""Every figure a renderer prints, in its unit: the one formatter of the rendering layer.

A verdict's `unit` says what its value measures (a share 0-1, a count, days, a number). The
unit it is *shown* in also looks at the threshold the spec wrote: a ratio or a level judged
against "at least 60%" or "from 15.6%" reads as a percentage, one judged against "at most
£710000" as money. HTML, Markdown, the text table, `repr`, the charts and the workbook all
print through these functions, so one figure reads the same everywhere.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from specrules.dsl.types import SECONDS_IN

if TYPE_CHECKING:
    from specrules.results import Verdict

#: Units that are lengths of time, as verdicts and response times name them.
DURATIONS = ("seconds", "minutes", "hours", "days", "working days", "weeks", "months")


def display_unit(verdict: Verdict) -> str:
    """The unit a verdict's figure is shown in: percent, money, count, a duration or number."""
    unit = verdict.unit
    if unit == "share":
        return "percent"
    if unit in ("number", "ratio"):
        threshold = verdict.threshold or ""
        if "£" in threshold:
            return "money"
        if "%" in threshold:
            return "percent"
        return "number"
    return unit


def _plain(value: float, places: int) -> str:
    """Thousands separators; no trailing `.0` on a whole number."""
    if float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.{places}f}"


def readable_time(value: float, unit: str) -> tuple[float, str]:
    """A length of time in its stated unit, or in a smaller one when it is under 1 of it:
    0.0104 days reads as 15 minutes, 0.5 minutes as 30 seconds."""
    smaller = {"days": "hours", "hours": "minutes", "minutes": "seconds"}
    while value and abs(value) < 1 and unit in smaller:
        value, unit = value * SECONDS_IN[unit] / SECONDS_IN[smaller[unit]], smaller[unit]
    return value, unit


def _duration(value: float, unit: str, sign: str = "", digits: str = ",.1f") -> str:
    value, unit = readable_time(value, unit)
    text = f"{value:{sign}{digits}}".removesuffix(".0")
    name = unit[:-1] if abs(value) == 1 and unit.endswith("s") else unit
    return f"{text} {name}"


def format_value(value: float | None, unit: str, significant: int | None = None) -> str:
    """A figure in its unit: 14.9%, £1,250, 1,204, 3.5 days; "-" when there is none.

    `unit` is a display unit (`display_unit`); a verdict's own `share` is taken as percent.
    `significant` digits, when given, replace the usual rounding of a share, a length of
    time or a number (66.67% rather than 66.7%: enough to see why it is not 66.7%).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    digits = f".{significant}g" if significant else None
    if unit in ("percent", "share"):
        return f"{value * 100:{digits or '.1f'}}%"
    if unit == "money":
        text = f"£{abs(value):,.0f}" if float(value).is_integer() else f"£{abs(value):,.2f}"
        return "-" + text if value < 0 else text
    if unit == "count":
        return _plain(value, 1)
    if unit in DURATIONS:
        return _duration(value, unit, digits=digits or ",.1f")
    if digits:
        return f"{value:{digits}}"
    return f"{value:,.3g}" if abs(value) < 1 else _plain(value, 2)


def format_gap(gap: float | None, unit: str, short: bool = False) -> str:
    """The figure minus its target, signed: -25.0 percentage points (pp when short), -£300."""
    if gap is None or (isinstance(gap, float) and math.isnan(gap)):
        return "-"
    if unit in ("percent", "share"):
        return f"{gap * 100:+.1f} " + ("pp" if short else "percentage points")
    if unit == "money":
        return ("+" if gap >= 0 else "-") + format_value(abs(gap), "money")
    if unit == "count":
        return f"{gap:+,.0f}" if float(gap).is_integer() else f"{gap:+,.1f}"
    if unit in DURATIONS:
        return _duration(gap, unit, sign="+")
    return f"{gap:+.3g}" if abs(gap) < 1 else f"{gap:+,.2f}"


def figure_text(verdict: Verdict) -> str:
    """A verdict's figure in its unit."""
    return format_value(verdict.value, display_unit(verdict))


def target_text(verdict: Verdict) -> str | None:
    """The figure a verdict was judged against, in the same unit; None without one."""
    if verdict.target is None:
        return None
    return format_value(verdict.target, display_unit(verdict))


_COMPARISONS = ("at least", "at most", "more than", "less than", "fewer than", "exactly")


def target_with_comparison(verdict: Verdict) -> str | None:
    """The target with the threshold's direction: `less than 1.0%`, not a bare `1.0%` that
    reads the same as `at least 1.0%`."""
    target = target_text(verdict)
    written = (verdict.threshold or "").strip().lower()
    comparison = next((c for c in _COMPARISONS if written.startswith(c)), None)
    return f"{comparison} {target}" if target and comparison else target


def gap_text(verdict: Verdict, short: bool = False) -> str:
    return format_gap(verdict.gap, display_unit(verdict), short)


def count_text(count: float | None) -> str:
    """A count of rows or people: a whole number with thousands separators."""
    return "-" if count is None else _plain(count, 1)


# ------------------------------------------------------------------ against the target
MAX_SCORE = 2.0  # overview charts stop at 200% of target; further dots sit at the edge
_LOWER_IS_BETTER = ("at most", "less than", "fewer than", "no more than")


def lower_is_better(verdict: Verdict) -> bool:
    """Whether a smaller figure is better (an "at most" threshold, or a reduction)."""
    text = (verdict.threshold or "").strip().lower()
    return text.startswith(_LOWER_IS_BETTER) or "reduction" in text


def score(verdict: Verdict) -> float | None:
    """The figure as a fraction of its target, oriented so that 1 or more meets it.

    Figures have different units (shares, counts, days), so an overview of every rule draws
    this instead: for "at most" thresholds and reductions the ratio is target / figure.
    """
    value, target = verdict.value, verdict.target
    if value is None or target is None:
        return None
    text = (verdict.threshold or "").strip().lower()
    if text.startswith("between") and verdict.gap is not None:
        if verdict.gap == 0:
            return 1.0
        if verdict.gap > 0:  # above the upper bound: upper / value
            return (value - verdict.gap) / value if value else MAX_SCORE
    if lower_is_better(verdict):
        return target / value if value else (1.0 if target == 0 else MAX_SCORE)
    if target == 0:
        return 1.0 if value >= 0 else 0.0
    return value / target
