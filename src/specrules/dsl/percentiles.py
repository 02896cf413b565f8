"""Percentiles (centiles): the two methods, the rank they pick, and how a result names them.

Every engine computes the same two definitions (docs/decisions.md):

- `linear`: interpolation between the two nearest ranks, position (n - 1) × p / 100 counted
  from 0 (numpy's default, Excel PERCENTILE.INC, R type 7). [1, 2, 3, 4] at 90: 3.7. Every
  engine does numpy's floating-point steps (a + (b - a) × t below t = 0.5, b - (b - a) ×
  (1 - t) from it), so figures agree to the last digit with pandas' `quantile`.
- `nearest_rank`: the smallest value with at least p% of the values at or below it, the
  value at rank ceil(n × p / 100) counted from 1 (at least rank 1). [1, 2, 3, 4] at 90: 4.

The rank of `nearest_rank` is worked out in exact fractions of the centile as written
(90, 99.5), never as a float p / 100: 0.07 × 100 is 7.000000000000001 in floating point,
whose ceiling is one rank too high (Spark's percentile_disc and DuckDB's quantile_disc give
such wrong ranks for some centiles).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

Method = Literal["linear", "nearest_rank"]
DEFAULT_METHOD: Method = "linear"

METHOD_WORDS: dict[str, str] = {
    "linear": "linear interpolation",
    "nearest_rank": "nearest rank",
}


CENTILE_HINT = "write the centile as a number from 0 to 100, for instance 90 for the 90th"


def centile_out_of_range(percentile: float) -> str | None:
    """Why a centile cannot be computed (it runs from 0 to 100), or None when it can.
    Used for `percentile:` in a KPI and for `percentile(x, p)` in an expression."""
    if 0 <= percentile <= 100:
        return None
    return f"a centile runs from 0 to 100, not {percentile:g}"


def centile_fraction(percentile: float) -> Fraction:
    """p / 100 exactly, from the centile as written (99.5 is 199/400, not a float)."""
    return Fraction(repr(float(percentile))) / 100


def nearest_rank(percentile: float, count: int) -> int:
    """The rank (from 1) of the nearest-rank centile among `count` values (0 when none)."""
    if count <= 0:
        return 0
    fraction = centile_fraction(percentile) * count
    rank = -(-fraction.numerator // fraction.denominator)  # ceiling, in whole numbers
    return max(1, int(rank))


def ordinal(percentile: float) -> str:
    """90 → 90th, 1 → 1st, 22 → 22nd, 99.5 → 99.5th."""
    value = float(percentile)
    if not value.is_integer():
        return f"{value:g}th"
    number = int(value)
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10)
    return f"{number}{suffix or 'th'}"


def label(percentile: float, method: str | None) -> str:
    """How a result names the figure: `90th centile (linear interpolation)`."""
    return f"{ordinal(percentile)} centile ({METHOD_WORDS[method or DEFAULT_METHOD]})"
