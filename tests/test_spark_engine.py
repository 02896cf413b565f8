"""`--engine spark` (PySpark, local mode) against the pandas engine.

One Spark session serves the whole file. Every spec's example data must give the pandas
engine's verdicts and row accounting; random well-typed expressions (tests/strategies.py)
must give the pandas engine's value on every row; hand-worked cases pin where engines
usually disagree. CI has Java, so a session that cannot start fails these tests rather
than skipping them.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from sqlglot import exp

import specrules
from specrules.dsl.checker import check
from specrules.dsl.parser import parse_expression
from specrules.dsl.printer import to_text
from specrules.dsl.types import Type
from specrules.engine.pandas.expressions import Context, evaluate_column
from specrules.engine.sql import expressions as sb
from specrules.engine.sql.on_spark import SparkConnection, evaluate_spec_spark, spark_session
from specrules.errors import DataError
from specrules.results import Evaluation
from strategies import CATALOG, FIELDS, KINDS, expressions, frames
from test_sql_backend import (
    DIFFERENTIAL,
    NOT_NULLABLE_CSV,
    NOT_NULLABLE_SPEC,
    REASONS,
    ROOT,
    SPEC_EXAMPLES,
    TWO_FIELD_KEY_CSV,
    TWO_FIELD_KEY_SPEC,
    _frame,
    _missing,
    assert_same_evaluation,
    check_not_nullable,
    check_reasons,
    check_two_field_key,
    same,
)

FIXTURE = ROOT / "tests/fixtures/wigan_core"
SPARK_TYPES = {
    "number": "DOUBLE",
    "text": "STRING",
    "boolean": "BOOLEAN",
    "date": "TIMESTAMP",
    "datetime": "TIMESTAMP",
}


@pytest.fixture(scope="session")
def spark():
    session = spark_session()  # raises DataError (a failure, not a skip) without Java
    SparkConnection(session).install_calendar()
    return session


# ------------------------------------------------------------------ expressions, row by row
def _text(value: Any) -> str | None:
    """A frame's value as text Spark casts back exactly (no time zone, no float rounding)."""
    if _missing(value):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        return pd.Timestamp(value).isoformat(sep=" ")
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating):
        return repr(float(value))  # all the digits: the cast gives the same double
    return str(value)


def run_spark(spark, tree, frame: pd.DataFrame) -> tuple[Type, list[Any], list[Any], str]:
    """The expression's value on every row of `frame`, from Spark and from pandas."""
    return run_spark_many(spark, [tree], frame)[0]


def run_spark_many(spark, trees: list, frame: pd.DataFrame) -> list[tuple]:
    """`run_spark` for several expressions, as the columns of one Spark query (a Spark query
    costs far more than its size)."""
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    checked = [check(tree, CATALOG, "d") for tree in trees]
    names = list(FIELDS)
    schema = StructType(
        [StructField("__row__", LongType())] + [StructField(n, StringType()) for n in names]
    )
    rows = [
        (position, *(_text(v) for v in values))
        for position, values in enumerate(frame[names].itertuples(index=False))
    ]
    spark.createDataFrame(rows, schema).createOrReplaceTempView("d_text")
    columns = ", ".join(f"CAST(`{n}` AS {SPARK_TYPES[FIELDS[n].kind]}) AS `{n}`" for n in names)
    spark.sql(f"SELECT __row__, {columns} FROM d_text").createOrReplaceTempView("d")
    relation = {"d": exp.to_table("d")}
    scope = sb.Scope(dialect="spark", dataset="d", alias="t", tables=relation, full_tables=relation)
    values = []
    for number, one in enumerate(checked):
        value = sb.compile_column(one, scope)
        if one.type is not None and one.type.kind in ("date", "datetime"):
            value = exp.cast(value, "VARCHAR")  # as text: no conversion by the Python's time zone
        values.append(value.as_(f"v{number}"))
    query = (
        exp.select(*values).from_(exp.to_table("d").as_("t")).order_by(exp.column("__row__", "t"))
    )
    sql = query.sql("spark")
    got = spark.sql(sql).collect()
    context = Context(frames={"d": frame}, dataset="d", frame=frame)
    return [
        (one.type, [row[n] for row in got], evaluate_column(one, context).tolist(), sql)
        for n, one in enumerate(checked)
    ]


# Each example is one Spark query over four expressions: 32 expressions in 8 queries.
@settings(DIFFERENTIAL, max_examples=8)
@given(
    st.lists(
        st.sampled_from(KINDS).flatmap(lambda k: expressions(k, depth=3)), min_size=4, max_size=4
    ),
    frames(),
)
def test_spark_agrees_with_pandas_row_by_row(spark, trees, frame: pd.DataFrame) -> None:
    for tree in trees:
        note(to_text(tree))
    for number, (t, got, want, sql) in enumerate(run_spark_many(spark, trees, frame)):
        assert len(got) == len(want) == len(frame)
        for position, (a, b) in enumerate(zip(got, want, strict=True)):
            assert same(t, a, b), f"v{number}, row {position}: spark {a!r}, pandas {b!r}\n{sql}"


def _plain(values: list[Any]) -> list[Any]:
    return [None if _missing(v) else v for v in values]


@pytest.mark.parametrize(
    ("text", "columns", "expected"),
    [
        # unknown and false is false; unknown and true is unknown (Kleene)
        ("b and n1 > 0", {"b": [None, None], "n1": [-1.0, 1.0]}, [False, None]),
        # unknown or true is true; unknown or false is unknown
        ("b or n1 > 0", {"b": [None, None], "n1": [-1.0, 1.0]}, [None, True]),
        ("not b", {"b": [True, None]}, [False, None]),
        # a missing value is in no list, nor out of it: unknown both ways
        ('t in ["a", "b"]', {"t": ["a", "c", None]}, [True, False, None]),
        ('t not in ["a", "b"]', {"t": ["a", "c", None]}, [False, True, None]),
        # an unknown condition chooses neither branch: unknown (as in test_sql_backend)
        ("if b then 1 else 2", {"b": [True, False, None]}, [1.0, 2.0, None]),
        # division is never integer division: 7 / 2 is 3.5, 1 / 3 a third; by zero missing
        ("7 / 2 + 0 * n1", {"n1": [1.0]}, [3.5]),
        ("1 / 3 + 0 * n1", {"n1": [1.0]}, [1 / 3]),
        ("n1 / n2", {"n1": [7.0, 1.0, 1.0], "n2": [2.0, 0.0, None]}, [3.5, None, None]),
        # nothing is in an empty list; a missing value stays unknown
        ("t in []", {"t": ["a", None]}, [False, None]),
        # aggregates over no rows: none counted, no largest
        ("count(where n1 > 1000)", {"n1": [1.0, 2.0]}, [0.0, 0.0]),
        ("max(n1 where n1 > 1000)", {"n1": [1.0, 2.0]}, [None, None]),
        # rounding halves to the even neighbour, as pandas does
        ("round(n1)", {"n1": [0.5, 1.5, 2.5]}, [0.0, 2.0, 2.0]),
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
def test_hand_worked_values(spark, text, columns, expected) -> None:
    t, got, want, sql = run_spark(spark, parse_expression(text), _frame(**columns))
    assert _plain(want) == expected
    assert len(got) == len(expected), sql
    for a, b in zip(_plain(got), expected, strict=True):
        if isinstance(b, float):
            assert a is not None and math.isclose(a, b, rel_tol=1e-12), (a, b, sql)
        else:
            assert a == b and type(a) is type(b), (a, b, sql)


def test_calendar_months_clip_to_the_end_of_the_month(spark) -> None:
    days = [pd.Timestamp("2024-01-31"), pd.Timestamp("2023-01-31"), None]
    t, got, want, sql = run_spark(spark, parse_expression("d1 + 1 month"), _frame(d1=days))
    # 31 January plus a month: 29 February in a leap year, 28 February otherwise
    assert [pd.Timestamp(v) if v else None for v in got] == [
        pd.Timestamp("2024-02-29"),
        pd.Timestamp("2023-02-28"),
        None,
    ]
    assert all(same(t, a, b) for a, b in zip(got, want, strict=True))


def test_days_between_across_a_leap_day(spark) -> None:
    frame = _frame(d1=[pd.Timestamp("2024-02-28")], d2=[pd.Timestamp("2024-03-01")])
    t, got, want, _ = run_spark(spark, parse_expression("days_between(d1, d2)"), frame)
    assert got == [2.0] and want == [2.0]  # 29 February and 1 March


def test_working_days_skip_weekends_and_bank_holidays(spark) -> None:
    # Friday 20 Dec 2024 to Monday 30 Dec 2024: the 23rd, 24th, 27th and 30th are working
    # days (the 21st, 22nd, 28th, 29th are weekend days, the 25th and 26th bank holidays).
    frame = _frame(d1=[pd.Timestamp("2024-12-20")], d2=[pd.Timestamp("2024-12-30")])
    t, got, want, _ = run_spark(spark, parse_expression("working_days_between(d1, d2)"), frame)
    assert got == [4.0] and want == [4.0]
    # three working days after the 20th: the 23rd, 24th, then (past Christmas) the 27th
    t, got, want, _ = run_spark(spark, parse_expression("d1 + 3 working days"), frame)
    assert pd.Timestamp(got[0]) == pd.Timestamp("2024-12-27") and same(t, got[0], want[0])


# ------------------------------------------------------------------ whole specs
@pytest.mark.parametrize(
    ("spec_path", "data"),
    SPEC_EXAMPLES,
    ids=[s.stem if s.stem != "spec" else d.name for s, d in SPEC_EXAMPLES],
)
def test_every_spec_gives_the_same_verdicts_on_pandas_and_spark(spark, spec_path, data) -> None:
    spec = specrules.load(spec_path)
    assert_same_evaluation(spec.evaluate(str(data)), _on_spark(spec_path, data))


@functools.cache
def _on_spark(spec_path: Path, data: Path, as_of: dt.date | None = None) -> Evaluation:
    """The spec's evaluation on Spark, made once for the tests of this file that read it (a
    Spark evaluation takes seconds): the reasons fixture is one of the specs above too."""
    return evaluate_spec_spark(specrules.load(spec_path).plan, str(data), as_of=as_of)


def test_reasons_exclusions_and_issues_worked_by_hand_on_spark(spark) -> None:
    check_reasons(lambda as_of: _on_spark(REASONS / "spec.yaml", REASONS, as_of))


def _fixture_copy(folder: Path) -> Path:
    for file in FIXTURE.glob("*.csv"):
        (folder / file.name).write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    return folder / "referrals.csv"


def test_bad_values_become_missing_and_are_reported(spark, tmp_path) -> None:
    referrals = _fixture_copy(tmp_path)
    lines = referrals.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    lines[1] = lines[1].replace(",30,", ",thirty,", 1)  # not a number
    cells = lines[2].split(",")
    cells[header.index("received_on")] = "31/02/2020"  # no 31 February
    lines[2] = ",".join(cells)
    lines.append(lines[3])  # the same key again: rejected as a duplicate
    cells = lines[4].split(",")
    cells[header.index("referral_id")] = ""  # no key: rejected
    lines[4] = ",".join(cells)
    referrals.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = specrules.load(FIXTURE / "spec.yaml")
    on_spark = evaluate_spec_spark(spec.plan, str(tmp_path))
    on_pandas = spec.evaluate(str(tmp_path))

    def reported(evaluation) -> list:
        return [
            (i.row, i.column, i.value, i.message)
            for i in evaluation.data_issues
            if i.column in ("age", "received_on")
        ]

    bad = reported(on_spark)
    assert bad == reported(on_pandas)
    # file rows are numbered from 1 after the header, in file order
    assert (1, "age", "thirty", "not a number") in bad
    assert (2, "received_on", "31/02/2020") in [b[:3] for b in bad]
    # 11 rows: R08 was already there twice, R03 now is too, and R04 lost its key
    account = on_spark.rows["referrals"]
    assert (account.read, account.evaluated) == (11, 8)
    assert account.rejected == {
        "missing key (referral_id)": 1,
        "duplicate key: an earlier row has the same referral_id": 2,
    }
    assert account.rejected == on_pandas.rows["referrals"].rejected


def test_cli_engine_spark_prints_a_table(spark, capsys) -> None:
    from specrules.cli import main

    spec = str(FIXTURE / "spec.yaml")
    assert main(["evaluate", spec, "--data", str(FIXTURE), "--engine", "spark"]) == 0
    out = capsys.readouterr().out
    assert "age_minimum" in out and "NOT MET" in out
    assert main(["evaluate", spec, "--data", "/no/such", "--engine", "spark"]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def test_an_evaluation_frees_its_tables_and_puts_the_session_s_settings_back(spark) -> None:
    """The engine's tables are local checkpoints: their blocks are freed at the end (a notebook
    evaluating again and again must not fill the JVM) and their views dropped. The engine's SQL
    settings hold while it evaluates; a session's own come back after (a notebook's session
    keeps shuffling into its own number of partitions)."""
    context = spark.sparkContext
    kept_before = {int(i) for i in context._jsc.getPersistentRDDs().keySet()}
    views_before = {row.viewName for row in spark.sql("SHOW VIEWS").collect()}
    spark.conf.set("spark.sql.shuffle.partitions", "7")
    try:
        verdicts = specrules.load(FIXTURE / "spec.yaml").evaluate(FIXTURE, engine="spark")
        assert spark.conf.get("spark.sql.shuffle.partitions") == "7"
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", "1")
    assert verdicts.verdicts  # it evaluated
    # Spark holds persisted RDDs weakly, so one from before may be gone: none may be new.
    kept_after = {int(i) for i in context._jsc.getPersistentRDDs().keySet()}
    assert kept_after - kept_before == set()
    assert {row.viewName for row in spark.sql("SHOW VIEWS").collect()} == views_before


def test_without_pyspark_the_message_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # `import pyspark` raises ImportError
    with pytest.raises(DataError, match=r"pip install 'specrules\[spark\]'.*--engine duckdb"):
        spark_session()


def _path_without_java(folder: Path) -> str:
    """A PATH of every command on this PATH but java, as links in `folder`."""
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            target, link = os.path.join(directory, name), folder / name
            if name.startswith("java") or link.exists() or not os.access(target, os.X_OK):
                continue
            link.symlink_to(target)
    return str(folder)


def test_a_session_that_cannot_start_gives_a_clear_message(tmp_path) -> None:
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYSPARK", "SPARK"))}
    env.update(JAVA_HOME="/nonexistent", PATH=_path_without_java(bin_folder))
    done = subprocess.run(
        [sys.executable, "-m", "specrules", "evaluate", str(FIXTURE / "spec.yaml")]
        + ["--data", str(FIXTURE), "--engine", "spark"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr
    assert "could not start a Spark session" in done.stderr
    assert "--engine duckdb" in done.stderr
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_parquet_files_read_like_the_csv_files(spark, tmp_path) -> None:
    for file in FIXTURE.glob("*.csv"):  # the same cells, as Parquet text columns
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
        frame.to_parquet(tmp_path / f"{file.stem}.parquet")
    spec = specrules.load(FIXTURE / "spec.yaml")
    assert_same_evaluation(
        spec.evaluate(str(FIXTURE)), evaluate_spec_spark(spec.plan, str(tmp_path))
    )
    # pandas writes nanoseconds unless told otherwise; Spark cannot read them: say so
    nanoseconds = pd.DataFrame(
        {"referral_id": ["R01"], "received_on": pd.to_datetime(["2019-07-01"])}
    )
    nanoseconds.astype({"received_on": "datetime64[ns]"}).to_parquet(tmp_path / "referrals.parquet")
    with pytest.raises(DataError, match="nanosecond timestamps.*microseconds"):
        evaluate_spec_spark(spec.plan, str(tmp_path))


# ------------------------------------------------------------------ issue 14: populations
@pytest.mark.parametrize(
    "module",
    ["test_snapshots", "test_exclusions", "test_eligibility_gate", "test_dated_thresholds"],
)
def test_snapshots_named_exclusions_eligibility_and_dated_thresholds_on_spark(
    spark, tmp_path, module
) -> None:
    """Each feature's hand-worked fixture gives the pandas engine's figures on Spark, and a
    figure worked by hand in that fixture's docstring."""
    case = __import__(module)
    dataset = {"test_snapshots": "pathways", "test_exclusions": "patients"}.get(module, "referrals")
    case.ROWS.to_csv(tmp_path / f"{dataset}.csv", index=False)
    if module == "test_snapshots":
        pd.DataFrame({"entry_id": ["e1"], "added_on": ["2024-05-01"]}).to_csv(
            tmp_path / "waiting_list.csv", index=False
        )
    if module == "test_eligibility_gate":
        pd.DataFrame({"contact_id": ["c1"], "contact_on": ["2023-06-02"]}).to_csv(
            tmp_path / "contacts.csv", index=False
        )
    spec = specrules.loads(case.SPEC)
    on_spark = evaluate_spec_spark(spec.plan, str(tmp_path))
    assert_same_evaluation(spec.evaluate(str(tmp_path)), on_spark)
    hand = {
        "test_snapshots": ("incomplete_within_18_weeks", "2024-05", (1, 2)),
        "test_exclusions": ("screening_rate", "2023/24", (2, 3)),
        "test_eligibility_gate": ("adult", "2023/24", (3, 7)),
        "test_dated_thresholds": ("faster_diagnosis", "2024/25", (3, 4)),
    }
    rule_id, period, figures = hand[module]
    verdict = on_spark.verdict(rule_id, period)
    assert (verdict.numerator, verdict.denominator) == figures
    if module == "test_exclusions":
        assert verdict.exclusions == {"died": 1, "moved_away": 1}
        assert verdict.exceptions == {"declined": 2, "unfit": 1}
    if module == "test_eligibility_gate":
        assert verdict.populations["not_eligible"] == 4
    if module == "test_dated_thresholds":
        assert (verdict.status, verdict.threshold) == ("not met", "at least 80%")


def test_a_key_of_two_fields_on_spark(spark, tmp_path) -> None:
    (tmp_path / "visits.csv").write_text(TWO_FIELD_KEY_CSV)
    plan = specrules.loads(TWO_FIELD_KEY_SPEC).plan
    check_two_field_key(evaluate_spec_spark(plan, str(tmp_path)))


def test_a_missing_value_where_the_spec_forbids_one_is_reported_on_spark(spark, tmp_path):
    (tmp_path / "people.csv").write_text(NOT_NULLABLE_CSV)
    plan = specrules.loads(NOT_NULLABLE_SPEC).plan
    check_not_nullable(evaluate_spec_spark(plan, str(tmp_path)))
