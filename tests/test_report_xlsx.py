"""`--format xlsx`: the exception report as a workbook, read back with openpyxl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

import specrules
from specrules.cli import main
from specrules.report.workbook import FILLS, SUMMARY_COLUMNS, write_workbook
from specrules.results import Evaluation, RowResult

FIXTURE = Path(__file__).parent / "fixtures" / "wigan_core"
SPEC = FIXTURE / "spec.yaml"


@pytest.fixture(scope="module")
def spec() -> specrules.Spec:
    return specrules.load(SPEC)


@pytest.fixture(scope="module")
def evaluation(spec: specrules.Spec) -> Evaluation:
    return spec.evaluate(FIXTURE, period="all")


def summary_rows(book) -> list[dict[str, object]]:
    sheet = book["Summary"]
    rows = list(sheet.iter_rows(values_only=True))
    start = rows.index(tuple(SUMMARY_COLUMNS))
    return [dict(zip(SUMMARY_COLUMNS, r, strict=True)) for r in rows[start + 1 :]]


def test_workbook_sheets_and_failing_rows_match_the_json(
    tmp_path: Path, evaluation: Evaluation, spec: specrules.Spec
) -> None:
    path = write_workbook(evaluation, tmp_path / "report.xlsx", spec=spec)
    book = load_workbook(path)
    data = json.loads(evaluation.to_json())
    breached = [
        v for top in data["verdicts"] for v in [top, *top["groups"]] if v["status"] == "not met"
    ]
    assert book.sheetnames[0] == "Summary"
    assert book.sheetnames[-2:] == ["Data issues", "Provenance"]
    rows_sheets = book.sheetnames[1:-2]
    assert len(rows_sheets) == len(breached) == 12  # one sheet per breach
    for name, verdict in zip(rows_sheets, breached, strict=True):
        assert name.split(" ", 1)[1] == verdict["rule_id"][:28]
        sheet = book[name]
        listed = [r for r in sheet.iter_rows(min_row=5, values_only=True) if r[0] is not None]
        if verdict["breaches"]:  # every failing row, as many as the JSON lists
            assert len(listed) == len(verdict["breaches"]) == verdict["breach_count"]
            assert [r[0] for r in listed] == [b["key"] for b in verdict["breaches"]]
        else:  # a count or a level judged as a whole: no rows behind it
            assert listed == []

    # age_minimum (worked in tests/test_report_html.py): 6 of 8 aged 16 or over; R04 is 15,
    # R05 has no age, so 2 rows fail, each with why.
    sheet = book["1 age_minimum"]
    listed = list(sheet.iter_rows(min_row=5, values_only=True))
    assert [(r[0], r[1]) for r in listed] == [("R04", 4), ("R05", 5)]
    assert "cannot tell (missing data)" in listed[1][3]

    lines = summary_rows(book)
    assert len(lines) == 14  # 12 not met + 2 met, as the HTML and Markdown count them
    assert [r["Status"] for r in lines[:12]] == ["not met"] * 12  # what needs action first
    age = next(r for r in lines if r["Rule"] == "age_minimum")
    assert (age["Numerator"], age["Denominator"], age["Rows failing"]) == (6, 8, 2)
    assert age["Figure"] == pytest.approx(0.75) and age["Target"] == pytest.approx(1.0)
    assert age["Gap"] == pytest.approx(-25.0)  # percentage points
    assert age["Rows sheet"] == "1 age_minimum"


def test_summary_cells_are_filled_by_rag_and_formatted_in_their_unit(
    tmp_path: Path, evaluation: Evaluation, spec: specrules.Spec
) -> None:
    book = load_workbook(write_workbook(evaluation, tmp_path / "r.xlsx", spec=spec))
    sheet = book["Summary"]
    header = next(
        i for i, row in enumerate(sheet.iter_rows(values_only=True), 1) if row[0] == "Rule"
    )
    status_col = SUMMARY_COLUMNS.index("Status") + 1
    figure_col = SUMMARY_COLUMNS.index("Figure") + 1
    fills = {}
    for row in range(header + 1, sheet.max_row + 1):
        status = sheet.cell(row, status_col)
        fills.setdefault(status.value, set()).add(status.fill.fgColor.rgb[-6:])
        if sheet.cell(row, 1).value == "age_minimum":
            assert sheet.cell(row, figure_col).number_format == "0.0%"
        if sheet.cell(row, 1).value == "clients_commencing":
            assert sheet.cell(row, figure_col).number_format == "#,##0"
    assert fills["not met"] <= {FILLS["red"], FILLS["amber"]}
    assert fills["met"] == {FILLS["green"]}
    provenance = dict(
        (r[0], r[1]) for r in book["Provenance"].iter_rows(values_only=True) if r and r[0]
    )
    assert provenance["Spec sha256"] == evaluation.provenance.spec_sha256
    assert provenance["Counted"] == "verdicts: one per rule, period and breakdown group"


def test_rows_are_never_capped(tmp_path: Path, evaluation: Evaluation) -> None:
    many = evaluation.model_copy(deep=True)
    verdict = next(v for v in many.verdicts if v.rule_id == "age_minimum")
    verdict.breaches = [RowResult(key=f"K{i:04d}", row=i, reason="late") for i in range(1, 1501)]
    verdict.breach_count = 1500
    book = load_workbook(write_workbook(many, tmp_path / "many.xlsx"))
    listed = [r[0] for r in book["1 age_minimum"].iter_rows(min_row=5, values_only=True)]
    assert listed == [f"K{i:04d}" for i in range(1, 1501)]


def test_disclosure_control_applies_to_the_workbook(
    tmp_path: Path, evaluation: Evaluation, spec: specrules.Spec
) -> None:
    book = load_workbook(
        write_workbook(evaluation, tmp_path / "hidden.xlsx", spec=spec, suppress_below=8)
    )
    age = next(r for r in summary_rows(book) if r["Rule"] == "age_minimum")
    # 6 and 2 are below 8: hidden, with the share and gap worked from them; 8 is shown
    assert (age["Numerator"], age["Denominator"], age["Rows failing"]) == ("*", 8, "*")
    assert age["Figure"] == "*" and age["Gap"] == "*"
    rows = [r[0] for r in book["1 age_minimum"].iter_rows(values_only=True)]
    assert "R04" not in rows and "Rows not listed under disclosure control." in rows
    assert evaluation.verdict("age_minimum").numerator == 6  # the Evaluation is untouched


def test_cli_writes_the_workbook_and_needs_an_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.xlsx"
    args = ["evaluate", str(SPEC), "--data", str(FIXTURE), "--format", "xlsx"]
    assert main([*args, "--output", str(out)]) == 0
    assert load_workbook(out).sheetnames[0] == "Summary"
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "--output report.xlsx" in err and "Traceback" not in err


def test_due_dates_are_excel_dates(tmp_path: Path) -> None:
    text = SPEC.read_text(encoding="utf-8")
    anchor = "    text: The provider shall provide exception report to the commissioner\n"
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace(anchor, anchor + "    deadline: within 20 working days\n"))
    spec = specrules.load(path)
    book = load_workbook(write_workbook(spec.evaluate(FIXTURE, period="all"), tmp_path / "d.xlsx"))
    q2 = next(
        r for r in summary_rows(book) if r["Rule"] == "case_studies" and r["Period"] == "2019/20-Q2"
    )
    # 20 working days after 2019-12-31, worked in tests/test_report_markdown.py
    assert q2["Due"].date().isoformat() == "2020-01-29"


# ------------------------------------------------------------------ formula injection
HOSTILE_KEY = "=cmd|' /C calc'!A0"
HOSTILE_VALUE = '=HYPERLINK("http://evil.example","x")'


def hostile_copy(tmp_path: Path) -> Path:
    """The wigan_core fixture with text Excel would run: R04 (aged 15, a breach of
    age_minimum) keyed `=cmd…`, R05's age a HYPERLINK formula (a data issue: not a number),
    the spec titled `=1+2` and age_minimum titled `@SUM(1)`."""
    folder = tmp_path / "hostile"
    folder.mkdir()
    for source in FIXTURE.iterdir():
        text = source.read_text()
        if source.name == "referrals.csv":
            text = text.replace("R04,", f'"{HOSTILE_KEY}",', 1)
            text = text.replace(
                "R05,2019-07-05,,",
                f'R05,2019-07-05,"{HOSTILE_VALUE.replace(chr(34), chr(34) * 2)}",',
                1,
            )
        if source.name == "spec.yaml":
            text = text.replace(
                "title: Wigan Lot 1 — Health Improvement Service", 'title: "=1+2"', 1
            )
            text = text.replace(
                "    title: Clients are 16 or over (12 or over and Fraser competent for stop "
                "smoking prescribing)",
                '    title: "@SUM(1)"',
                1,
            )
        (folder / source.name).write_text(text)
    return folder


def test_no_value_from_the_data_or_the_spec_becomes_a_formula(tmp_path: Path) -> None:
    folder = hostile_copy(tmp_path)
    out = tmp_path / "report.xlsx"
    rows_dir = tmp_path / "rows"
    code = main(
        [
            "evaluate",
            str(folder / "spec.yaml"),
            "--data",
            str(folder),
            "--format",
            "xlsx",
            "--output",
            str(out),
            "--rows-dir",
            str(rows_dir),
        ]
    )
    assert code in (0, 1)
    book = load_workbook(out)
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = {c.value for c in cells if isinstance(c.value, str)}
    # each hostile text is there, exactly as written, as text
    assert HOSTILE_KEY in texts  # the breach row's key (R04 is 15: fails age_minimum)
    assert HOSTILE_VALUE in texts  # the data issue's value
    assert "=1+2" in {c.value for c in book["Provenance"]["B"]} | texts
    assert any(t.startswith("@SUM(1)") or t == "@SUM(1)" for t in texts)
    # the CSV of the rows behind the breach escapes the key with an apostrophe
    written = "".join(p.read_text() for p in rows_dir.glob("age_minimum*.csv"))
    assert "'" + HOSTILE_KEY in written.replace('""', '"')
    assert "\n=" not in written and ",=" not in written
