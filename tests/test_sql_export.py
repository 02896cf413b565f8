"""`specrules sql`: the generated SQL per dialect (snapshots), that the DuckDB SQL runs and
gives the pandas engine's figures, and clear messages for what cannot be exported.

Regenerate the snapshots after an intended change with
    SPECRULES_UPDATE_SNAPSHOTS=1 pytest tests/test_sql_export.py
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import duckdb
import pytest

import specrules
from specrules.cli import main
from specrules.data import load_data
from specrules.engine.sql.expressions import install_calendar
from specrules.engine.sql.rule_rows import UnknownDialect, spec_sql
from specrules.engine.sql.verdict_table import verdict_sql

HERE = Path(__file__).parent
FIXTURE = HERE / "fixtures" / "wigan_core"
SNAPSHOTS = HERE / "snapshots"
DIALECTS = ["duckdb", "spark", "postgres", "bigquery", "tsql"]


@pytest.fixture(scope="module")
def core():
    return specrules.load(FIXTURE / "spec.yaml")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_generated_sql_matches_its_snapshot(core, dialect):
    text = verdict_sql(core.plan, dialect)  # what `specrules sql` prints
    snapshot = SNAPSHOTS / f"wigan_core.{dialect}.sql"
    if os.environ.get("SPECRULES_UPDATE_SNAPSHOTS"):
        snapshot.write_text(text, encoding="utf-8")
    assert text == snapshot.read_text(encoding="utf-8")


def test_sql_is_readable_one_commented_cte_per_rule(core):
    text = verdict_sql(core.plan, "postgres")
    for rule in core.plan.rules:
        assert f"-- rule {rule.id} (" in text
        assert f'\n"{rule.id}__rows" AS (' in text
        assert f"source: {rule.model.source.section}" in text


def test_duckdb_sql_gives_the_pandas_engines_figures(core):
    loaded = load_data(core.model, str(FIXTURE))
    con = duckdb.connect()
    install_calendar(con)
    for name, frame in loaded.frames.items():
        con.register(f"{name}_frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_frame")
    figures = {r[0]: r[1:] for r in con.execute(spec_sql(core.plan, "duckdb")).fetchall()}
    evaluation = core.evaluate(str(FIXTURE))
    compared = 0
    for rule in core.plan.rules:
        verdicts = [v for v in evaluation.verdicts if v.rule_id == rule.id]
        if len(verdicts) != 1 or verdicts[0].status == "no data":
            continue  # the SQL summary is over all rows; compare single-period rules
        numerator, denominator, value = figures[rule.id]
        verdict = verdicts[0]
        if verdict.numerator is not None:
            assert numerator == verdict.numerator, rule.id
            assert denominator == verdict.denominator, rule.id
        assert value is not None and verdict.value is not None, rule.id
        assert math.isclose(value, verdict.value), rule.id
        compared += 1
    assert compared >= 8


def test_unknown_dialect_and_unsupported_function_are_clear(tmp_path, capsys):
    with pytest.raises(UnknownDialect, match="choose one of: duckdb, spark"):
        spec_sql(specrules.load(FIXTURE / "spec.yaml").plan, "oracle")
    assert main(["sql", str(FIXTURE / "spec.yaml"), "--dialect", "oracle"]) == 2
    assert "unknown SQL dialect `oracle`" in capsys.readouterr().err
    spec = tmp_path / "median.yaml"
    text = (FIXTURE / "spec.yaml").read_text(encoding="utf-8")
    spec.write_text(
        text.replace("accept: consent_given", "accept: age >= median(referrals.age)"),
        encoding="utf-8",
    )
    assert main(["sql", str(spec), "--dialect", "tsql"]) == 2
    err = capsys.readouterr().err
    assert "`median` has no equivalent in tsql" in err and "postgres" in err
    assert "Traceback" not in err
    assert main(["sql", str(spec), "--dialect", "postgres"]) == 0
    assert "PERCENTILE_CONT(0.5) WITHIN GROUP" in capsys.readouterr().out.upper()


def test_cli_writes_sql_and_the_calendar(tmp_path, capsys):
    out = tmp_path / "rules.sql"
    assert main(["sql", str(FIXTURE / "spec.yaml"), "--output", str(out)]) == 0
    assert "-- rule age_minimum" in out.read_text(encoding="utf-8")
    assert main(["sql", "--calendar"]) == 0
    calendar = capsys.readouterr().out
    assert "CREATE TABLE specrules_calendar" in calendar
    assert "('2024-12-25'" in calendar  # every day is listed, holidays with no new number
