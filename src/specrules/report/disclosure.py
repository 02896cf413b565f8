"""Disclosure control: small counts hidden in shared reports.

NHS statistical practice suppresses small counts in published tables so that individuals
cannot be picked out. Here `below=N` shows a count from 1 to N-1 as "*" (zero stays 0, since
"none" discloses nobody). Only what a report prints changes; the Evaluation and its verdicts
are never touched. Figures derived from a hidden count (a share, a gap) are hidden with it,
because they would give the count back; secondary suppression (hiding other cells so that
totals cannot be subtracted) is not attempted.
"""

from __future__ import annotations

from dataclasses import dataclass

SUPPRESSED = "*"


@dataclass(frozen=True)
class Disclosure:
    """Which counts a report may print. `below=None` (the default) prints every count."""

    below: int | None = None

    def __post_init__(self) -> None:
        if self.below is not None and self.below < 1:
            raise ValueError(f"suppress below must be 1 or more, not {self.below}")

    @property
    def active(self) -> bool:
        return self.below is not None and self.below > 1

    def hides(self, count: float | None) -> bool:
        """Whether this count is small enough to be shown as "*"."""
        if count is None or self.below is None:
            return False
        return 0 < count < self.below

    def count(self, count: float | None) -> str:
        """A count as printed: "-" when absent, "*" when suppressed."""
        if count is None:
            return "-"
        if self.hides(count):
            return SUPPRESSED
        return f"{count:,.0f}" if float(count).is_integer() else f"{count:,.1f}"
