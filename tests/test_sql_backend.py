"""The SQL backend (IR → sqlglot → DuckDB) against the pandas engine.

Random well-typed expressions (tests/strategies.py) over random small frames full of
missing values must give the same value on every row in both engines. Hand-picked cases
pin the places where engines usually disagree: three-valued logic in CASE / IN / NOT IN,
division (always float, by zero → missing), calendar months, working days.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlglot import exp

import specrules
from specrules.dsl.checker import check
from specrules.dsl.parser import parse_expression
from specrules.dsl.printer import to_text
from specrules.dsl.types import Type
from specrules.engine.pandas.expressions import Context, evaluate_column
from specrules.engine.sql import expressions as sb
from specrules.engine.sql.on_duckdb import evaluate_spec_duckdb
from specrules.errors import DataError
from specrules.results import Evaluation
from strategies import CATALOG, FIELDS, KINDS, expressions, frames

SQL_TYPES = {
    "number": "DOUBLE",
    "text": "VARCHAR",
    "boolean": "BOOLEAN",
    "date": "TIMESTAMP",
    "datetime": "TIMESTAMP",
}
DIFFERENTIAL = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    sb.install_calendar(connection)
    yield connection
    connection.close()


def run_both(con, tree, frame: pd.DataFrame) -> tuple[Type, list[Any], list[Any], str]:
    checked = check(tree, CATALOG, "d")
    table = frame.reset_index(names="__row__")
    con.register("d_frame", table)
    columns = ", ".join(f'CAST("{c}" AS {SQL_TYPES[t.kind]}) AS "{c}"' for c, t in FIELDS.items())
    con.execute(f'CREATE OR REPLACE TABLE d AS SELECT "__row__", {columns} FROM d_frame')
    con.unregister("d_frame")
    relation = {"d": exp.to_table("d")}
    scope = sb.Scope(dataset="d", alias="t", tables=relation, full_tables=relation)
    query = (
        exp.select(sb.compile_column(checked, scope).as_("v"))
        .from_(exp.to_table("d").as_("t"))
        .order_by(exp.column("__row__", "t"))
    )
    sql = query.sql("duckdb")
    got = [row[0] for row in con.execute(sql).fetchall()]
    want = evaluate_column(checked, Context(frames={"d": frame}, dataset="d", frame=frame))
    return checked.type, got, want.tolist(), sql


def _missing(value: Any) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )


def same(t: Type, sql_value: Any, pandas_value: Any) -> bool:
    if _missing(sql_value) or _missing(pandas_value):
        return _missing(sql_value) and _missing(pandas_value)
    if isinstance(sql_value, decimal.Decimal):
        sql_value = float(sql_value)
    if t.kind == "duration" and t.duration_kind == "time":
        return math.isclose(sql_value, pandas_value.total_seconds(), rel_tol=1e-9, abs_tol=1e-5)
    if t.kind in ("date", "datetime"):
        return abs(pd.Timestamp(sql_value) - pd.Timestamp(pandas_value)) <= pd.Timedelta(
            microseconds=2
        )
    if isinstance(sql_value, float):
        return math.isclose(sql_value, float(pandas_value), rel_tol=1e-9, abs_tol=1e-9)
    return type(sql_value) is type(pandas_value) and sql_value == pandas_value


@DIFFERENTIAL
@given(st.sampled_from(KINDS).flatmap(lambda k: expressions(k, depth=3)), frames())
def test_sql_agrees_with_pandas_row_by_row(con, tree, frame: pd.DataFrame) -> None:
    note(to_text(tree))
    t, got, want, sql = run_both(con, tree, frame)
    note(sql)
    assert len(got) == len(want) == len(frame)
    for position, (a, b) in enumerate(zip(got, want, strict=True)):
        assert same(t, a, b), f"row {position}: duckdb {a!r}, pandas {b!r}\n{sql}"


def _frame(**columns: list) -> pd.DataFrame:
    size = len(next(iter(columns.values())))
    data = {}
    for name, kind in FIELDS.items():
        values = columns.get(name, [None] * size)
        dtype = {
            "number": "Float64",
            "text": "string",
            "boolean": "boolean",
        }.get(kind.kind, "datetime64[ns]")
        data[name] = pd.Series(values, dtype=dtype)
    return pd.DataFrame(data)


@pytest.mark.parametrize(
    ("text", "columns", "expected"),
    [
        # NULL IN list is unknown, and so is NULL NOT IN list
        ('t in ["a", "b"]', {"t": ["a", "c", None]}, [True, False, None]),
        ('t not in ["a", "b"]', {"t": ["a", "c", None]}, [False, True, None]),
        # if-then-else with an unknown condition chooses neither branch: unknown
        ("if b then 1 else 2", {"b": [True, False, None]}, [1.0, 2.0, None]),
        # Kleene logic: unknown and false is false, unknown or true is true
        ("b and n1 > 0", {"b": [None, None], "n1": [-1.0, 1.0]}, [False, None]),
        ("b or n1 > 0", {"b": [None, None], "n1": [-1.0, 1.0]}, [None, True]),
        # always float division; by zero is missing
        ("n1 / n2", {"n1": [7.0, 1.0, 1.0], "n2": [2.0, 0.0, None]}, [3.5, None, None]),
        # a comparison with a missing value is unknown
        ("n1 >= 16", {"n1": [16.0, None]}, [True, None]),
        # places that differ by row: halves to even after scaling by 10^places, places cut
        # to whole (1.7 → 1); 0.125 × 100 = 12.5 → 12; 1250 / 100 = 12.5 → 12; 1350 → 14
        (
            "round(n1, n2)",
            {
                "n1": [0.125, 2.5, 1250.0, 1350.0, 7.0, 0.25],
                "n2": [2.0, 0.0, -2.0, -2.0, None, 1.7],
            },
            [0.12, 2.0, 1200.0, 1400.0, None, 0.2],
        ),
    ],
)
def test_three_valued_logic_and_division(con, text, columns, expected) -> None:
    tree = parse_expression(text)
    t, got, want, sql = run_both(con, tree, _frame(**columns))
    assert [None if _missing(v) else v for v in want] == expected
    assert [
        None if _missing(v) else float(v) if isinstance(v, decimal.Decimal) else v for v in got
    ] == expected, sql


def test_calendar_months_clip_to_the_end_of_the_month(con) -> None:
    days = [pd.Timestamp("2024-01-31"), pd.Timestamp("2023-01-31"), None]
    t, got, want, sql = run_both(con, parse_expression("d1 + 1 month"), _frame(d1=days))
    assert got[:2] == [dt.datetime(2024, 2, 29), dt.datetime(2023, 2, 28)] and got[2] is None
    assert all(same(t, a, b) for a, b in zip(got, want, strict=True))


def test_working_days_skip_weekends_and_bank_holidays(con) -> None:
    # Friday 20 Dec 2024 to Monday 30 Dec 2024: 23, 24, 27, 30 are working days (25, 26
    # are Christmas and Boxing Day), so 4 working days after the 20th up to the 30th.
    frame = _frame(d1=[pd.Timestamp("2024-12-20")], d2=[pd.Timestamp("2024-12-30")])
    t, got, want, _ = run_both(con, parse_expression("working_days_between(d1, d2)"), frame)
    assert got == [4.0] and want == [4.0]
    t, got, want, _ = run_both(con, parse_expression("d1 + 3 working days"), frame)
    assert got == [dt.datetime(2024, 12, 27)] and same(t, got[0], want[0])


def test_empty_list_is_false_and_missing_stays_unknown(con) -> None:
    tree = parse_expression("t in []")
    t, got, want, sql = run_both(con, tree, _frame(t=["a", None]))
    assert got == [False, None]
    assert [None if _missing(v) else v for v in want] == [False, None]


def test_a_function_a_dialect_cannot_express_names_the_alternatives() -> None:
    # BigQuery's GREATEST gives NULL when any value is missing; the language skips them
    checked = check(parse_expression("greatest(n1, n2)"), CATALOG, "d")
    scope = sb.Scope(dialect="bigquery", dataset="d", alias="t")
    with pytest.raises(sb.UnsupportedInDialect) as raised:
        sb.compile_sql(checked, scope)
    message = str(raised.value)
    assert "bigquery" in message and "duckdb" in message and "postgres" in message


# ------------------------------------------------------------------ whole specs, both engines
ROOT = Path(__file__).resolve().parent.parent
SPEC_EXAMPLES = [
    (spec, ROOT / "examples" / spec.stem)
    for spec in sorted((ROOT / "specs").glob("*.yaml"))
    if (ROOT / "examples" / spec.stem).is_dir()
] + [
    (ROOT / f"tests/fixtures/{name}/spec.yaml", ROOT / f"tests/fixtures/{name}")
    for name in ("wigan_core", "engine_reasons", "link_values")
]


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _same_verdict(a, b, key) -> None:
    assert a.status == b.status, key
    assert _close(a.value, b.value), (key, a.value, b.value)
    assert _close(a.numerator, b.numerator), key
    assert _close(a.denominator, b.denominator), key
    assert a.breach_count == b.breach_count, key
    # the same rows, each for the same reason; the same rows left out, for the same reasons
    assert sorted((r.key, r.reason) for r in a.breaches) == sorted(
        (r.key, r.reason) for r in b.breaches
    ), key
    assert [(e.reason, e.count) for e in a.excluded] == [(e.reason, e.count) for e in b.excluded], (
        key
    )
    assert a.populations == b.populations, key


@pytest.mark.parametrize(
    ("spec_path", "data"),
    SPEC_EXAMPLES,
    ids=[s.stem if s.stem != "spec" else d.name for s, d in SPEC_EXAMPLES],
)
def test_every_spec_gives_the_same_verdicts_on_both_engines(spec_path, data) -> None:
    spec = specrules.load(spec_path)
    assert_same_evaluation(spec.evaluate(str(data)), evaluate_spec_duckdb(spec.plan, str(data)))


# Periods with no rows for some rules: the examples' data end in 2020, so 2021/22 has none,
# and Kent's as-of date of 15 January 2020 falls before its first deadline.
EMPTY_PERIODS = [
    ("wigan_lot1", {"period": "2021/22"}),
    ("wigan_lot1", {"period": "contract"}),
    ("wigan_lot2", {"period": "2020-07"}),
    ("kent_ed", {"as_of": dt.date(2020, 1, 15)}),
]


@pytest.mark.parametrize(("name", "when"), EMPTY_PERIODS)
def test_periods_without_rows_give_the_same_verdicts_on_both_engines(name, when) -> None:
    spec = specrules.load(ROOT / "specs" / f"{name}.yaml")
    data = str(ROOT / "examples" / name)
    on_duckdb = evaluate_spec_duckdb(spec.plan, data, **when)
    assert_same_evaluation(spec.evaluate(data, **when), on_duckdb)
    if name == "wigan_lot1" and when["period"] == "2021/22":
        # a distinct count of clients over a year without a row: 0, not a crash
        assert on_duckdb.verdict("clients_commencing", "2021/22").value == 0


def assert_same_evaluation(on_pandas, other) -> None:
    """The same verdicts (with breakdown groups) and the same row accounting."""
    pandas_verdicts = {(v.rule_id, v.period): v for v in on_pandas.verdicts}
    other_verdicts = {(v.rule_id, v.period): v for v in other.verdicts}
    assert set(pandas_verdicts) == set(other_verdicts)
    for key, a in pandas_verdicts.items():
        b = other_verdicts[key]
        _same_verdict(a, b, key)
        # breakdown groups: the same groups, each with the same figures and status
        assert [g.group for g in a.groups] == [g.group for g in b.groups], key
        for group_a, group_b in zip(a.groups, b.groups, strict=True):
            _same_verdict(group_a, group_b, (*key, str(group_a.group)))

    def issues(evaluation) -> list[tuple]:
        return sorted(
            (i.dataset, i.row or 0, i.column or "", i.value or "", i.message)
            for i in evaluation.data_issues
        )

    assert issues(other) == issues(on_pandas)
    assert other.rows.keys() == on_pandas.rows.keys()
    for name, rows in on_pandas.rows.items():
        theirs = other.rows[name]
        assert (rows.read, rows.evaluated, rows.rejected) == (
            theirs.read,
            theirs.evaluated,
            theirs.rejected,
        ), name


def test_cli_engine_duckdb_reads_the_files(capsys) -> None:
    from specrules.cli import main

    fixture = ROOT / "tests/fixtures/wigan_core"
    code = main(
        ["evaluate", str(fixture / "spec.yaml"), "--data", str(fixture), "--engine", "duckdb"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "age_minimum" in out and "NOT MET" in out
    assert (
        main(["evaluate", str(fixture / "spec.yaml"), "--data", "/no/such", "--engine", "duckdb"])
        == 2
    )
    assert "no such file or folder" in capsys.readouterr().err


def test_bad_values_become_missing_and_are_reported(tmp_path) -> None:
    fixture = ROOT / "tests/fixtures/wigan_core"
    for file in fixture.glob("*.csv"):
        (tmp_path / file.name).write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    referrals = tmp_path / "referrals.csv"
    lines = referrals.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace(",30,", ",thirty,", 1)
    referrals.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = specrules.load(fixture / "spec.yaml")
    on_duckdb = evaluate_spec_duckdb(spec.plan, str(tmp_path))
    on_pandas = spec.evaluate(str(tmp_path))
    bad = [i for i in on_duckdb.data_issues if i.column == "age"]
    assert [(i.row, i.value, i.message) for i in bad] == [
        (i.row, i.value, i.message) for i in on_pandas.data_issues if i.column == "age"
    ]
    assert bad and bad[0].value == "thirty"


# ------------------------------------------------------------------ reasons, by hand
REASONS = ROOT / "tests/fixtures/engine_reasons"
LATE_HOURS = "late: 72.5 hours after the start; limit 48.0 hours"  # R2: 4 May 10:00 → 7 May 10:30
NO_END = "no end event (clock never stopped)"
UNDATED = ("no date to place the row in a period", 1)  # R5 has no received_on
EXCLUDED_C9 = ('denominator exclusion: client_id = "C9"', 1)  # R3
# (rule, as of) → breaches (key, reason), rows left out (reason, count), populations
EXPECTED_REASONS = {
    # R1, R2, R3, R6 fall in 2020/21 (R4 is dated before the contract); R2 is 15
    ("adults", None): ([("R2", "fails `age >= 18` → not accepted")], [UNDATED], (4, 4, 3)),
    ("contact_48_hours", None): ([("R2", LATE_HOURS), ("R3", NO_END)], [UNDATED], (4, 4, 2)),
    ("offer_10_days", None): (
        [  # R2: 4 → 20 May; R6: 1 → 15 July
            ("R2", "late: 16 days after the start; limit 10 days"),
            ("R3", NO_END),
            ("R6", "late: 14 days after the start; limit 10 days"),
        ],
        [UNDATED],
        (4, 4, 1),
    ),
    # 5 working days (bank holiday Fri 8 May 2020): R1 Fri 1 → Tue 5 May is 2; R2 Mon 4 →
    # Wed 20 May is 11 (5-7, 11-15, 18-20); R6 Wed 1 → Wed 15 July is 10
    ("offer_5_working_days", None): (
        [
            ("R2", "late: 11 working days after the start; limit 5 working days"),
            ("R3", NO_END),
            ("R6", "late: 10 working days after the start; limit 5 working days"),
        ],
        [UNDATED],
        (4, 4, 1),
    ),
    # denominator: adults R1, R3, R6 less R3 (client C9); R2 is 15; R6's urgency is unknown
    ("urgent_adults", None): (
        [("R6", "numerator unknown (missing data)")],
        [EXCLUDED_C9, ("not in the denominator", 1), UNDATED],
        (4, 2, 1),
    ),
    # as of 2 June: R6 (1 July) is after it; R3's clocks (from 1 June 08:00, no end) still run
    ("contact_48_hours", "2020-06-02"): (
        [("R2", LATE_HOURS)],
        [("clock still running at the as-of date", 1), UNDATED],
        (3, 2, 1),
    ),
    ("urgent_adults", "2020-06-02"): (
        [],
        [EXCLUDED_C9, ("not in the denominator", 1), UNDATED],
        (3, 1, 1),
    ),
}
NO_VALUE = ("no value to measure (missing data)", 1)  # R3 has no contact_at
# mean hours from referral to contact (at most 48): R1 24, R2 72.5, R6 1 → 97.5 / 3 = 32.5;
# as of 2 June, R1 and R2 → 96.5 / 2 = 48.25
EXPECTED_MEAN = {
    None: ("met", 32.5, 3, [NO_VALUE, UNDATED]),
    "2020-06-02": ("not met", 48.25, 2, [NO_VALUE, UNDATED]),
}
EXPECTED_ISSUES = [
    ("referrals", 3, "client_id", "C9", "link `client`: no clients row has this key"),
    (
        "referrals",
        4,
        None,
        None,
        "dated 2019-12-01, outside the contract (2020-04-01 to 2021-03-31): "
        "in no period, so not evaluated",
    ),
]


def check_reasons(evaluate) -> None:
    """`evaluate(as_of)` → an Evaluation of the reasons fixture, checked against the hand-worked
    figures above (shared with the Spark tests)."""
    for as_of in (None, "2020-06-02"):
        evaluation = evaluate(None if as_of is None else dt.date.fromisoformat(as_of))
        verdicts = {v.rule_id: v for v in evaluation.verdicts}
        for (rule_id, when), (breaches, left_out, counts) in EXPECTED_REASONS.items():
            if when != as_of:
                continue
            verdict = verdicts[rule_id]
            assert verdict.period == "2020/21"
            assert sorted((r.key, r.reason) for r in verdict.breaches) == breaches, rule_id
            assert [(e.reason, e.count) for e in verdict.excluded] == left_out, rule_id
            populations = verdict.populations
            assert (
                populations["initial_population"],
                populations["denominator"],
                populations["numerator"],
            ) == counts, rule_id
        assert verdicts["urgent_adults"].populations["denominator_exclusion"] == 1
        mean = verdicts["mean_hours_to_contact"]
        status, value, measured, left_out = EXPECTED_MEAN[as_of]
        assert (mean.status, mean.unit, mean.populations["measure_population"]) == (
            status,
            "hours",
            measured,
        )
        assert mean.value == pytest.approx(value)
        assert [(e.reason, e.count) for e in mean.excluded] == left_out
        issues = [(i.dataset, i.row, i.column, i.value, i.message) for i in evaluation.data_issues]
        assert issues == EXPECTED_ISSUES


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_reasons_exclusions_and_issues_worked_by_hand(engine) -> None:
    spec = specrules.load(REASONS / "spec.yaml")
    if engine == "pandas":
        check_reasons(lambda as_of: spec.evaluate(str(REASONS), as_of=as_of))
    else:
        check_reasons(lambda as_of: evaluate_spec_duckdb(spec.plan, str(REASONS), as_of=as_of))


def test_spec_evaluate_takes_an_engine() -> None:
    spec = specrules.load(REASONS / "spec.yaml")
    assert_same_evaluation(spec.evaluate(str(REASONS)), spec.evaluate(REASONS, engine="duckdb"))
    with pytest.raises(ValueError, match="unknown engine 'sqlite'; choose one of: pandas, duckdb"):
        spec.evaluate(REASONS, engine="sqlite")
    frames = {"referrals": pd.read_csv(REASONS / "referrals.csv", dtype=str)}
    with pytest.raises(DataError, match="not DataFrames.*the pandas engine.*takes DataFrames"):
        spec.evaluate(frames, engine="duckdb")


# links to nothing, of every type: V2's clinic 3, day 2 May, flag "no" and rate 2 are no
# row's key, nor is V3's rate 0.1 (V3 has no clinic, day or flag: a missing value links
# nothing, so it is not reported); values as Python writes them
LINK_ISSUES = [
    (2, "clinic_id", "3.0", "link `clinic`: no clinics row has this key"),
    (2, "booked", "2020-05-02 00:00:00", "link `day`: no days row has this key"),
    (2, "ok", "False", "link `flag`: no flags row has this key"),
    (2, "r", "2.0", "link `rate`: no rates row has this key"),
    (3, "r", "0.1", "link `rate`: no rates row has this key"),
]


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_links_to_nothing_of_every_type_worked_by_hand(engine) -> None:
    folder = ROOT / "tests/fixtures/link_values"
    evaluation = specrules.load(folder / "spec.yaml").evaluate(folder, engine=engine)
    issues = [(i.row, i.column, i.value, i.message) for i in evaluation.data_issues]
    assert issues == LINK_ISSUES


def test_a_file_duckdb_cannot_read_is_named_without_a_traceback(tmp_path, capsys) -> None:
    from specrules.cli import main

    for file in REASONS.glob("*.csv"):
        (tmp_path / file.name).write_bytes(file.read_bytes())
    (tmp_path / "clients.csv").unlink()
    (tmp_path / "clients.parquet").write_bytes(b"not parquet")
    status = main(
        ["evaluate", str(REASONS / "spec.yaml"), "--data", str(tmp_path)] + ["--engine", "duckdb"]
    )
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: DuckDB could not read clients.parquet:")
    assert "Traceback" not in err


# A key of two fields. Rows, in file order: (a,1) kept; (a,1) again; (a,2) kept; (a,-) and
# (-,-) lack part of the key; (b,1) kept; (a,1) a third time. So 7 read, 2 without a key,
# 2 repeating an earlier key (rows 2 and 7), 3 evaluated; the count rule counts those 3.
TWO_FIELD_KEY_SPEC = """
specrules: 1
title: two-field key
commissioner: c
service: s
source_document: test
contract: {start: 2024-01-01, end: 2024-12-31}
datasets:
  visits:
    key: [site, number]
    fields: {site: text, number: integer, note: text}
kpis:
  - id: visits_kept
    title: Visits kept
    dataset: visits
    scoring: count
    period: contract
    source: {section: s}
"""
TWO_FIELD_KEY_CSV = "site,number,note\na,1,x\na,1,y\na,2,z\na,,w\n,,v\nb,1,u\na,1,t\n"


def check_two_field_key(evaluation: Evaluation) -> None:
    account = evaluation.rows["visits"]
    assert (account.read, account.evaluated) == (7, 3)
    assert account.rejected == {
        "missing key (site, number)": 2,
        "duplicate key: an earlier row has the same site, number": 2,
    }
    assert evaluation.verdict("visits_kept").value == 3
    # each rejected row named, with its key's first field (blank when missing), in row order
    repeat = "duplicate key: an earlier row has the same site, number"
    missing = "missing key (site, number)"
    found = [(i.row, i.column, i.value, i.message) for i in evaluation.data_issues]
    assert found == [
        (2, "site", "a", repeat),
        (4, "site", "a", missing),
        (5, "site", "", missing),
        (7, "site", "a", repeat),
    ]


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_key_of_two_fields_rejects_rows_missing_a_part_and_repeats(engine, tmp_path) -> None:
    (tmp_path / "visits.csv").write_text(TWO_FIELD_KEY_CSV)
    spec = specrules.loads(TWO_FIELD_KEY_SPEC)
    check_two_field_key(spec.evaluate(tmp_path, engine=engine))


# Fields that may not be missing. Rows: 1 complete; 2 without a note; 3 with age "x"
# (unreadable, so missing too); 4 without an age. Each field's unreadable values come
# first, then its missing ones, each in row order; a blank is shown as "".
NOT_NULLABLE_SPEC = """
specrules: 1
title: required fields
commissioner: c
service: s
source_document: test
contract: {start: 2024-01-01, end: 2024-12-31}
datasets:
  people:
    key: id
    fields:
      id: text
      age: {type: integer, nullable: false}
      note: {type: text, nullable: false}
kpis:
  - {id: people, title: People, dataset: people, scoring: count, period: contract,
     source: {section: s}}
"""
NOT_NULLABLE_CSV = "id,age,note\nA,30,hello\nB,40,\nC,x,there\nD,,again\n"
MISSING = "missing, but the spec says it may not be"
NOT_NULLABLE_ISSUES = [
    (3, "age", "x", "not a number"),
    (3, "age", "x", MISSING),
    (4, "age", "", MISSING),
    (2, "note", "", MISSING),
]


def check_not_nullable(evaluation: Evaluation) -> None:
    found = [(i.row, i.column, i.value, i.message) for i in evaluation.data_issues]
    assert found == NOT_NULLABLE_ISSUES
    assert evaluation.verdict("people").value == 4  # reported, not rejected


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_missing_value_where_the_spec_forbids_one_is_reported(engine, tmp_path) -> None:
    (tmp_path / "people.csv").write_text(NOT_NULLABLE_CSV)
    check_not_nullable(specrules.loads(NOT_NULLABLE_SPEC).evaluate(tmp_path, engine=engine))


def test_failing_rows_out_of_order_are_found_so() -> None:
    from specrules.engine.sql.evaluator import _in_order

    # (segment, row): rule-and-period 0 rows 1, 4; segment 1 rows 2, 3: in order
    assert _in_order(np.array([0, 0, 1, 1]), np.array([1, 4, 2, 3]))
    # a row out of order within a segment, or a segment out of order, or a row twice
    assert not _in_order(np.array([0, 0, 1]), np.array([4, 1, 2]))
    assert not _in_order(np.array([1, 0]), np.array([1, 2]))
    assert not _in_order(np.array([0, 0]), np.array([3, 3]))


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_nan_where_the_spec_forbids_a_missing_value_is_shown_blank(engine, tmp_path) -> None:
    # age 30, NaN (a float's missing value), 40 from Parquet: row 2 is missing, shown as ""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {"id": ["A", "B", "C"], "age": [30.0, float("nan"), 40.0], "note": ["x", "y", "z"]}
    )
    pq.write_table(table, tmp_path / "people.parquet")
    evaluation = specrules.loads(NOT_NULLABLE_SPEC).evaluate(tmp_path, engine=engine)
    found = [(i.row, i.column, i.value, i.message) for i in evaluation.data_issues]
    assert found == [(2, "age", "", MISSING)]
