"""The exception report as an Excel workbook (openpyxl), for commissioners and providers.

Sheets: `Summary` (every verdict line, what needs action first, status cells filled red,
amber or green), one sheet of failing rows per breach (every row, with why it failed, never
capped), `Data issues`, and `Provenance` (what was evaluated, when, from which files).
Figures are numbers with an Excel number format in their unit (14.9%, £1,250, 3.5 days), so
they can be sorted and summed. Under disclosure control a hidden count, and every figure
worked from it, is the text "*", and the rows behind breaches are not listed, as in the
HTML report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from specrules.report.disclosure import SUPPRESSED, Disclosure
from specrules.report.figures import DURATIONS, display_unit
from specrules.report.formulas import keep_as_text
from specrules.report.summary import COUNTED
from specrules.report.view import SummaryRow, build_view
from specrules.report.words import reason_in_words
from specrules.results import BreachRows, Evaluation

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

    from specrules.api import Spec

#: Cell fills by RAG colour (the HTML report's colours, lightened for a filled cell).
FILLS = {"green": "DAFBE1", "amber": "FFF8C5", "red": "FFEBE9", "grey": "EAEEF2"}
SUMMARY_COLUMNS = [
    "Rule",
    "Title",
    "Group",
    "Period",
    "Status",
    "RAG",
    "Figure",
    "Measure",
    "Target",
    "Gap",
    "Numerator",
    "Denominator",
    "Rows failing",
    "Threshold",
    "Consequence",
    "Due",
    "Rows sheet",
]
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def number_format(unit: str) -> str:
    """The Excel number format of a figure shown in `unit` (a display unit)."""
    if unit == "percent":
        return "0.0%"
    if unit == "money":
        return "£#,##0.00"
    if unit == "count":
        return "#,##0"
    if unit in DURATIONS:
        return f'#,##0.0 "{unit}"'
    return "#,##0.###"


def _gap_cell(row: SummaryRow) -> tuple[Any, str]:
    """The gap as a number: percentage points for a percentage (a share's gap × 100)."""
    gap, unit = row.verdict.gap, display_unit(row.verdict)
    if row.figures.gap == SUPPRESSED:
        return SUPPRESSED, "General"
    if gap is None:
        return None, "General"
    if unit == "percent":
        return gap * 100, '+0.0" pp";-0.0" pp"'
    return gap, "+" + number_format(unit) + ";-" + number_format(unit)


def _count_cell(shown: str, count: float | None) -> Any:
    """A count as a number, or "*" when disclosure control hides it."""
    return SUPPRESSED if shown == SUPPRESSED else count


def _sheet_name(number: int, rule_id: str) -> str:
    """`<n> <rule_id>`: at most 31 characters, none that Excel refuses; the number keeps
    names unique."""
    return _SHEET_NAME_BAD.sub("-", f"{number} {rule_id}")[:31]


def _summary_sheet(sheet: Worksheet, view: Any, rows_sheets: dict[int, str]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    p = view.provenance
    sheet.append([f"Exception report: {view.title}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([f"Period {p.period}; evaluated {p.evaluated_at:%Y-%m-%d %H:%M} UTC"])
    sheet.append([f"{view.headline}"])
    for note in view.notes:
        sheet.append([note])
    sheet.append([])
    sheet.append(SUMMARY_COLUMNS)
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
    order = [*view.action, *view.met, *view.monitoring, *view.no_verdict]
    for row in order:
        v = row.verdict
        unit = display_unit(v)
        gap, gap_format = _gap_cell(row)
        figure = SUPPRESSED if row.figures.value == SUPPRESSED else v.value
        failing = v.breach_count if v.status in ("met", "not met") else None
        consequence = row.breach.consequence_short if row.breach else ""
        sheet.append(
            [
                v.rule_id,
                v.title,
                row.group_label,
                v.period,
                v.status,
                v.rag or "",
                figure,
                v.measure or "",
                v.target,
                gap,
                _count_cell(row.figures.numerator, v.numerator),
                _count_cell(row.figures.denominator, v.denominator),
                _count_cell(row.figures.breach_count, failing) if failing else None,
                v.threshold or "",
                consequence,
                v.due,
                rows_sheets.get(id(v), ""),
            ]
        )
        line = dict(zip(SUMMARY_COLUMNS, sheet[sheet.max_row], strict=True))
        line["Figure"].number_format = line["Target"].number_format = number_format(unit)
        line["Gap"].number_format = gap_format
        for name in ("Numerator", "Denominator", "Rows failing"):
            line[name].number_format = "#,##0"
        moment = row.due and " " in row.due
        line["Due"].number_format = "yyyy-mm-dd hh:mm" if moment else "yyyy-mm-dd"
        fill = PatternFill("solid", fgColor=FILLS[row.rag_class])
        line["Status"].fill = line["RAG"].fill = fill
    widths = [28, 48, 22, 12, 11, 8, 11, 24, 11, 11, 11, 12, 12, 30, 22, 12, 14]
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    for line in sheet.iter_rows(min_row=header_row):
        line[1].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=2)
    sheet.auto_filter.ref = f"A{header_row}:{chr(ord('A') + len(widths) - 1)}{sheet.max_row}"


def _rows_sheet(sheet: Worksheet, breach: Any, withheld: bool) -> None:
    from openpyxl.styles import Font

    v = breach.verdict
    group = f" [{breach.group_label}]" if breach.group_label else ""
    sheet.append([f"{v.rule_id}{group} {v.period}: {v.title}"])
    sheet["A1"].font = Font(bold=True)
    sheet.append(
        [f"{breach.figures.value} against {breach.figures.target}; gap {breach.figures.gap}"]
    )
    if withheld:
        sheet.append(["Rows not listed under disclosure control."])
        return
    sheet.append([])
    sheet.append(["Key", "Row", "Why it failed", "Reason as recorded"])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    rows = v.breaches
    frame = (rows if isinstance(rows, BreachRows) else BreachRows.from_results(rows)).to_frame()
    # each distinct reason is put in words once: a breach's rows share a few reasons
    codes, reasons = pd.factorize(frame["reason"].astype(str))
    words = [reason_in_words(reason) for reason in reasons]
    for key, row, code in zip(frame["key"], frame["row"], codes, strict=True):
        sheet.append([key, int(row), words[code], reasons[code]])
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["C"].width = 70
    sheet.column_dimensions["D"].width = 50
    sheet.freeze_panes = "A5"


def _issues_sheet(sheet: Worksheet, evaluation: Evaluation) -> None:
    sheet.append(["Dataset", "Row", "Column", "Value", "Issue", "Severity"])
    for i in evaluation.data_issues:
        sheet.append([i.dataset, i.row, i.column, i.value, i.message, i.severity])
    sheet.column_dimensions["E"].width = 80


def _provenance_sheet(sheet: Worksheet, view: Any, disclosure: Disclosure) -> None:
    p = view.provenance
    facts: list[tuple[str, Any]] = [
        ("Spec", view.title),
        ("Spec file", p.spec_file or ""),
        ("Spec sha256", p.spec_sha256),
        ("Period", p.period),
        ("Data as of", str(p.as_of) if p.as_of else ""),
        ("Evaluated at (UTC)", f"{p.evaluated_at:%Y-%m-%d %H:%M:%S}"),
        ("specrules version", p.library_version),
        ("Results schema", p.result_schema),
        ("Counted", COUNTED),
        ("Suppressed below", disclosure.below if disclosure.active else "not applied"),
    ]
    facts += [(f"Data sha256: {name}", digest) for name, digest in p.data_sha256.items()]
    for fact in facts:
        sheet.append(list(fact))
    sheet.append([])
    sheet.append(["Dataset", "Read", "Evaluated", "Rejected", "Why rejected"])
    for d in view.datasets:
        why = "; ".join(f"{n} {reason}" for reason, n in d.reasons)
        sheet.append([d.name, d.read, d.evaluated, d.rejected, why])
    sheet.column_dimensions["A"].width = 26
    sheet.column_dimensions["B"].width = 70


def write_workbook(
    evaluation: Evaluation,
    path: str | Path,
    *,
    spec: Spec | None = None,
    suppress_below: int | None = None,
) -> Path:
    """Write the workbook to `path`; returns the path."""
    try:
        from openpyxl import Workbook
    except ImportError:  # pragma: no cover - openpyxl is a dependency
        raise ImportError("--format xlsx needs openpyxl: pip install openpyxl") from None
    disclosure = Disclosure(suppress_below)
    view = build_view(evaluation, spec=spec, disclosure=disclosure)
    book = Workbook()
    summary = book.active
    summary.title = "Summary"
    rows_sheets: dict[int, str] = {}
    for breach in view.breaches:
        name = _sheet_name(breach.number, breach.verdict.rule_id)
        rows_sheets[id(breach.verdict)] = name
        _rows_sheet(book.create_sheet(name), breach, disclosure.active)
    _summary_sheet(summary, view, rows_sheets)
    _issues_sheet(book.create_sheet("Data issues"), evaluation)
    _provenance_sheet(book.create_sheet("Provenance"), view, disclosure)
    keep_as_text(book)  # no value from the data or the spec runs as a formula
    target = Path(path)
    book.save(target)
    return target
