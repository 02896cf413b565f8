"""Excel workbooks in: each sheet named after a dataset (or a one-sheet file named after it)
read as the same text a CSV of it would give, with what Excel hides said out loud.

`specrules.data` then checks and coerces the frame exactly as it does a CSV's, so an `.xlsx`
dataset gives the same figures and the same row accounting as the same data in CSV. What
only a workbook can do wrong is a data issue naming the sheet and cell and what to do:

- a dataset with no sheet of its name (in a file of several sheets);
- merged cells (only the first cell of a merged range holds the value);
- a formula (its last calculated value is used; none when Excel never calculated it);
- a date stored as text, or as a bare number (an Excel date serial with its format lost);
- a hidden header row, and hidden data rows (read and evaluated, though not seen in Excel).

Cells are read by openpyxl one at a time (as pandas' own Excel reader does); the checks
after reading work on whole columns. The SQL engines read the same text frames, written to
Parquet files of text (`workbook_as_parquet`), so every engine reads a workbook the same way.
"""

from __future__ import annotations

import atexit
import datetime as dt
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from specrules.data import issue
from specrules.errors import DataError
from specrules.files import refuse_repeated_names
from specrules.results import DataIssue
from specrules.spec import models

EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # serial 1 is 1900-01-01 (Excel's leap-year bug kept)


def _cell_text(value: Any) -> str:
    """A cell as the text a CSV export would hold: dates in ISO form, whole numbers bare."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _load(path: Path) -> tuple[Any, Any]:
    """The workbook twice: its formulas as written, and the values Excel last calculated."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        return load_workbook(path, data_only=False), load_workbook(path, data_only=True)
    except (OSError, InvalidFileException, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"cannot read {path} as an Excel workbook: {exc}") from None


def read_workbook(
    path: Path, datasets: Mapping[str, models.Dataset]
) -> tuple[dict[str, pd.DataFrame], list[DataIssue]]:
    """The datasets a workbook holds, as text frames, and the issues found on the way.

    A sheet named after a dataset is that dataset. A workbook named after a dataset
    (`referrals.xlsx`) with a single sheet is that dataset, whatever the sheet is called.
    """
    if path.suffix.lower() != ".xlsx":
        raise DataError(
            f"{path.name}: only .xlsx workbooks are read; open it in Excel and save it as "
            "Excel Workbook (.xlsx)"
        )
    formulas, values = _load(path)
    stem = path.name.split(".")[0]
    sheets = {name: name for name in values.sheetnames if name in datasets}
    issues: list[DataIssue] = []
    if stem in datasets and stem not in sheets:
        if len(values.sheetnames) == 1:
            sheets[values.sheetnames[0]] = stem
        else:
            issues.append(
                issue(
                    stem,
                    f"{path.name} has no sheet named `{stem}` (its sheets: "
                    f"{', '.join(values.sheetnames)}); rename the sheet that holds the "
                    f"{stem} rows to `{stem}`, or keep it alone in its own file",
                    severity="error",
                )
            )
    if not sheets and stem not in datasets:
        issues.append(
            issue(
                stem,
                f"{path.name}: no sheet is named after a dataset of this spec (sheets: "
                f"{', '.join(values.sheetnames)}; datasets: {', '.join(datasets)}); ignored",
            )
        )
    frames = {}
    for sheet, dataset in sheets.items():
        frames[dataset] = _read_sheet(
            formulas[sheet], values[sheet], dataset, datasets[dataset], issues
        )
    return frames, issues


def _read_sheet(
    formula_sheet: Any,
    value_sheet: Any,
    dataset: str,
    spec: models.Dataset,
    issues: list[DataIssue],
) -> pd.DataFrame:
    from openpyxl.utils import get_column_letter

    grid = pd.DataFrame(list(value_sheet.iter_rows(values_only=True)), dtype=object)
    written = pd.DataFrame(list(formula_sheet.iter_rows(values_only=True)), dtype=object)
    if grid.empty:
        return pd.DataFrame()
    filled = grid.notna() & grid.astype(str).ne("")
    used_rows = filled.any(axis=1).to_numpy()
    header_at = int(used_rows.argmax())  # the first row with anything in it
    sheet = value_sheet.title
    where = f"sheet `{sheet}`"
    hidden = {r for r, d in value_sheet.row_dimensions.items() if d.hidden}
    if header_at + 1 in hidden:
        issues.append(
            issue(
                dataset,
                f"{where}: the header row {header_at + 1} is hidden in Excel; unhide it "
                "(Home > Format > Hide & Unhide) and check these are the column names meant",
                severity="error",
            )
        )
    header = [_cell_text(v).strip() if v is not None else "" for v in grid.iloc[header_at]]
    refuse_repeated_names(header, f"{where} of the workbook", dataset)
    body = grid.iloc[header_at + 1 :]
    written = written.iloc[header_at + 1 :]
    excel_rows = body.index.to_numpy() + 1  # the sheet's own row numbers
    keep = used_rows[header_at + 1 :]  # blank rows are skipped, as in a CSV
    body, written, excel_rows = body[keep], written[keep], excel_rows[keep]
    letters = [get_column_letter(i + 1) for i in range(grid.shape[1])]
    rows = pd.Series(range(1, len(body) + 1), index=body.index)  # as data.py numbers them

    _merged(value_sheet, header_at, dataset, where, issues)
    _hidden_rows(hidden, excel_rows, rows, dataset, where, issues)
    columns = {}
    for position, name in enumerate(header):
        if not name:
            continue
        cells = body[position]
        column = _Column(dataset, where, name, letters[position], rows, excel_rows, issues)
        _formulas(column, cells, written[position])
        kind = spec.field_spec(name).type if name in spec.fields else None
        if kind in ("date", "datetime"):
            cells = _dates(column, cells)
        columns[name] = cells.map(_cell_text, na_action="ignore").fillna("")
    frame = pd.DataFrame(columns, index=body.index).reset_index(drop=True)
    return frame.astype("object")


@dataclass
class _Column:
    """One column of a sheet, and where the issues about its cells go."""

    dataset: str
    where: str  # "sheet `referrals`"
    name: str
    letter: str
    rows: pd.Series  # each cell's data row, numbered as data.py numbers them
    excel_rows: np.ndarray  # each cell's row in the sheet
    issues: list[DataIssue]

    def report(self, mask: np.ndarray, shown: pd.Series, why: Callable[[str, int], str]) -> None:
        """An issue for each cell under `mask`: `why(cell address, position in the column)`,
        with the cell's value as `shown` holds it."""
        for i in np.flatnonzero(mask):
            message = why(f"{self.letter}{self.excel_rows[i]}", int(i))
            value = shown.iloc[i]
            text = None if value is None or value is pd.NA else _cell_text(value)
            self.issues.append(
                issue(self.dataset, message, int(self.rows.iloc[i]), self.name, text)
            )


def _formulas(column: _Column, cells: pd.Series, written: pd.Series) -> None:
    text = written.astype("string")
    is_formula = text.str.startswith("=").fillna(False).to_numpy(dtype=bool)
    if not is_formula.any():
        return

    def why(cell: str, i: int) -> str:
        formula, value = text.iloc[i], cells.iloc[i]
        if value is None or pd.isna(value):
            return (
                f"{column.where} cell {cell} holds the formula {formula} with no calculated "
                "value (the file was not saved by Excel); open and save it in Excel, or paste "
                "the column as values"
            )
        return (
            f"{column.where} cell {cell} holds the formula {formula}; its last calculated "
            f"value {_cell_text(value)} was read. Paste the column as values so the data "
            "cannot change when the workbook is recalculated"
        )

    column.report(is_formula, text, why)


def _dates(column: _Column, cells: pd.Series) -> pd.Series:
    """Dates must be Excel dates: a bare number or text is reported, and a number is left
    missing (its reading as a serial is given, not assumed)."""
    kinds = cells.map(type, na_action="ignore")
    numbers = kinds.isin([int, float]).to_numpy(dtype=bool)
    blank = cells.astype("string").str.strip().eq("").fillna(True).to_numpy(dtype=bool)
    texts = kinds.eq(str).to_numpy(dtype=bool) & ~blank

    def serial(cell: str, i: int) -> str:
        value = cells.iloc[i]
        as_date = (EXCEL_EPOCH + pd.to_timedelta(float(value), unit="D")).date()
        return (
            f"{column.where} cell {cell} holds the number {_cell_text(value)} where a date is "
            f"expected: an Excel date serial ({as_date}) whose date format was lost? Format "
            "the column as Date in Excel; the value is left missing, not guessed"
        )

    def text(cell: str, i: int) -> str:
        value = cells.iloc[i]
        return (
            f"{column.where} cell {cell} holds the date as text ({value!r}); it is read as "
            "text (YYYY-MM-DD, or day first). Format the column as Date in Excel so the "
            "reading is not a guess"
        )

    column.report(numbers, cells, serial)
    column.report(texts, cells, text)
    return cells.mask(pd.Series(numbers, index=cells.index))


def _merged(sheet: Any, header_at: int, dataset: str, where: str, issues: list[DataIssue]) -> None:
    for merged in sheet.merged_cells.ranges:
        if merged.max_row <= header_at:  # a title above the table: not data
            continue
        first = f"{merged.coord.split(':')[0]}"
        issues.append(
            issue(
                dataset,
                f"{where}: cells {merged.coord} are merged, so only {first} holds a value and "
                "the other cells are read as empty; unmerge them (Home > Merge & Center) and "
                "fill each cell",
                row=None if merged.min_row <= header_at + 1 else merged.min_row - header_at - 1,
                severity="error",
            )
        )


def _hidden_rows(
    hidden: set[int],
    excel_rows: Any,
    rows: pd.Series,
    dataset: str,
    where: str,
    issues: list[DataIssue],
) -> None:
    at = np.isin(excel_rows, sorted(hidden))
    for excel_row, row in zip(excel_rows[at], rows[at], strict=True):
        issues.append(
            issue(
                dataset,
                f"{where}: row {excel_row} is hidden in Excel but is read and evaluated; "
                "unhide it, or delete it if it should not count",
                row=int(row),
            )
        )


# ------------------------------------------------------------------ for the SQL engines
_scratch_folder: Path | None = None


def _scratch() -> Path:
    """A folder for this process's converted sheets, removed when it exits (Spark reads its
    files lazily, so they must last as long as the evaluation)."""
    global _scratch_folder
    if _scratch_folder is None:
        _scratch_folder = Path(tempfile.mkdtemp(prefix="specrules-xlsx-"))
        atexit.register(shutil.rmtree, _scratch_folder, ignore_errors=True)
    return _scratch_folder


def workbook_as_parquet(
    path: Path, datasets: Mapping[str, models.Dataset]
) -> tuple[dict[str, Path], list[DataIssue]]:
    """The workbook's datasets as Parquet files of text (an empty cell missing, as a CSV
    reader takes it), and the issues `read_workbook` found."""
    frames, issues = read_workbook(path, datasets)
    folder = Path(tempfile.mkdtemp(dir=_scratch()))
    written = {}
    for name, frame in frames.items():
        target = folder / f"{name}.parquet"
        frame.astype("string").replace("", pd.NA).to_parquet(target, index=False)
        written[name] = target
    return written, issues
