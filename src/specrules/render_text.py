"""A plain-text table of verdicts for terminals."""

from __future__ import annotations

from specrules.results import Evaluation, Verdict

_MARK = {
    "met": "met",
    "not met": "NOT MET",
    "monitoring": "monitoring",
    "no data": "no data",
    "not due": "not due",
}


def format_figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "share":
        return f"{value:.1%}"
    if unit == "count":
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    if unit in ("days", "hours"):
        return f"{value:,.1f} {unit}"
    return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.2f}"


def _row(v: Verdict) -> list[str]:
    group = ", ".join(f"{k}={val}" for k, val in (v.group or {}).items())
    counts = ""
    if v.numerator is not None and v.denominator is not None and v.unit == "share":
        counts = f"{v.numerator:,.0f}/{v.denominator:,.0f}"
    target = format_figure(v.target, v.unit if v.unit != "ratio" else "number")
    return [
        v.rule_id + (f" [{group}]" if group else ""),
        v.period,
        _MARK[v.status],
        format_figure(v.value, v.unit),
        counts,
        target if v.target is not None else (v.threshold or "-"),
        str(v.breach_count) if v.breach_count else "",
    ]


def verdict_table(evaluation: Evaluation) -> str:
    header = ["rule", "period", "status", "value", "n/d", "target", "rows failing"]
    rows = []
    for verdict in evaluation.verdicts:
        rows.append(_row(verdict))
        rows.extend(_row(g) for g in verdict.groups)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    breaches = len(evaluation.breaches())
    issues = len(evaluation.data_issues)
    lines.append("")
    lines.append(
        f"{evaluation.spec_title}: {len(evaluation.verdicts)} verdict(s), "
        f"{breaches} not met; {issues} data issue(s)"
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
