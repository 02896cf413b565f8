"""A plain-text table of verdicts for terminals."""

from __future__ import annotations

from specrules.report.figures import count_text, figure_text, target_with_comparison
from specrules.report.summary import Line, failing_rows, summarise
from specrules.results import Evaluation

_MARK = {
    "met": "met",
    "not met": "NOT MET",
    "monitoring": "monitoring",
    "no data": "no data",
    "not due": "not due",
}


def _row(line: Line) -> list[str]:
    v = line.verdict
    counts = ""
    if v.numerator is not None and v.denominator is not None and v.unit == "share":
        counts = f"{count_text(v.numerator)}/{count_text(v.denominator)}"
    failing = count_text(failing_rows(v)) if failing_rows(v) else ""
    return [
        line.label,
        v.period,
        _MARK[v.status],
        figure_text(v),
        counts,
        target_with_comparison(v) or v.threshold or "-",
        failing,
    ]


def verdict_table(evaluation: Evaluation) -> str:
    summary = summarise(evaluation)
    header = ["rule", "period", "status", "value", "n/d", "target", "rows failing"]
    rows = [_row(line) for line in summary.lines]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(
        f"{evaluation.spec_title}: {summary.headline()}; "
        f"{len(evaluation.data_issues)} data issue(s)"
    )
    for name, rows_in in evaluation.rows.items():
        rejected = sum(rows_in.rejected.values())
        if rejected:
            why = "; ".join(f"{n} {r}" for r, n in rows_in.rejected.items())
            lines.append(
                f"  {name}: {rows_in.read} rows read, {rows_in.evaluated} evaluated, "
                f"{rejected} rejected ({why})"
            )
    return "\n".join(lines)
