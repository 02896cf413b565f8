""".xlsx datasets: the same figures as the same data in CSV, and what only Excel can get wrong
said as a data issue naming the sheet and cell."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook

import specrules
from specrules.data_excel import EXCEL_EPOCH
from specrules.results import Evaluation

FIXTURE = Path(__file__).parent / "fixtures" / "wigan_core"
SPEC = FIXTURE / "spec.yaml"


@pytest.fixture(scope="module")
def spec() -> specrules.Spec:
    return specrules.load(SPEC)


def typed(value: str, kind: str) -> object:
    """A CSV cell as Excel would hold it: real dates and numbers, text otherwise."""
    if value == "":
        return None
    for form in ("%Y-%m-%d", "%d/%m/%Y") if kind == "date" else ():
        try:
            return dt.datetime.strptime(value, form).date()
        except ValueError:
            pass
    if kind in ("integer", "number"):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            pass
    return value  # what Excel cannot read as its type stays text, as it would


def csv_rows(name: str) -> list[list[str]]:
    with (FIXTURE / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def add_sheet(book: Workbook, spec: specrules.Spec, name: str) -> None:
    sheet = book.create_sheet(name)
    header, *rows = csv_rows(name)
    kinds = [spec.model.datasets[name].field_spec(c).type for c in header]
    sheet.append(header)
    for row in rows:
        sheet.append([typed(v, k) for v, k in zip(row, kinds, strict=True)])


def figures(evaluation: Evaluation) -> list[tuple]:
    data = json.loads(evaluation.to_json())
    found = []
    for top in data["verdicts"]:
        for v in [top, *top["groups"]]:
            keys = [b["key"] for b in v["breaches"]]
            found.append(
                (
                    v["rule_id"],
                    v["period"],
                    v["status"],
                    v["value"],
                    v["numerator"],
                    v["denominator"],
                    keys,
                )
            )
    return found


def test_a_workbook_gives_the_same_figures_as_the_csvs(tmp_path: Path, spec: specrules.Spec):
    book = Workbook()
    book.remove(book.active)
    for name in spec.model.datasets:
        if (FIXTURE / f"{name}.csv").exists():
            add_sheet(book, spec, name)
    book.save(tmp_path / "activity.xlsx")  # one workbook, a sheet per dataset

    from_csv = spec.evaluate(FIXTURE, period="all")
    from_excel = spec.evaluate(tmp_path / "activity.xlsx", period="all")
    assert figures(from_excel) == figures(from_csv)
    assert len(figures(from_csv)) == 14  # 12 not met + 2 met (tests/test_report_markdown.py)
    # the same row accounting: referrals has 10 rows, one a duplicate key (R09 twice)
    assert from_excel.rows == from_csv.rows
    assert (from_excel.rows["referrals"].read, from_excel.rows["referrals"].evaluated) == (10, 9)
    # the same data issues, besides the workbook's own (a date the fixture writes as text)
    own = [i for i in from_excel.data_issues if "sheet `" in i.message]
    assert all("date as text" in i.message for i in own)
    assert [i.message for i in from_excel.data_issues if i not in own] == [
        i.message for i in from_csv.data_issues
    ]


def test_a_one_sheet_file_named_after_its_dataset(tmp_path: Path, spec: specrules.Spec):
    for source in FIXTURE.glob("*.csv"):
        if source.stem != "referrals":
            shutil.copy(source, tmp_path / source.name)
    book = Workbook()
    book.remove(book.active)
    add_sheet(book, spec, "referrals")
    book["referrals"].title = "Sheet1"  # the sheet's name does not matter in its own file
    book.save(tmp_path / "referrals.xlsx")
    from_excel = spec.evaluate(tmp_path, period="all")
    assert figures(from_excel) == figures(spec.evaluate(FIXTURE, period="all"))


# ------------------------------------------------------------------ what Excel gets wrong
def referrals_book(spec: specrules.Spec) -> Workbook:
    book = Workbook()
    book.remove(book.active)
    add_sheet(book, spec, "referrals")
    return book


def excel_issues(tmp_path: Path, spec: specrules.Spec, book: Workbook) -> list:
    book.save(tmp_path / "referrals.xlsx")
    evaluation = spec.evaluate(tmp_path / "referrals.xlsx", period="all")
    return [i for i in evaluation.data_issues if "sheet" in i.message]


def test_a_missing_sheet(tmp_path: Path, spec: specrules.Spec) -> None:
    book = referrals_book(spec)
    book["referrals"].title = "Referrals March"
    book.create_sheet("Notes")
    issues = excel_issues(tmp_path, spec, book)
    assert len(issues) == 1 and issues[0].severity == "error"
    assert "referrals.xlsx has no sheet named `referrals`" in issues[0].message
    assert "Referrals March, Notes" in issues[0].message
    assert "rename the sheet" in issues[0].message


def test_merged_cells(tmp_path: Path, spec: specrules.Spec) -> None:
    book = referrals_book(spec)
    book["referrals"].merge_cells("D2:D4")  # lives_in_borough of R01 to R03
    (issue,) = excel_issues(tmp_path, spec, book)
    assert "sheet `referrals`: cells D2:D4 are merged" in issue.message
    assert "only D2 holds a value" in issue.message and "unmerge them" in issue.message


def test_a_formula(tmp_path: Path, spec: specrules.Spec) -> None:
    book = referrals_book(spec)
    book["referrals"]["C3"] = "=20+25"  # R02's age, never calculated (not saved by Excel)
    (issue,) = excel_issues(tmp_path, spec, book)
    assert "sheet `referrals` cell C3 holds the formula =20+25" in issue.message
    assert "no calculated value" in issue.message and "paste the column as values" in issue.message
    assert (issue.row, issue.column) == (2, "age")  # data row 2 (R02), as in a CSV


def test_dates_stored_as_text_or_as_serial_numbers(tmp_path: Path, spec: specrules.Spec) -> None:
    book = referrals_book(spec)
    sheet = book["referrals"]
    sheet["B2"] = "01/07/2019"  # R01 received_on as text
    # 2019-07-02 as an Excel serial: 2019-01-01 is 119 × 365 + 29 leap days + 2 (serial 1 is
    # 1900-01-01, and Excel counts a 29 February 1900) = 43466; + 182 days to 2 July = 43648
    serial = (dt.date(2019, 7, 2) - EXCEL_EPOCH.date()).days
    assert serial == 43648
    sheet["B3"] = serial  # R02 received_on as a bare number: its date format lost
    sheet["B3"].number_format = "General"
    issues = excel_issues(tmp_path, spec, book)
    text = next(i for i in issues if "B2" in i.message)
    assert "cell B2 holds the date as text ('01/07/2019')" in text.message
    assert "Format the column as Date" in text.message and text.row == 1
    number = next(i for i in issues if "B3" in i.message)
    assert "cell B3 holds the number 43648 where a date is expected" in number.message
    assert "(2019-07-02)" in number.message and "left missing, not guessed" in number.message


def test_hidden_header_and_data_rows(tmp_path: Path, spec: specrules.Spec) -> None:
    book = referrals_book(spec)
    sheet = book["referrals"]
    sheet.row_dimensions[1].hidden = True
    sheet.row_dimensions[4].hidden = True  # R03
    issues = excel_issues(tmp_path, spec, book)
    header = next(i for i in issues if "header row" in i.message)
    assert "the header row 1 is hidden in Excel; unhide it" in header.message
    row = next(i for i in issues if "row 4 is hidden" in i.message)
    assert row.row == 3 and "read and evaluated" in row.message


def test_an_old_xls_file_is_refused_with_what_to_do(tmp_path: Path, spec: specrules.Spec):
    (tmp_path / "referrals.xls").write_bytes(b"not a workbook")
    with pytest.raises(specrules.DataError, match=r"save it as Excel Workbook \(\.xlsx\)"):
        spec.evaluate(tmp_path, period="all")


def test_duckdb_reads_a_workbook_as_the_pandas_engine_does(
    tmp_path: Path, spec: specrules.Spec
) -> None:
    book = Workbook()
    book.remove(book.active)
    for name in spec.model.datasets:
        if (FIXTURE / f"{name}.csv").exists():
            add_sheet(book, spec, name)
    book["referrals"]["B2"] = "01/07/2019"  # a date as text: an issue on both engines
    book.save(tmp_path / "activity.xlsx")
    pandas = spec.evaluate(tmp_path / "activity.xlsx", period="all")
    duckdb = spec.evaluate(tmp_path / "activity.xlsx", period="all", engine="duckdb")
    assert figures(duckdb) == figures(pandas) == figures(spec.evaluate(FIXTURE, period="all"))
    assert duckdb.rows == pandas.rows
    assert duckdb.provenance.data_sha256 == pandas.provenance.data_sha256  # the workbook's
    sheet_issues = [i.message for i in duckdb.data_issues if "sheet `" in i.message]
    assert sheet_issues == [i.message for i in pandas.data_issues if "sheet `" in i.message]
    assert any("cell B2 holds the date as text" in m for m in sheet_issues)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_excel_s_lock_file_and_a_stray_xls_are_passed_over(
    tmp_path: Path, spec: specrules.Spec, engine: str
) -> None:
    # Excel keeps `~$referrals.xlsx` beside a workbook it has open: it is no workbook (it
    # raised zipfile.BadZipFile), and an .xls named after no dataset is no data of ours.
    referrals_book(spec).save(tmp_path / "referrals.xlsx")
    (tmp_path / "~$referrals.xlsx").write_bytes(b"\x00lock")
    (tmp_path / "old_backup.xls").write_bytes(b"not a workbook")
    with_lock = spec.evaluate(tmp_path, period="all", engine=engine)
    (tmp_path / "~$referrals.xlsx").unlink()
    (tmp_path / "old_backup.xls").unlink()
    alone = spec.evaluate(tmp_path, period="all", engine=engine)
    assert figures(with_lock) == figures(alone)


def test_a_broken_workbook_is_a_message_not_a_traceback(tmp_path: Path, spec) -> None:
    (tmp_path / "referrals.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(specrules.DataError, match="cannot read .*referrals.xlsx as an Excel"):
        spec.evaluate(tmp_path, period="all")


def test_a_sheet_naming_a_column_twice_is_refused(tmp_path: Path, spec) -> None:
    # The last of two `age` columns used to win silently, changing every age figure.
    book = referrals_book(spec)
    sheet = book["referrals"]
    column = sheet.max_column + 1
    sheet.cell(row=1, column=column, value="age")
    with pytest.raises(specrules.DataError, match="names column `age` twice"):
        excel_issues(tmp_path, spec, book)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_an_empty_sheet_is_a_dataset_without_columns(tmp_path: Path, spec, engine) -> None:
    # the referrals sheet left empty: no columns, so its rules have no data, on both engines
    # (DuckDB refused the sheet's copy, naming a temporary file the user never gave)
    book = Workbook()
    book.active.title = "referrals"
    book.save(tmp_path / "referrals.xlsx")
    evaluation = spec.evaluate(tmp_path / "referrals.xlsx", period="all", engine=engine)
    assert evaluation.rows["referrals"].read == 0
    assert [i.message for i in evaluation.data_issues if i.dataset == "referrals"] == [
        "no columns: the file is empty (not even a header row)"
    ]
