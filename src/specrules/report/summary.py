"""What every renderer counts, defined once.

The unit counted is a *verdict line*: one rule in one period for one group. A rule with
breakdowns gives a line for the rule overall and a line per group; a rule judged per quarter
gives a line per quarter. Every period in the evaluation is counted (a breach in Q2 still
needs action when Q4 is met). The HTML and Markdown reports, the text table, `repr`, the
notebook display, the charts and the workbook all count through `summarise`, and say so
with `COUNTED`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from specrules.results import Evaluation, Verdict

#: Statuses in the order a reader needs them: what needs action first.
STATUS_ORDER = ("not met", "met", "monitoring", "no data", "not due")
#: What a count counts, as every renderer labels it.
COUNTED = "verdicts: one per rule, period and breakdown group"


def group_label(group: dict[str, str] | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (group or {}).items())


@dataclass(frozen=True)
class Line:
    """One verdict line: a rule's verdict for a period, overall or for one group."""

    verdict: Verdict
    parent: Verdict  # the rule's overall verdict for the period (itself when not a group)

    @property
    def is_group(self) -> bool:
        return self.verdict is not self.parent

    @property
    def label(self) -> str:
        """`rule_id` or `rule_id [field=value]`."""
        group = group_label(self.verdict.group)
        return self.verdict.rule_id + (f" [{group}]" if group else "")


@dataclass(frozen=True)
class Summary:
    lines: tuple[Line, ...]

    @property
    def counts(self) -> dict[str, int]:
        """Lines per status, in STATUS_ORDER, statuses with none left out."""
        found = {status: 0 for status in STATUS_ORDER}
        for line in self.lines:
            found[line.verdict.status] += 1
        return {status: n for status, n in found.items() if n}

    @property
    def rules(self) -> int:
        return len({line.verdict.rule_id for line in self.lines})

    def of(self, *statuses: str) -> list[Line]:
        return [line for line in self.lines if line.verdict.status in statuses]

    def counts_text(self) -> str:
        """`3 not met, 5 met, 2 monitoring` (or `no verdicts`)."""
        return ", ".join(f"{n} {status}" for status, n in self.counts.items()) or "no verdicts"

    def headline(self) -> str:
        """The counts with what they count: the one sentence every renderer prints."""
        n = len(self.lines)
        return (
            f"{self.counts_text()} ({n} verdict{'s' if n != 1 else ''} of {self.rules} "
            f"rule{'s' if self.rules != 1 else ''}; {COUNTED})"
        )


def lines_of(verdicts: Iterable[Verdict]) -> list[Line]:
    """Each verdict's line, followed by its groups' lines."""
    found: list[Line] = []
    for verdict in verdicts:
        found.append(Line(verdict, verdict))
        found.extend(Line(group, verdict) for group in verdict.groups)
    return found


def summarise(evaluation: Evaluation) -> Summary:
    return Summary(tuple(lines_of(evaluation.verdicts)))


def failing_rows(verdict: Verdict) -> int:
    """Rows that fail a judged rule; 0 for monitoring figures, which nothing is judged by."""
    return verdict.breach_count if verdict.status in ("met", "not met") else 0
