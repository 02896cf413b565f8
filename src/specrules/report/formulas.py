"""Values from the data or the spec never become spreadsheet formulas.

A key such as `=cmd|' /C calc'!A0` or a rule title `=HYPERLINK(…)` is text the provider or
the spec's author wrote; written as it is, Excel would run it (CSV injection). In a workbook
every such cell is stored as a string cell, so it shows exactly as written and is never
evaluated. A CSV has no cell types, so a text value starting with a character a spreadsheet
reads as a formula gets a leading apostrophe, OWASP's advice, which spreadsheets hide.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def keep_as_text(book: Any) -> None:
    """Every cell of an openpyxl workbook that openpyxl took for a formula becomes text."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


def csv_text(value: Any) -> Any:
    """A value for a CSV cell: text that a spreadsheet would read as a formula is escaped."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
