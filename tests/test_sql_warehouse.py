"""`specrules sql`: the verdict table as SQL, run on DuckDB and on a real PostgreSQL server
over every spec's example data, gives `evaluate`'s verdicts on the pandas engine: the same
rows, every figure and status equal.

The tables are made by `specrules sql SPEC --ddl` and filled from the example CSV files as
docs/sql.md shows (PostgreSQL's COPY with the file's header as the column list; DuckDB's
INSERT … BY NAME from read_csv), so the documented way of loading is tested too.

The PostgreSQL server is a private cluster started once for the session (tests/
postgres_server.py); a test that needs it fails, never skips, when it cannot start.
"""

from __future__ import annotations

import csv
import functools
import math
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import postgres_server
import specrules
from specrules.cli import main
from specrules.engine.sql.create_tables import create_tables
from specrules.engine.sql.expressions import (
    CALENDAR,
    WORKDAYS,
    UnsupportedInDialect,
    fill,
    install_calendar,
)
from specrules.engine.sql.verdict_table import verdict_sql
from specrules.sql_cli import calendar_sql

ROOT = Path(__file__).parent.parent
# a spec's name: its path under specs/ without .yaml (national/rtt_incomplete); its example
# data is the folder of that name under examples/
SPECS = sorted(
    str(p.relative_to(ROOT / "specs").with_suffix("")) for p in ROOT.glob("specs/**/*.yaml")
)
EXAMPLES = [name for name in SPECS if (ROOT / "examples" / name).is_dir()]
DIALECTS = ["duckdb", "postgres", "spark", "bigquery", "tsql"]
# What a dialect cannot write, by spec: everything else exports.
# Known refusals, worked from the specs: rdash_peer's median wait (`aggregate: median`) has
# no aggregate in BigQuery or SQL Server (only a window function).
REFUSED = {("rdash_peer", "bigquery"): "`median`", ("rdash_peer", "tsql"): "`median`"}
# The dialects the tests run the SQL on: every spec must export for them.
PROVEN = ("duckdb", "postgres")

KEY = ["rule_id", "period", "group"]
TEXT = ["kind", "title", "status", "rag", "unit", "threshold", "judged_against", "reason"]
NUMBERS = ["value", "numerator", "denominator", "target", "gap", "breach_count"]


@pytest.fixture(scope="session")
def postgres():
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail(
            "these tests need PostgreSQL's driver: pip install 'psycopg[binary]' (in [dev])"
        )
    try:
        server = postgres_server.start()
    except postgres_server.ServerError as exc:
        pytest.fail(f"these tests run the SQL on a real PostgreSQL server: {exc}")
    try:
        with server.connect() as con:
            # the working-day calendar, once, where every schema's search path finds it
            con.execute(calendar_sql(CALENDAR, WORKDAYS))
            con.execute("ANALYZE")
        yield server
    finally:
        postgres_server.stop(server)


@functools.cache
def load(name: str):
    return specrules.load(ROOT / "specs" / f"{name}.yaml")


@functools.cache
def exported(name: str, dialect: str) -> str:
    """A spec's verdict SQL, written once per session (the tests below share it)."""
    return verdict_sql(load(name).plan, dialect)


@functools.cache
def expected(name: str) -> pd.DataFrame:
    """`evaluate` on the pandas engine over the spec's example data, once per session."""
    return load(name).evaluate(str(ROOT / "examples" / name)).to_frame()


def csv_files(spec, name: str):
    """(dataset, path, columns in the file's order) of every example file the spec reads."""
    for dataset in spec.model.datasets:
        path = ROOT / "examples" / name / f"{dataset}.csv"
        if path.exists():
            with path.open(newline="", encoding="utf-8") as handle:
                yield dataset, path, next(csv.reader(handle))


def assert_same_verdicts(got: pd.DataFrame, want: pd.DataFrame, where: str) -> None:
    """Every row of `want` in `got` and no other; each column equal (numbers to 1e-9)."""
    assert list(got.columns) == list(want.columns), where
    got = got.assign(group=got["group"].astype("string")).set_index(KEY)
    want = want.set_index(KEY)
    assert sorted(map(str, got.index)) == sorted(map(str, want.index)), where
    assert got.index.is_unique, where
    got = got.loc[want.index]
    for column in TEXT:
        left, right = got[column].astype("string"), want[column].astype("string")
        differ = ~((left == right).fillna(False) | (left.isna() & right.isna()))
        assert not differ.any(), f"{where}: {column}\n{got[differ][column]}\n{want[differ][column]}"
    for column in ("period_start", "period_end"):
        days = pd.to_datetime(got[column]).dt.date
        assert (days == want[column].dt.date).all(), f"{where}: {column}"
    for column in NUMBERS:
        for key, a, b in zip(want.index, got[column], want[column], strict=True):
            if pd.isna(b):
                assert pd.isna(a), f"{where}: {key} {column}: {a} where evaluate gives none"
            else:
                assert not pd.isna(a), f"{where}: {key} {column}: none, evaluate gives {b}"
                assert math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12), (
                    f"{where}: {key} {column}: {a} != {b}"
                )


# ------------------------------------------------------------------ every spec, every dialect
@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", SPECS)
def test_every_spec_exports_or_is_refused_naming_the_construct(name, dialect):
    spec = load(name)
    assert f"CREATE TABLE {'[' if dialect == 'tsql' else ''}" in create_tables(spec.model, dialect)
    try:
        text = exported(name, dialect)
    except UnsupportedInDialect as exc:
        # a refusal names the construct, the dialect, and the dialects that can write it
        assert dialect not in PROVEN, f"{name} must export for {dialect}: {exc}"
        assert exc.dialect == dialect and exc.works_in and dialect not in exc.works_in
        message = str(exc)
        assert f"{exc.what} has no equivalent in {dialect} SQL" in message
        assert f"generate SQL for {', '.join(exc.works_in)}" in message
        if (name, dialect) in REFUSED:
            assert exc.what == REFUSED[(name, dialect)]
        return
    assert (name, dialect) not in REFUSED, f"{name} was expected to be refused for {dialect}"
    for rule in spec.plan.rules:  # each rule commented with its id and source
        assert f"-- rule {rule.id} (" in text
        assert f"-- source: {rule.model.source.section}" in text


# ------------------------------------------------------------------ DuckDB
@pytest.mark.parametrize("name", EXAMPLES)
def test_duckdb_runs_the_verdict_sql_and_agrees_with_evaluate(name):
    spec = load(name)
    con = duckdb.connect()
    con.execute(create_tables(spec.model, "duckdb"))
    for dataset, file, _ in csv_files(spec, name):
        con.execute(
            f'INSERT INTO "{dataset}" BY NAME SELECT * FROM read_csv(?, header = true, '
            "all_varchar = true)",
            [str(file)],
        )
    sql = exported(name, "duckdb")
    if CALENDAR in sql:
        install_calendar(con)  # the tables `specrules sql --calendar` prints, made faster
    got = con.execute(sql).df()
    assert_same_verdicts(got, expected(name), f"{name} on DuckDB")


# ------------------------------------------------------------------ PostgreSQL
@pytest.mark.parametrize("name", EXAMPLES)
def test_postgres_runs_the_verdict_sql_and_agrees_with_evaluate(postgres, name):
    spec, schema = load(name), name.replace("/", "__")
    with postgres.connect() as con:
        con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        con.execute(f'CREATE SCHEMA "{schema}"')
        con.execute(f'SET search_path TO "{schema}", public')
        con.execute(create_tables(spec.model, "postgres"))
        for dataset, file, columns in csv_files(spec, name):
            listed = ", ".join(f'"{c}"' for c in columns)  # \copy t (header) FROM file …
            with con.cursor().copy(
                f'COPY "{dataset}" ({listed}) FROM STDIN WITH (FORMAT csv, HEADER true)'
            ) as copy:
                copy.write(file.read_bytes())
        con.execute("ANALYZE")  # statistics, so that the planner uses the keys' indexes
        cursor = con.execute(exported(name, "postgres"))
        got = pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])
    assert_same_verdicts(got, expected(name), f"{name} on PostgreSQL")


def test_postgres_rounds_halves_to_even_as_numpy(postgres):
    """PostgreSQL's round of a double has no rule for ties; the SQL rounds them to even."""
    from sqlglot import exp

    rounded = fill("round_by_row", "postgres", x=exp.column("x"), d=exp.column("d"))
    cases = [  # (x, places, numpy's round, worked by hand)
        (2.5, 0, 2.0),  # a tie: to the even 2
        (3.5, 0, 4.0),  # a tie: to the even 4
        (-2.5, 0, -2.0),
        (2.6, 0, 3.0),
        (0.125, 2, 0.12),  # 12.5 hundredths, a tie (0.125 is exact in binary): 12
        (0.375, 2, 0.38),  # 37.5 hundredths: to the even 38
        (1250.0, -2, 1200.0),  # 12.5 hundreds: 12
        (1350.0, -2, 1400.0),  # 13.5 hundreds: 14
    ]
    with postgres.connect() as con:
        for x, places, want in cases:
            sql = f"SELECT {rounded.sql('postgres')} FROM (SELECT %s::float8 AS x, %s AS d) AS t"
            assert con.execute(sql, (x, places)).fetchone()[0] == want, (x, places)


def test_a_server_that_cannot_start_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("SPECRULES_PG_BIN", str(tmp_path))
    with pytest.raises(postgres_server.ServerError, match="apt-get install -y postgresql"):
        postgres_server.start()


# ------------------------------------------------------------------ the command
def test_cli_prints_the_verdict_sql_and_the_tables(tmp_path, capsys):
    spec = str(ROOT / "specs" / "dorset_dsms.yaml")
    assert main(["sql", spec, "--dialect", "postgres"]) == 0
    text = capsys.readouterr().out
    assert 'AS "group"' in text and "specrules_verdicts" in text
    assert main(["sql", spec, "--dialect", "postgres", "--ddl"]) == 0
    ddl = capsys.readouterr().out
    assert 'CREATE TABLE "referrals" (\n  "referral_id" TEXT NOT NULL,' in ddl
    assert 'PRIMARY KEY ("referral_id")' in ddl
    # dorset counts working days: the calendar the SQL reads comes with the tables
    assert f"CREATE TABLE {CALENDAR} (day DATE PRIMARY KEY" in ddl
    assert main(["sql", str(ROOT / "specs" / "rdash_peer.yaml"), "--dialect", "tsql"]) == 2
    err = capsys.readouterr().err
    assert "`median` has no equivalent in tsql SQL" in err and "generate SQL for duckdb" in err
    # the tables can be made even where the query cannot be written
    assert main(["sql", str(ROOT / "specs" / "rdash_peer.yaml"), "--dialect", "tsql", "--ddl"]) == 0
    assert "CREATE TABLE [referrals]" in capsys.readouterr().out


# ------------------------------------------------------------------ worked by hand
HAND_SPEC = """
specrules: 1
title: Warehouse SQL worked by hand
commissioner: Test
service: Test
source_document: none
contract:
  start: 2023-04-01
  end: 2025-03-31
  periods: financial_year
datasets:
  visits:
    key: visit_id
    date: visited_on
    fields:
      visit_id: text
      visited_on: date
      team: text
      seen_in_time: boolean
      band: integer
kpis:
  - id: visits
    title: Visits
    dataset: visits
    scoring: count
    period: quarter
    threshold: at least 40 per year
    amber: 10%
    breakdowns: [team]
    group_thresholds: {North: at least 30 per year, South: at least 10 per year}
    source: {section: "1"}
  - id: seen_in_time
    title: Seen in time
    dataset: visits
    scoring: proportion
    numerator: seen_in_time
    threshold: between 50% and 80%
    source: {section: "2"}
  - id: visits_by_day_and_band
    title: Visits by day and band
    dataset: visits
    scoring: count
    monitoring_only: true
    breakdowns: [visited_on, band]
    source: {section: "3"}
"""


def _hand_data(folder: Path) -> None:
    """24 visits in 2023/24: Q1 9 North (May), Q2 8 North and 4 South (August), Q3 3 North
    (November), Q4 none; the first 21 seen in time, 2 not, the last unknown."""
    rows = [("2023-05-10", "North")] * 9 + [("2023-08-10", "North")] * 8
    rows += [("2023-08-20", "South")] * 4 + [("2023-11-20", "North")] * 3
    seen = ["yes"] * 21 + ["no"] * 2 + [""]
    lines = ["visit_id,visited_on,team,seen_in_time,band"]
    lines += [
        f"V{i},{day},{team},{s},{i % 2 + 1}"
        for i, ((day, team), s) in enumerate(zip(rows, seen, strict=True))
    ]
    (folder / "visits.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


# (rule, period, group) → status, rag, value, target, gap; worked by hand:
# a quarter's share of 40 a year is 10 (North 7.5, South 2.5); amber within 10% of the
# target (1 for the whole, 0.75 North, 0.25 South). seen_in_time: 21 of 24 = 0.875, above
# 80% by 0.075.
HAND = {
    ("visits", "2023/24-Q1", None): ("not met", "amber", 9.0, 10.0, -1.0),
    ("visits", "2023/24-Q1", "team=North"): ("met", "green", 9.0, 7.5, 1.5),
    ("visits", "2023/24-Q1", "team=South"): ("not met", "red", 0.0, 2.5, -2.5),  # no rows
    ("visits", "2023/24-Q2", None): ("met", "green", 12.0, 10.0, 2.0),
    ("visits", "2023/24-Q2", "team=North"): ("met", "green", 8.0, 7.5, 0.5),
    ("visits", "2023/24-Q2", "team=South"): ("met", "green", 4.0, 2.5, 1.5),
    ("visits", "2023/24-Q3", None): ("not met", "red", 3.0, 10.0, -7.0),
    ("visits", "2023/24-Q3", "team=North"): ("not met", "red", 3.0, 7.5, -4.5),
    ("visits", "2023/24-Q3", "team=South"): ("not met", "red", 0.0, 2.5, -2.5),
    ("visits", "2023/24-Q4", None): ("not met", "red", 0.0, 10.0, -10.0),
    ("visits", "2023/24-Q4", "team=North"): ("not met", "red", 0.0, 7.5, -7.5),
    ("visits", "2023/24-Q4", "team=South"): ("not met", "red", 0.0, 2.5, -2.5),
    ("seen_in_time", "2023/24", None): ("not met", "red", 0.875, 0.5, 0.075),
}


# visits by day and band (band = 1 for even row numbers, 2 for odd): groups labelled as
# `to_frame` labels them, dates without a time and whole numbers as 1.0 (numbers are doubles)
BY_DAY = {
    "visited_on=2023-05-10, band=1.0": 5,  # rows 0-8: 0, 2, 4, 6, 8
    "visited_on=2023-05-10, band=2.0": 4,
    "visited_on=2023-08-10, band=1.0": 4,  # rows 9-16: 10, 12, 14, 16
    "visited_on=2023-08-10, band=2.0": 4,
    "visited_on=2023-08-20, band=1.0": 2,  # rows 17-20: 18, 20
    "visited_on=2023-08-20, band=2.0": 2,
    "visited_on=2023-11-20, band=1.0": 1,  # rows 21-23: 22
    "visited_on=2023-11-20, band=2.0": 2,
    None: 24,
}


def _check_hand(got: pd.DataFrame) -> None:
    by_day = got[got.rule_id == "visits_by_day_and_band"]
    groups = [None if pd.isna(g) else g for g in by_day.group]
    assert dict(zip(groups, by_day.value, strict=True)) == BY_DAY
    assert set(by_day.status) == {"monitoring"} and set(by_day.period) == {"2023/24"}
    got = got[got.rule_id != "visits_by_day_and_band"]
    # 2024/25 has no data, so no row: the data covers one contract year of two
    found = {
        (r.rule_id, r.period, None if pd.isna(r.group) else r.group): (
            r.status,
            r.rag,
            float(r.value),
            float(r.target),
            float(r.gap),
        )
        for r in got.itertuples()
    }
    assert set(found) == set(HAND)
    for key, (status, rag, value, target, gap) in HAND.items():
        assert found[key][:2] == (status, rag), key
        assert found[key][2:] == pytest.approx((value, target, gap), abs=1e-12), key
    seen = got[got.rule_id == "seen_in_time"].iloc[0]
    # 21 seen in time of 24 (the unknown one counts against), so 3 breaches
    assert (seen.numerator, seen.denominator, seen.breach_count) == (21, 24, 3)


def test_hand_worked_verdicts_on_duckdb_and_postgres(postgres, tmp_path):
    (tmp_path / "spec.yaml").write_text(HAND_SPEC, encoding="utf-8")
    _hand_data(tmp_path)
    spec = specrules.load(tmp_path / "spec.yaml")
    con = duckdb.connect()
    con.execute(create_tables(spec.model, "duckdb"))
    con.execute(
        "INSERT INTO visits BY NAME SELECT * FROM read_csv(?, all_varchar = true)",
        [str(tmp_path / "visits.csv")],
    )
    _check_hand(con.execute(verdict_sql(spec.plan, "duckdb")).df())
    with postgres.connect() as pg:
        pg.execute("DROP SCHEMA IF EXISTS hand CASCADE; CREATE SCHEMA hand")
        pg.execute("SET search_path TO hand, public")
        pg.execute(create_tables(spec.model, "postgres"))
        with pg.cursor().copy("COPY visits FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
            copy.write((tmp_path / "visits.csv").read_bytes())
        cursor = pg.execute(verdict_sql(spec.plan, "postgres"))
        got = pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])
    _check_hand(got)
    _check_hand(spec.evaluate(str(tmp_path)).to_frame())  # and the pandas engine agrees
    # BigQuery has no template writing a date as pandas labels it: refused, naming the field
    with pytest.raises(UnsupportedInDialect, match="breakdown by the date field `visited_on`"):
        verdict_sql(spec.plan, "bigquery")
