"""A generated corpus of broken data files, each read by the pandas and DuckDB engines.

Every case is a mutation of one good CSV (or a Parquet file with a wrong physical type).
Each asserts: no traceback; a file that cannot be read is refused with a message naming
the file and where (exit code 2 through the command line); otherwise every input row is
evaluated or rejected with its reason, the value the case broke is a data issue naming its
dataset, column, row and value (or is read, where the case says it is readable), and pandas
and DuckDB give the same figures, data issues and row accounts.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

import specrules
from specrules.cli import main
from specrules.errors import DataError

pytest.importorskip("duckdb")

SPEC = textwrap.dedent(
    """\
    specrules: 1
    title: Corpus
    commissioner: Test council
    source_document: test
    contract: {start: 2024-04-01, end: 2025-03-31}
    consequences:
      report: {text: An exception report}
    datasets:
      referrals:
        key: referral_id
        date: received_on
        fields:
          referral_id: text
          received_on: date
          called_at: datetime
          age: integer
          cost: number
          urgent: boolean
          service: {type: enumeration, values: [stop smoking, weight management]}
          note: text
    kpis:
      - id: adults
        title: Adults
        dataset: referrals
        scoring: proportion
        numerator: age >= 18
        threshold: at least 50%
        consequence: report
        source: {section: "1"}
      - id: urgent_share
        title: Urgent
        dataset: referrals
        scoring: proportion
        numerator: urgent
        breakdowns: [service]
        threshold: at least 50%
        consequence: report
        source: {section: "2"}
      - id: daytime_calls
        title: Calls before five
        dataset: referrals
        scoring: proportion
        numerator: hour(called_at) < 17 and cost < 100
        threshold: at least 50%
        consequence: report
        source: {section: "3"}
    """
)
HEADER = ["referral_id", "received_on", "called_at", "age", "cost", "urgent", "service", "note"]
# Four good rows: row 2 is the one value cases break.
ROWS = [
    ["R1", "2024-05-01", "2024-05-01T09:30", "17", "12.5", "yes", "stop smoking", "first"],
    ["R2", "2024-06-03", "2024-06-03 18:00", "40", "20", "no", "weight management", "second"],
    ["R3", "2024-07-09", "2024-07-09T08:15:00", "65", "30.25", "true", "Stop Smoking", "third"],
    ["R4", "2024-08-02", "2024-08-02T16:59", "30", "40", "n", "weight management", "fourth"],
]
COLUMN = {name: i for i, name in enumerate(HEADER)}


def csv_text(header=HEADER, rows=ROWS, delimiter=",", newline="\n") -> str:
    def cell(value: str) -> str:
        needs = any(c in value for c in (delimiter, '"', "\n", "\r"))
        return '"' + value.replace('"', '""') + '"' if needs else value

    lines = [delimiter.join(cell(v) for v in row) for row in [header, *rows]]
    return newline.join(lines) + newline


def with_value(column: str, value: str, row: int = 2) -> list[list[str]]:
    rows = [list(r) for r in ROWS]
    rows[row - 1][COLUMN[column]] = value
    return rows


@dataclass
class Case:
    name: str
    content: bytes | pa.Table
    rows: int | None = None  # data rows, counted by hand; None: the file is refused
    refused: str = ""  # words the refusal must contain (the file's name is always there)
    issue: tuple[int, str, str] | None = None  # (row, column, words) a data issue must have
    note: str = ""  # words a dataset-level note must have


def _cases() -> list[Case]:
    cases: list[Case] = []
    good = csv_text()
    cases.append(Case("good", good.encode(), rows=4))
    # ---------------------------------------------------------------- dialect
    for delimiter, label in ((";", "`;`"), ("\t", "a tab"), ("|", "`|`")):
        cases.append(
            Case(f"delimiter {label}", csv_text(delimiter=delimiter).encode(), 4, note=label)
        )
    cases.append(Case("crlf", csv_text(newline="\r\n").encode(), 4))
    cases.append(Case("bom", codecs.BOM_UTF8 + good.encode(), 4))
    cases.append(Case("bom crlf", codecs.BOM_UTF8 + csv_text(newline="\r\n").encode(), 4))
    cases.append(Case("no final newline", good.rstrip("\n").encode(), 4))
    # lines ending in CR LF and in LF in one file (one edited on Windows, one elsewhere)
    lines = good.split("\n")
    mixed = "\r\n".join(lines[:3]) + "\n" + "\n".join(lines[3:])
    cases.append(Case("mixed crlf and lf", mixed.encode(), 4))
    # Excel: rows end in CR LF, a line inside a cell in LF alone (not mixed line endings)
    excel = csv_text(rows=with_value("note", "two\nlines"), newline="\r\n")
    cases.append(Case("excel crlf with a line feed in a cell", excel.encode(), 4))
    # lines ending in CR alone (old Mac files), or a stray CR before every CR LF: refused
    refused = "carriage return alone"
    cases.append(Case("cr line endings", csv_text(newline="\r").encode(), refused=refused))
    cases.append(Case("cr cr lf", csv_text(newline="\r\r\n").encode(), refused=refused))
    cases.append(Case("blank lines between rows", good.replace("\nR3", "\n\n\nR3").encode(), 4))
    cases.append(Case("blank lines at the end", (good + "\n\n").encode(), 4))
    cases.append(
        Case("quoted newline", csv_text(rows=with_value("note", "two\nlines")).encode(), 4)
    )
    cases.append(Case("quoted comma", csv_text(rows=with_value("note", "a, b")).encode(), 4))
    cases.append(Case("doubled quotes", csv_text(rows=with_value("note", 'say "hi"')).encode(), 4))
    cases.append(
        Case(
            "semicolon file with commas",
            csv_text(rows=with_value("cost", "1,000"), delimiter=";").encode(),
            4,
            note="`;`",
        )
    )
    everything_quoted = "\n".join(",".join(f'"{v}"' for v in row) for row in [HEADER, *ROWS])
    cases.append(Case("every value quoted", everything_quoted.encode(), 4))
    cases.append(Case("spaces after delimiters", good.replace(",", ", ").encode(), 4))
    trailing = "\n".join(line + "," for line in good.splitlines()) + "\n"
    cases.append(Case("trailing delimiter everywhere", trailing.encode(), 4, note="(column 9)"))
    rows_only = good.splitlines()[0] + "\n" + "\n".join(f"{ln}," for ln in good.splitlines()[1:])
    cases.append(Case("trailing delimiter on rows", rows_only.encode(), refused="row 1 has 9"))
    # ---------------------------------------------------------------- structure
    extra = csv_text(rows=with_value("note", "x")).replace("x\n", "x,surplus\n", 1)
    cases.append(Case("a row with an extra value", extra.encode(), refused="row 2 has 9 values"))
    short = good.replace(",fourth", "")
    cases.append(Case("a row one value short", short.encode(), refused="row 4 has 7 values"))
    many = good + "".join(f"R{i},2024-05-01\n" for i in range(5, 13))
    cases.append(Case("many short rows", many.encode(), refused="and 3 more rows"))
    unclosed = good.replace(",second", ',"second')
    cases.append(Case("unclosed quote", unclosed.encode(), refused="line 3"))
    # A blank first line: DuckDB read no columns and lost every row, pandas gave pyarrow's words.
    cases.append(Case("a blank line above the header", ("\n" + good).encode(), refused="blank"))
    # A quote inside a value that is not quoted (5" tall) is that character, on every engine:
    # an odd count of quotes alone used to refuse the whole file.
    inch = good.replace(",second", ',5" tall')
    cases.append(Case("a quote inside an unquoted value", inch.encode(), 4))
    header_twice = csv_text(header=[*HEADER[:-1], "age"])
    cases.append(Case("a declared column twice", header_twice.encode(), refused="`age` twice"))
    extra_twice = csv_text(header=[*HEADER, "x", "x"], rows=[[*r, "1", "2"] for r in ROWS])
    cases.append(Case("an undeclared column twice", extra_twice.encode(), refused="`x` twice"))
    cases.append(Case("empty file", b"", rows=0, note="the file is empty"))
    cases.append(Case("header only", csv_text(rows=[]).encode(), rows=0))
    cases.append(Case("header and blank lines", (csv_text(rows=[]) + "\n\n").encode(), rows=0))
    cases.append(Case("one column file", b"referral_id\nR1\n", rows=1, note="missing column"))
    for missing in HEADER:
        keep = [i for i, name in enumerate(HEADER) if name != missing]
        text = csv_text(header=[HEADER[i] for i in keep], rows=[[r[i] for i in keep] for r in ROWS])
        cases.append(Case(f"no {missing} column", text.encode(), 4, note=f"`{missing}`"))
    extra_col = csv_text(header=[*HEADER, "ward"], rows=[[*r, "W1"] for r in ROWS])
    cases.append(Case("an undeclared column", extra_col.encode(), 4, note="ward"))
    order = [7, 6, 5, 4, 3, 2, 1, 0]
    reordered = csv_text(
        header=[HEADER[i] for i in order], rows=[[r[i] for i in order] for r in ROWS]
    )
    cases.append(Case("columns in another order", reordered.encode(), 4))
    spaced = csv_text(header=[f" {h} " for h in HEADER])
    cases.append(Case("spaces around names", spaced.encode(), 4))
    upper = csv_text(header=[h if h != "age" else "Age" for h in HEADER])
    cases.append(Case("a name in another case", upper.encode(), 4, note="did you mean `Age`"))
    # ---------------------------------------------------------------- encodings
    latin = good.replace("first", "£5 first").encode("latin-1")
    cases.append(Case("latin-1 text", latin, refused="line 2: byte 0xa3 is not UTF-8"))
    cp1252 = good.replace("third", "\u2019third").encode("cp1252")
    cases.append(Case("windows-1252 quote", cp1252, refused="line 4: byte 0x92"))
    utf16 = codecs.BOM_UTF16_LE + good.encode("utf-16-le")
    cases.append(Case("utf-16", utf16, refused="UTF-16"))
    # ---------------------------------------------------------------- values
    # (column, value, the data issue's words or None where the value is read)
    values = [
        ("age", "1e30", "too large for a whole number"),
        ("age", "-1e30", "too large for a whole number"),
        ("age", "9007199254740994", "too large for a whole number"),
        ("age", "1.5", "not a whole number"),
        ("age", "forty", "not a number"),
        ("age", "inf", "not a number"),
        ("age", "-Infinity", "not a number"),
        ("age", "0x10", "not a number"),
        ("age", "NaN", None),
        ("age", "N/A", None),
        ("age", " 40 ", None),
        ("age", "1,000", None),
        ("age", "1e3", None),
        ("age", "+40", None),
        ("age", "40.0", None),
        ("cost", "£12", None),
        ("cost", "1e400", "not a number"),
        ("cost", "-inf", "not a number"),
        ("cost", "abc", "not a number"),
        # DuckDB read 1_000 as 1000 where pandas refuses it: one pattern for both now.
        ("cost", "1_000", "not a number"),
        ("age", "1_000", "not a number"),
        ("cost", ".5", None),
        ("cost", "nan", None),
        ("cost", "12 pounds", "not a number"),
        # commas are read only between thousands: a decimal comma is not 95, nor 1,2,3 123
        ("cost", "9,5", "not a number"),
        ("age", "1,2,3", "not a number"),
        ("cost", "£1,234.50", None),
        ("cost", "-12,345,678", None),
        ("cost", "1,23", "not a number"),
        ("urgent", "NaN", "not true or false"),
        ("urgent", "NaT", "not true or false"),
        ("urgent", "maybe", "not true or false"),
        ("urgent", "2", "not true or false"),
        ("urgent", "TRUE", None),
        ("urgent", "Y", None),
        ("urgent", "1.0", None),
        ("urgent", "null", None),
        ("received_on", "12/31/2024", "not a date"),
        ("received_on", "2024-02-30", "not a date"),
        ("received_on", "2024-13-01", "not a date"),
        ("received_on", "2024-06", "not a date"),
        ("received_on", "20240601", "not a date"),
        ("received_on", "0001-01-01", "not a date"),
        ("received_on", "June 3rd", "not a date"),
        ("received_on", "NaN", "not a date"),
        ("received_on", "03/06/2024", None),
        ("received_on", "3/6/24", None),
        ("received_on", " 2024-06-03 ", None),
        ("received_on", "2024-06-03T10:00", None),
        ("received_on", "2024-06-03T23:30:00Z", None),
        ("received_on", "NaT", None),
        ("called_at", "2025-03-30T01:30", "no such local time in Europe/London"),
        ("called_at", "2024-10-27T01:30", "happens twice in Europe/London"),
        ("called_at", "2024-10-27T01:59:59", "happens twice in Europe/London"),
        ("called_at", "2024-10-27T01:30+01:00", None),
        ("called_at", "2024-10-27T01:30:00Z", None),
        ("called_at", "2024-06-03T18:00:00+05:30", None),
        ("called_at", "2024-06-03T18:00-0300", None),
        ("called_at", "2024-06-03T25:00", "not a date-time (write YYYY-MM-DD HH:MM"),
        # 24:00 was read by DuckDB as the next midnight and refused by pandas: now by both.
        ("called_at", "2024-06-03T24:00:00", "not a date-time (write YYYY-MM-DD HH:MM"),
        ("called_at", "2024-06-03T18:60", "not a date-time (write YYYY-MM-DD HH:MM"),
        ("called_at", "2024-06-03T18:00+25:00", "not a date-time (write YYYY-MM-DD HH:MM"),
        ("called_at", "03/06/2024 18:00", None),
        ("called_at", "03/06/2024 18:00:30", None),
        ("called_at", "2024-06-03 18:00:00.123456", None),
        ("called_at", "18:00", "not a date-time (write YYYY-MM-DD HH:MM"),
        ("service", "yoga", "not one of the allowed values"),
        ("service", "none", "not one of the allowed values"),
        ("service", "STOP SMOKING", None),
        ("service", "  weight management  ", None),
        ("service", "", None),
        ("referral_id", "", None),  # a missing key: the row is rejected with its reason
        ("referral_id", "R1", None),  # a repeated key: likewise
        ("referral_id", "NA", None),  # text: a real value
        ("note", "x" * 100_000, None),
        ("note", "=cmd|' /C calc'!A0", None),
        ("note", "naïve café \U0001f600", None),
    ]
    for column, value, words in values:
        text = csv_text(rows=with_value(column, value))
        issue = (2, column, words) if words else None
        cases.append(Case(f"{column} {value[:20]!r}", text.encode(), 4, issue=issue))
    # ---------------------------------------------------------------- Parquet
    frame = pd.DataFrame(ROWS, columns=HEADER)

    def parquet(**columns) -> pa.Table:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        for name, array in columns.items():
            table = table.set_column(HEADER.index(name), name, array)
        return table

    days = pa.array([19844, 19877, 19913, 19937], pa.int64())  # days since 1970, not dates
    cases.append(
        Case(
            "parquet dates as int64",
            parquet(received_on=days),
            4,
            issue=(2, "received_on", "not a date"),
        )
    )
    cases.append(Case("parquet plain", parquet(), 4))
    cases.append(Case("parquet ages as int64", parquet(age=pa.array([17, 40, 65, 30])), 4))
    floats = pa.array([17.0, float("inf"), 65.0, None])
    cases.append(
        Case("parquet age infinite", parquet(age=floats), 4, issue=(2, "age", "not a number"))
    )
    cases.append(Case("parquet cost NaN", parquet(cost=pa.array([1.0, float("nan"), 2.0, 3.0])), 4))
    cases.append(
        Case(
            "parquet age 1e30",
            parquet(age=pa.array([17.0, 1e30, 65.0, 30.0])),
            4,
            issue=(2, "age", "too large"),
        )
    )
    flags = pa.array([1.0, 0.0, None, 1.0])
    cases.append(Case("parquet boolean as float", parquet(urgent=flags), 4))
    instants = pa.array(
        pd.to_datetime(
            ["2024-05-01T08:30Z", "2024-10-27T00:30Z", "2024-10-27T01:30Z", "2024-08-02T15:59Z"]
        ),
        pa.timestamp("us", tz="UTC"),
    )
    cases.append(Case("parquet instants", parquet(called_at=instants), 4))
    local = pa.array(
        pd.to_datetime(["2024-05-01", "2024-06-03", "2024-07-09", "2024-08-02"]), pa.timestamp("us")
    )
    cases.append(Case("parquet dates as timestamps", parquet(received_on=local), 4))
    cases.append(Case("parquet key as int64", parquet(referral_id=pa.array([1, 2, 3, 4])), 4))
    # flags as booleans where text is declared (see also the test of its text below)
    cases.append(
        Case("parquet note as boolean", parquet(note=pa.array([True, False, None, True])), 4)
    )
    # a float key with NaN on row 2: a missing key (rejected), not the text "nan" (written
    # without pandas' metadata, which would have pandas read the floats back as text)
    float_keys = pa.array([1.0, float("nan"), 3.0, 4.0])
    table = parquet(referral_id=float_keys).replace_schema_metadata()
    cases.append(Case("parquet key as float with NaN", table, 4))
    cases.append(Case("parquet all null column", parquet(cost=pa.nulls(4, pa.float64())), 4))
    cases.append(
        Case("parquet decimal", parquet(cost=pa.array([1, 2, 3, 4], pa.decimal128(9, 2))), 4)
    )
    # Dates held as dates, in years pandas cannot hold (1678 to 2261): 9999-12-31 (a
    # placeholder for "no end") and 1500: reported on row 2 and missing, on every engine.
    # (Written without pandas' metadata, as other tools write Parquet: that metadata would
    # make pandas read the dates back as the text this frame first held.)
    outside = "outside the years 1678 to 2261"
    calendar = [dt.date(2024, 5, 1), dt.date(9999, 12, 31), dt.date(2024, 7, 9), None]
    cases.append(
        Case(
            "parquet date 9999-12-31",
            parquet(received_on=pa.array(calendar, pa.date32())).replace_schema_metadata(),
            4,
            issue=(2, "received_on", outside),
        )
    )
    times = [dt.datetime(2024, 5, 1, 9), dt.datetime(1500, 1, 1), None, None]
    cases.append(
        Case(
            "parquet date-time in 1500",
            parquet(called_at=pa.array(times, pa.timestamp("us"))).replace_schema_metadata(),
            4,
            issue=(2, "called_at", outside),
        )
    )
    return cases


CASES = _cases()


@pytest.fixture(scope="module")
def spec() -> specrules.Spec:
    return specrules.loads(SPEC)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Every case's file in a folder of its own, made once."""
    root = tmp_path_factory.mktemp("corpus")
    for number, case in enumerate(CASES):
        folder = root / str(number)
        folder.mkdir()
        _write(case, folder / "referrals")
    return root


def _write(case: Case, stem: Path) -> None:
    """The case's file at `stem` with the suffix of its kind."""
    if isinstance(case.content, pa.Table):
        pq.write_table(case.content, stem.with_suffix(".parquet"))
    else:
        stem.with_suffix(".csv").write_bytes(case.content)


def test_the_corpus_is_large_and_names_are_unique() -> None:
    assert len(CASES) >= 100
    assert len({c.name for c in CASES}) == len(CASES)


def _figures(evaluation) -> tuple:
    """What must be the same on every engine: verdicts, data issues, row accounts."""
    return _figures_of(json.loads(evaluation.model_dump_json()))


def _figures_of(data: dict) -> tuple:
    keep = ("rule_id", "period", "group", "status", "numerator", "denominator", "value")
    verdicts = [
        tuple(str(v[k]) for k in keep)
        for verdict in data["verdicts"]
        for v in [verdict, *verdict["groups"]]
    ]
    issues = sorted(
        (i["dataset"], i["column"] or "", i["row"] or 0, i["value"] or "", i["message"])
        for i in data["data_issues"]
    )
    return verdicts, issues, data["rows"]


@pytest.mark.parametrize("number", range(len(CASES)), ids=[c.name for c in CASES])
def test_every_broken_file(spec, corpus, number, capsys) -> None:
    case = CASES[number]
    folder = corpus / str(number)
    if case.rows is None:
        for engine in ("pandas", "duckdb"):
            with pytest.raises(DataError) as refused:
                spec.evaluate(folder, period="2024/25", engine=engine)
            message = str(refused.value)
            assert "referrals.csv" in message and case.refused in message, message
        return
    results = {e: spec.evaluate(folder, period="2024/25", engine=e) for e in ("pandas", "duckdb")}
    figures = {e: _figures(ev) for e, ev in results.items()}
    assert figures["pandas"] == figures["duckdb"]
    evaluation = results["pandas"]
    account = evaluation.rows["referrals"]
    # every input row is evaluated or rejected with its reason
    assert account.read == case.rows
    assert account.read == account.evaluated + sum(account.rejected.values())
    located = [i for i in evaluation.data_issues if i.row is not None]
    assert all(i.dataset == "referrals" and i.column and i.value is not None for i in located)
    if case.issue is not None:
        row, column, words = case.issue
        found = [i for i in located if (i.row, i.column) == (row, column)]
        assert found and words in found[0].message, evaluation.data_issues
    elif case.name.startswith(tuple(HEADER)) and not case.name.startswith("referral_id"):
        assert not located, located  # the value was readable: nothing to report
    if case.note:
        notes = [i.message for i in evaluation.data_issues if i.row is None]
        assert any(case.note in n for n in notes), notes


def test_refusals_exit_2_through_the_command_line(tmp_path, corpus, capsys) -> None:
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(SPEC)
    for number, case in enumerate(CASES):
        if case.rows is not None:
            continue
        args = ["evaluate", str(spec_file), "--data", str(corpus / str(number))]
        assert main(args) == 2, case.name
        err = capsys.readouterr().err
        assert "Traceback" not in err and case.refused in err, (case.name, err)


def test_a_folder_or_a_device_is_refused_not_read(tmp_path, spec) -> None:
    (tmp_path / "referrals.csv").mkdir()
    for engine in ("pandas", "duckdb"):
        with pytest.raises(DataError, match="referrals.csv is a folder, not a file"):
            spec.evaluate(tmp_path, engine=engine)
        with pytest.raises(DataError, match="not a regular file"):
            spec.evaluate("/dev/zero", engine=engine)


@pytest.mark.parametrize("name", ["referrals.PARQUET", "referrals.Csv"])
def test_a_suffix_in_capitals_is_read_as_its_kind_on_every_engine(tmp_path, spec, name) -> None:
    # DuckDB and Spark chose their reader by the exact suffix `.parquet`, so an upper-case
    # one fell to the CSV reader and stopped with an AssertionError.
    if name.endswith("PARQUET"):
        pq.write_table(
            pa.Table.from_pylist([dict(zip(HEADER, r, strict=True)) for r in ROWS]), tmp_path / name
        )
    else:
        (tmp_path / name).write_text(csv_text(), encoding="utf-8")
    found = [_figures(spec.evaluate(tmp_path, engine=e)) for e in ("pandas", "duckdb")]
    assert found[0] == found[1]
    # The four good rows are all read (rows: every row evaluated, none rejected).
    assert found[0][2]["referrals"]["read"] == 4


# One of each kind of case, read by Spark too.
ON_SPARK = [
    "delimiter a tab",
    "bom crlf",
    "quoted newline",
    "trailing delimiter everywhere",
    "age '1e30'",
    "cost '1e400'",
    "urgent 'NaN'",
    "received_on '12/31/2024'",
    "received_on '3/6/24'",
    "called_at '2025-03-30T01:30'",
    "called_at '2024-10-27T01:30'",
    "called_at '2024-06-03T18:00-030'",
    "called_at '2024-10-27T01:30+01:'",
    "parquet dates as int64",
    "parquet age 1e30",
    "parquet date 9999-12-31",
    "parquet date-time in 1500",
    "parquet key as float with NaN",
    "parquet note as boolean",
    "excel crlf with a line feed in a cell",
    "cost '9,5'",
    "cost '£1,234.50'",
    "parquet instants",
]
RULE_IDS = [kpi["id"] for kpi in yaml.safe_load(SPEC)["kpis"]]


def _side_by_side(count: int) -> str:
    """SPEC with `count` copies of its dataset and rules: referrals_00, adults_00, …"""
    single = yaml.safe_load(SPEC)
    model = {**single, "datasets": {}, "kpis": []}
    for sample in range(count):
        name = f"referrals_{sample:02d}"
        model["datasets"][name] = single["datasets"]["referrals"]
        for kpi in single["kpis"]:
            model["kpis"].append({**kpi, "id": f"{kpi['id']}_{sample:02d}", "dataset": name})
    return json.dumps(model, default=str)  # JSON is YAML, and has no anchors for the copies


def _sample_figures(evaluation, sample: int) -> tuple:
    """One sample's figures out of a side-by-side evaluation, under the single spec's names."""
    names = "|".join(["referrals", *RULE_IDS])
    text = re.sub(rf"\b({names})_{sample:02d}\b", r"\1", evaluation.model_dump_json())
    verdicts, issues, rows = _figures_of(json.loads(text))
    return (
        [v for v in verdicts if v[0] in RULE_IDS],
        [i for i in issues if i[0] == "referrals"],
        {"referrals": rows["referrals"]},
    )


def test_spark_reads_the_sample_as_pandas_and_duckdb_do(spec, tmp_path) -> None:
    # Spark needs Java: .ci/run installs it, and without it spark_session() raises DataError,
    # a failure rather than a skip. A Spark evaluation costs seconds however small its data,
    # so the samples are read side by side, each as a dataset of its own, in one evaluation
    # per engine; the figures of each sample's dataset are those of the sample on its own.
    numbers = {c.name: n for n, c in enumerate(CASES)}
    folder = tmp_path / "side_by_side"
    folder.mkdir()
    for sample, name in enumerate(ON_SPARK):
        _write(CASES[numbers[name]], folder / f"referrals_{sample:02d}")
    side_by_side = specrules.loads(_side_by_side(len(ON_SPARK)))
    found = {
        e: side_by_side.evaluate(folder, period="2024/25", engine=e)
        for e in ("pandas", "duckdb", "spark")
    }
    assert _figures(found["spark"]) == _figures(found["pandas"]) == _figures(found["duckdb"])
    for sample, name in enumerate(ON_SPARK):
        alone = tmp_path / "alone" / str(sample)
        alone.mkdir(parents=True)
        _write(CASES[numbers[name]], alone / "referrals")
        figures = _sample_figures(found["pandas"], sample)
        on_its_own = _figures(spec.evaluate(alone, period="2024/25", engine="pandas"))
        assert figures == on_its_own, name
        assert figures[2]["referrals"]["read"] == 4, name  # every sample is read, not refused


def test_spark_refuses_mixed_line_endings_naming_the_engines_that_read_them(spec, corpus):
    # Spark's CSV reader takes one kind of line ending per file (it read 2 of the 4 rows);
    # pandas and DuckDB read the file (the corpus case "mixed crlf and lf").
    number = [c.name for c in CASES].index("mixed crlf and lf")
    with pytest.raises(DataError) as refused:
        spec.evaluate(corpus / str(number), period="2024/25", engine="spark")
    message = str(refused.value)
    assert "referrals.csv" in message and "some of its lines end in CR LF" in message
    assert "--engine duckdb or pandas" in message


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_column_of_bytes_is_refused_with_a_message(spec, tmp_path, engine) -> None:
    # `note` as a binary Parquet column, one value not UTF-8: pandas raised
    # UnicodeDecodeError, DuckDB read it as escaped text. Both refuse it, naming the column.
    frame = pd.DataFrame(ROWS, columns=HEADER)
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata()
    notes = pa.array([b"first", b"\xff\xfe", b"third", None], pa.binary())
    pq.write_table(
        table.set_column(HEADER.index("note"), "note", notes), tmp_path / "referrals.parquet"
    )
    with pytest.raises(DataError, match=r"column `note` holds bytes \(a binary column\)"):
        spec.evaluate(tmp_path, period="2024/25", engine=engine)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_nan_key_is_a_missing_key(spec, corpus, engine) -> None:
    # keys 1.0, NaN, 3.0, 4.0: row 2 has no key, so 4 read, 3 evaluated, 1 rejected
    number = [c.name for c in CASES].index("parquet key as float with NaN")
    account = spec.evaluate(corpus / str(number), period="2024/25", engine=engine).rows
    assert (account["referrals"].read, account["referrals"].evaluated) == (4, 3)
    assert account["referrals"].rejected == {"missing key (referral_id)": 1}


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_booleans_read_as_text_are_true_and_false_as_python_writes_them(tmp_path, engine):
    # flags True, False, missing, True as `note` (text): `note = "True"` holds on rows 1
    # and 4, so the count is 2 (DuckDB wrote "true" and counted 0)
    single = yaml.safe_load(SPEC)
    single["kpis"] = [
        {
            "id": "true_notes",
            "title": "Notes reading True",
            "dataset": "referrals",
            "scoring": "count",
            "initial_population": 'note = "True"',
            "source": {"section": "1"},
        }
    ]
    frame = pd.DataFrame(ROWS, columns=HEADER)
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata()
    flags = pa.array([True, False, None, True])
    pq.write_table(
        table.set_column(HEADER.index("note"), "note", flags), tmp_path / "referrals.parquet"
    )
    evaluation = specrules.loads(json.dumps(single, default=str)).evaluate(
        tmp_path, period="2024/25", engine=engine
    )
    assert evaluation.verdict("true_notes").value == 2


def test_a_row_short_of_its_last_value_is_not_told_to_drop_a_trailing_delimiter(tmp_path, spec):
    # row 2 ends with "," but has 7 values of 8: its last value is missing, not one too many
    rows = [list(r) for r in ROWS]
    text = csv_text(rows=rows).splitlines()
    text[2] = ",".join(ROWS[1][:6]) + ","  # 7 values: referral_id … urgent, then an empty one
    (tmp_path / "referrals.csv").write_text("\n".join(text) + "\n")
    with pytest.raises(DataError) as refused:
        spec.evaluate(tmp_path, period="2024/25")
    message = str(refused.value)
    assert "row 2 has 7 values" in message
    assert "remove it, or add one to the header" not in message
