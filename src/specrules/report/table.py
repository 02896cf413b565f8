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


SHOWN_ISSUES = 8  # kinds of data issue listed under the table; JSON and reports list all


def _issue_lines(evaluation: Evaluation) -> list[str]:
    """The data issues by kind (dataset, column, message), most rows first, with their first
    rows: the terminal shows what is wrong, not only how many things are."""
    kinds: dict[tuple[str, str, str], list[int | None]] = {}
    for i in evaluation.data_issues:
        kinds.setdefault((i.dataset, i.column or "", i.message), []).append(i.row)
    ordered = sorted(kinds.items(), key=lambda kind: -len(kind[1]))
    lines = []
    for (dataset, column, message), rows in ordered[:SHOWN_ISSUES]:
        where = f"{dataset}.{column}" if column else dataset
        numbered = [r for r in rows if r is not None]
        at = ""
        if numbered:
            first = ", ".join(str(r) for r in numbered[:5])
            noun = "rows" if len(numbered) > 1 else "row"
            at = f" ({noun} {first}{', …' if len(numbered) > 5 else ''})"
        count = f"{len(rows)} × " if len(rows) > 1 else ""
        lines.append(f"  {where}: {count}{message}{at}")
    if len(ordered) > SHOWN_ISSUES:
        lines.append(
            f"  … and {len(ordered) - SHOWN_ISSUES} more kinds: --format json or a report "
            "lists every issue"
        )
    return lines


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
    lines.extend(_issue_lines(evaluation))
    for name, rows_in in evaluation.rows.items():
        rejected = sum(rows_in.rejected.values())
        if rejected:
            why = "; ".join(f"{n} {r}" for r, n in rows_in.rejected.items())
            lines.append(
                f"  {name}: {rows_in.read} rows read, {rows_in.evaluated} evaluated, "
                f"{rejected} rejected ({why})"
            )
    return "\n".join(lines)
