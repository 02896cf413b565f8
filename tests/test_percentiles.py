"""Percentiles: `aggregate: percentile` on continuous KPIs and `percentile(x, p)` in expressions.

Every figure is worked by hand from the definitions in dsl/percentiles.py:
  linear        position (n - 1) × p / 100 from 0, interpolated between its two neighbours
  nearest rank  the value at rank ceil(n × p / 100) from 1 (at least 1)
Each case runs on pandas and on DuckDB (the SQL both SQL engines print); whole specs run on
pandas, DuckDB and (`-k spark`) Spark.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from sqlglot import exp

import specrules
from specrules import SpecError
from specrules.authoring.lint import lint_text
from specrules.dsl.parser import parse_expression
from specrules.dsl.percentiles import label, nearest_rank
from specrules.dsl.printer import to_text
from specrules.engine.pandas.aggregates import grouped_percentile, percentile_of
from specrules.engine.sql.expressions import percentile_expression

# (values, centile, linear, nearest rank), each worked by hand
CASES = [
    # the brief's case: linear position 3 × 0.9 = 2.7 → 3 + 0.7 × (4 - 3) = 3.7;
    # nearest rank ceil(4 × 0.9) = ceil(3.6) = 4 → 4
    ([1, 2, 3, 4], 90, 3.7, 4),
    # n = 1: every centile is the one value
    ([5], 90, 5, 5),
    ([5], 0, 5, 5),
    # odd n: position 4 × 0.9 = 3.6 → 4 + 0.6 × 1 = 4.6; rank ceil(4.5) = 5 → 5
    ([1, 2, 3, 4, 5], 90, 4.6, 5),
    # odd n, median: position 2 → 3; rank ceil(2.5) = 3 → 3
    ([1, 2, 3, 4, 5], 50, 3, 3),
    # even n, median: position 1.5 → 2.5; rank ceil(2) = 2 → 2
    ([4, 1, 3, 2], 50, 2.5, 2),
    # ties: position 3 × 0.5 = 1.5 between 2 and 2 → 2; rank ceil(2) = 2 → 2
    ([2, 2, 2, 9], 50, 2, 2),
    # ties, then a jump: position 2.7 → 2 + 0.7 × (9 - 2) = 6.9; rank ceil(3.6) = 4 → 9
    ([2, 9, 2, 2], 90, 6.9, 9),
    # the ends: 0 is the smallest (rank 1), 100 the largest (rank 4)
    ([3, 1, 4, 2], 0, 1, 1),
    ([3, 1, 4, 2], 100, 4, 4),
    # a rank that floating point gets wrong: 7 × 100 / 100 is 7 exactly, but 0.07 × 100 is
    # 7.000000000000001, whose ceiling (8) Spark's percentile_disc uses. Values 1..100:
    # rank 7 → 7; linear position 99 × 0.07 = 6.93 → 7 + 0.93 = 7.93
    (list(range(1, 101)), 7, 7.93, 7),
    # a fractional centile: rank ceil(1000 × 0.009) = 9 → 9 (DuckDB's quantile_disc gives 10);
    # linear position 999 × 0.009 = 8.991 → 9.991
    (list(range(1, 1001)), 0.9, 9.991, 9),
]


@pytest.mark.parametrize(("values", "centile", "linear", "nearest"), CASES)
def test_hand_worked_centiles_on_pandas(values, centile, linear, nearest) -> None:
    series = pd.Series(values, dtype="Float64")
    assert float(percentile_of(series, centile, "linear")) == pytest.approx(linear)
    assert float(percentile_of(series, centile, "nearest_rank")) == nearest


@pytest.mark.parametrize(("values", "centile", "linear", "nearest"), CASES)
def test_hand_worked_centiles_on_duckdb(values, centile, linear, nearest) -> None:
    rows = ", ".join(f"({v})" for v in values)
    x = exp.column("x")
    for method, want in (("linear", linear), ("nearest_rank", nearest)):
        sql = percentile_expression(x.copy(), centile, method, "duckdb").sql("duckdb")
        got = duckdb.sql(f"SELECT {sql} FROM (VALUES {rows}) AS t(x)").fetchall()[0][0]
        assert float(got) == pytest.approx(want), (method, sql)


@pytest.mark.parametrize(("values", "centile", "linear", "nearest"), CASES)
def test_hand_worked_nearest_ranks_in_the_postgres_export(values, centile, linear, nearest) -> None:
    # Postgres is not here; DuckDB reads the same array_agg(…)[k] text, arrays from 1 too
    rows = ", ".join(f"({v})" for v in values) + ", (NULL)"  # a missing value is left out
    sql = percentile_expression(exp.column("x"), centile, "nearest_rank", "postgres")
    text = sql.sql("postgres")
    assert text.startswith("(ARRAY_AGG(x ORDER BY x) FILTER(WHERE NOT x IS NULL))[")
    got = duckdb.sql(f"SELECT {text} FROM (VALUES {rows}) AS t(x)").fetchall()[0][0]
    assert float(got) == nearest


def test_missing_values_are_left_out_and_no_values_give_no_figure() -> None:
    # [1, missing, 3]: the values are [1, 3]; linear 90: 1 + 0.9 × 2 = 2.8; rank ceil(1.8) = 2
    series = pd.Series([1, None, 3], dtype="Float64")
    assert float(percentile_of(series, 90, "linear")) == pytest.approx(2.8)
    assert float(percentile_of(series, 90, "nearest_rank")) == 3
    assert percentile_of(pd.Series([None], dtype="Float64"), 90, "linear") is pd.NA


def test_grouped_centiles_by_parent() -> None:
    # group a: [1, 2, 3, 4] → linear 90 = 3.7, rank 4 → 4; group b: [10] → 10
    values = pd.Series([4, 10, 1, 3, 2], dtype="Float64")
    groups = pd.Series(["a", "b", "a", "a", "a"])
    linear = grouped_percentile(values, groups, 90, "linear")
    nearest = grouped_percentile(values, groups, 90, "nearest_rank")
    assert linear.to_dict() == pytest.approx({"a": 3.7, "b": 10.0})
    assert nearest.to_dict() == {"a": 4.0, "b": 10.0}


def test_nearest_rank_counts_in_whole_numbers() -> None:
    assert nearest_rank(7, 100) == 7
    assert nearest_rank(90, 4) == 4
    assert nearest_rank(0, 4) == 1
    assert nearest_rank(99.5, 200) == 199  # 199.0 exactly
    assert nearest_rank(90, 0) == 0


def test_the_result_names_the_centile_and_its_method() -> None:
    assert label(90, None) == "90th centile (linear interpolation)"
    assert label(1, "nearest_rank") == "1st centile (nearest rank)"
    assert label(52, "linear") == "52nd centile (linear interpolation)"
    assert label(13, "linear") == "13th centile (linear interpolation)"
    assert label(99.5, "linear") == "99.5th centile (linear interpolation)"


def test_the_filter_goes_before_the_centile_and_prints_back() -> None:
    node = parse_expression("percentile(minutes where category = 1, 90)")
    assert to_text(node) == "percentile(minutes where category = 1, 90)"
    assert parse_expression(to_text(node)) == node


# ---------------------------------------------------------------- whole specs
SPEC = textwrap.dedent(
    """\
    specrules: 1
    title: Ambulance response (centiles)
    commissioner: Test ICB
    source_document: tests/test_percentiles.py
    contract: {start: 2024-04-01, end: 2025-03-31}
    datasets:
      incidents:
        key: incident_id
        date: call_at
        fields:
          incident_id: text
          category: integer
          call_at: datetime
          arrived_at: datetime
          minutes: number
        derived:
          response: arrived_at - call_at
    kpis:
      - id: C1_90th_linear
        title: Category 1, 90th centile (linear)
        dataset: incidents
        scoring: continuous
        initial_population: category = 1
        observation: minutes
        aggregate: percentile
        percentile: 90
        threshold: at most 3.7
        period: contract
        source: {section: test}
      - id: C1_90th_nearest
        title: Category 1, 90th centile (nearest rank)
        dataset: incidents
        scoring: continuous
        initial_population: category = 1
        observation: minutes
        aggregate: percentile
        percentile: 90
        percentile_method: nearest_rank
        threshold: at most 3.7
        period: contract
        source: {section: test}
      - id: C2_mean
        title: Category 2 mean
        dataset: incidents
        scoring: continuous
        initial_population: category = 2
        observation: response
        aggregate: mean
        threshold: at most 7 minutes
        period: contract
        source: {section: test}
      - id: C2_90th
        title: Category 2, 90th centile
        dataset: incidents
        scoring: continuous
        initial_population: category = 2
        observation: response
        aggregate: percentile
        percentile: 90
        threshold: at most 20 minutes
        period: contract
        source: {section: test}
      - id: C2_90th_by_expression
        title: Category 2, 90th centile written as an expression
        dataset: incidents
        scoring: ratio
        numerator: percentile(incidents.minutes where incidents.category = 2, 90)
        denominator: count(incidents where incidents.category = 2) / 5
        period: contract
        monitoring_only: true
        source: {section: test}
    """
)
# Category 1 responses 1, 2, 3, 4 minutes; category 2: 5, 6, 10, 20, 20 minutes.
INCIDENTS = """\
incident_id,category,call_at,arrived_at,minutes
a1,1,2024-05-01T10:00:00,2024-05-01T10:01:00,1
a2,1,2024-05-01T11:00:00,2024-05-01T11:02:00,2
a3,1,2024-05-02T10:00:00,2024-05-02T10:03:00,3
a4,1,2024-05-03T10:00:00,2024-05-03T10:04:00,4
b1,2,2024-06-01T10:00:00,2024-06-01T10:05:00,5
b2,2,2024-06-01T11:00:00,2024-06-01T11:06:00,6
b3,2,2024-06-02T10:00:00,2024-06-02T10:10:00,10
b4,2,2024-06-03T10:00:00,2024-06-03T10:20:00,20
b5,2,2024-06-04T10:00:00,2024-06-04T10:20:00,20
"""
# Worked by hand:
#   C1_90th_linear   3.7 (the first case above), threshold at most 3.7: exactly on it → met
#   C1_90th_nearest  4, at most 3.7 → not met
#   C2_mean          (5 + 6 + 10 + 20 + 20) / 5 = 12.2 minutes, at most 7 minutes → not met
#   C2_90th          sorted 5, 6, 10, 20, 20: position 4 × 0.9 = 3.6 → 20 + 0.6 × 0 = 20
#                    minutes, at most 20 minutes: on the threshold → met
#   C2_90th_by_expression  the same 20, over 5 / 5 = 1 → 20
EXPECTED = {
    "C1_90th_linear": ("met", 3.7, "number", "90th centile (linear interpolation)"),
    "C1_90th_nearest": ("not met", 4.0, "number", "90th centile (nearest rank)"),
    "C2_mean": ("not met", 12.2, "minutes", "mean"),
    "C2_90th": ("met", 20.0, "minutes", "90th centile (linear interpolation)"),
    "C2_90th_by_expression": ("monitoring", 20.0, "ratio", None),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("centiles")
    (path / "incidents.csv").write_text(INCIDENTS, encoding="utf-8")
    (path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    return path


def _check(evaluation: specrules.Evaluation) -> None:
    got = {v.rule_id: (v.status, v.value, v.unit, v.measure) for v in evaluation.verdicts}
    assert got.keys() == EXPECTED.keys()
    for rule_id, (status, value, unit, measure) in EXPECTED.items():
        assert got[rule_id][0] == status, rule_id
        assert got[rule_id][1] == pytest.approx(value), rule_id
        assert got[rule_id][2:] == (unit, measure), rule_id


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_centile_kpis_worked_by_hand(folder, engine) -> None:
    _check(specrules.load(folder / "spec.yaml").evaluate(str(folder), engine=engine))


def test_centile_kpis_worked_by_hand_on_spark(folder) -> None:
    _check(specrules.load(folder / "spec.yaml").evaluate(str(folder), engine="spark"))


def test_sql_export_computes_exact_centiles(folder) -> None:
    from specrules.data import load_data
    from specrules.engine.sql.rule_rows import spec_sql

    spec = specrules.load(folder / "spec.yaml")
    duck, spark = spec_sql(spec.plan, "duckdb"), spec_sql(spec.plan, "spark")
    # values picked from the sorted list, interpolated in numpy's steps (not QUANTILE_CONT)
    assert "QUANTILE_CONT" not in duck and "LIST_SORT" in duck
    assert "ARRAY_SORT(" in spark and "ELEMENT_AT(" in spark
    assert "APPROX" not in spark.upper()
    # the exported SQL, run in DuckDB on the incidents table, gives the figures worked above
    con = duckdb.connect()
    con.register("incidents_frame", load_data(spec.model, str(folder)).frames["incidents"])
    con.execute("CREATE TABLE incidents AS SELECT * FROM incidents_frame")
    figures = {row[0]: row[3] for row in con.execute(duck).fetchall()}
    for rule_id, (_status, value, _unit, _measure) in EXPECTED.items():
        assert figures[rule_id] == pytest.approx(value), rule_id


def test_json_names_the_method(folder) -> None:
    evaluation = specrules.load(folder / "spec.yaml").evaluate(str(folder))
    assert '"measure": "90th centile (nearest rank)"' in evaluation.to_json()
    from specrules.report.fhir import to_fhir_json

    assert '"valueString": "90th centile (nearest rank)"' in to_fhir_json(evaluation)


def test_the_frame_the_workbook_and_the_sql_export_name_the_measure(folder, tmp_path) -> None:
    # the measure of each rule in EXPECTED (None: not a continuous KPI), in every table form
    from openpyxl import load_workbook

    from specrules.engine.sql.create_tables import create_tables
    from specrules.engine.sql.verdict_table import verdict_sql
    from specrules.report.workbook import SUMMARY_COLUMNS, write_workbook

    spec = specrules.load(folder / "spec.yaml")
    evaluation = spec.evaluate(str(folder))
    wanted = {rule_id: measure for rule_id, (*_, measure) in EXPECTED.items()}
    frame = evaluation.to_frame()
    assert dict(zip(frame.rule_id, frame.measure.replace({pd.NA: None}), strict=True)) == wanted
    con = duckdb.connect()
    con.execute(create_tables(spec.model, "duckdb"))
    con.execute(f"INSERT INTO incidents SELECT * FROM read_csv('{folder / 'incidents.csv'}')")
    exported = con.execute(verdict_sql(spec.plan, "duckdb")).df()
    got = dict(zip(exported.rule_id, exported.measure.replace({float("nan"): None}), strict=True))
    assert got == wanted
    book = load_workbook(write_workbook(evaluation, tmp_path / "centiles.xlsx"))
    rows = list(book["Summary"].iter_rows(values_only=True))
    start = rows.index(tuple(SUMMARY_COLUMNS))
    shown = {row[0]: row[SUMMARY_COLUMNS.index("Measure")] for row in rows[start + 1 :]}
    assert shown == {rule_id: measure or None for rule_id, measure in wanted.items()}


# ---------------------------------------------------------------- bad input
KPI = textwrap.dedent(
    """\
    specrules: 1
    title: t
    commissioner: c
    source_document: s
    contract: {start: 2024-04-01, end: 2025-03-31}
    datasets:
      incidents:
        key: incident_id
        date: call_at
        fields: {incident_id: text, call_at: datetime, minutes: number}
    kpis:
      - id: centile
        title: A centile
        dataset: incidents
        scoring: continuous
        observation: minutes
        aggregate: percentile
        percentile: 90
        source: {section: s}
    """
)


def _only(text: str) -> specrules.Diagnostic:
    with pytest.raises(SpecError) as caught:
        specrules.loads(text, "spec.yaml")
    found = caught.value.diagnostics
    assert len(found) == 1, [str(d) for d in found]
    return found[0]


def test_valid_centile_kpi_loads() -> None:
    assert specrules.loads(KPI).rule_ids == ["centile"]


@pytest.mark.parametrize("centile", ["120", "-5", "100.5"])
def test_centile_outside_0_to_100_is_located(centile: str) -> None:
    d = _only(KPI.replace("percentile: 90", f"percentile: {centile}"))
    # `    percentile: …` is line 18; its value starts at column 17
    assert (d.code, d.line, d.column) == ("S003", 18, 17)
    assert "a centile runs from 0 to 100" in d.message


def _lint(text: str) -> list[tuple[str, int, int]]:
    return [(d.code, d.line, d.column) for d in lint_text(text, "spec.yaml")]


@pytest.mark.parametrize("centile", ["150", "ninety"])
def test_a_bad_centile_is_one_error_when_validated(centile: str) -> None:
    # `specrules validate` sets the bad key aside to check the rest; its absence used to
    # bring a second error, "`aggregate: percentile` needs the centile". Line 18, column 17.
    assert _lint(KPI.replace("percentile: 90", f"percentile: {centile}")) == [("S003", 18, 17)]


def test_the_rest_of_a_rule_with_a_bad_centile_is_still_checked() -> None:
    # the bad centile (line 18) and, in the same rule, an unknown field in the observation
    # (line 16; `    observation: ` is 17 characters: column 18)
    text = KPI.replace("percentile: 90", "percentile: 150").replace(
        "observation: minutes", "observation: minuts"
    )
    assert _lint(text) == [("E202", 16, 18), ("S003", 18, 17)]


def test_a_missing_centile_is_still_one_error_when_validated() -> None:
    # no `percentile:` at all, rather than a bad one: that is the mistake, at `aggregate`
    found = lint_text(KPI.replace("    percentile: 90\n", ""), "spec.yaml")
    assert [(d.code, d.line) for d in found] == [("S003", 17)]
    assert "needs the centile" in found[0].message


def test_the_key_and_the_function_share_one_centile_check() -> None:
    key = _only(KPI.replace("percentile: 90", "percentile: 150"))
    function = _only(_with_ratio("percentile(incidents.minutes, 150)"))
    assert "a centile runs from 0 to 100, not 150" in key.message
    assert function.message == "a centile runs from 0 to 100, not 150"
    assert function.hint and function.hint in key.message


def test_percentile_without_aggregate_percentile_is_located() -> None:
    d = _only(KPI.replace("aggregate: percentile", "aggregate: mean"))
    # the `percentile` key, line 18 column 5
    assert (d.code, d.line, d.column) == ("S003", 18, 5)
    assert "aggregate: percentile" in d.message


def test_aggregate_percentile_without_a_centile_is_located() -> None:
    d = _only(KPI.replace("    percentile: 90\n", ""))
    assert (d.code, d.line) == ("S003", 17)
    assert "percentile: 90" in (d.hint or "")


def test_unknown_method_is_located_with_the_choices() -> None:
    text = KPI.replace("percentile: 90\n", "percentile: 90\n    percentile_method: nearest\n")
    d = _only(text)
    assert (d.code, d.line, d.column) == ("S003", 19, 24)
    assert "nearest_rank" in d.message + (d.hint or "")


def _with_ratio(numerator: str) -> str:
    text = KPI.replace("aggregate: percentile\n    percentile: 90\n", "aggregate: max\n")
    return text + textwrap.indent(
        textwrap.dedent(
            f"""\
            - id: by_expression
              title: A centile by expression
              dataset: incidents
              scoring: ratio
              numerator: {numerator}
              denominator: count(incidents)
              source: {{section: s}}
            """
        ),
        "  ",
    )


def test_expression_centile_outside_0_to_100_is_located() -> None:
    d = _only(_with_ratio("percentile(incidents.minutes, 190)"))
    # the KPI is lines 12-18, the ratio starts on line 19: its numerator is line 23,
    # `    numerator: ` is 15 characters, `percentile(incidents.minutes, ` 30 more: 190 at 46
    assert (d.code, d.line, d.column) == ("E201", 23, 46)
    assert "0 to 100" in d.message


def test_expression_centile_must_be_written_out() -> None:
    d = _only(_with_ratio("percentile(incidents.minutes, 90%)"))
    assert d.code == "E201" and "written out" in d.message


@pytest.mark.parametrize("engine", ["pandas", "duckdb", "spark"])
def test_centiles_per_breakdown_group_and_with_no_rows(tmp_path, engine) -> None:
    text = SPEC.replace(
        "    initial_population: category = 1\n    observation: minutes\n"
        "    aggregate: percentile\n    percentile: 90\n    threshold: at most 3.7\n",
        "    initial_population: category >= 1\n    breakdowns: [category]\n"
        "    observation: minutes\n    aggregate: percentile\n    percentile: 90\n"
        "    threshold: at most 3.7\n",
    ).replace(
        "initial_population: category = 2\n    observation: response\n    aggregate: mean",
        "initial_population: category = 3\n    observation: response\n    aggregate: mean",
    )
    assert text.count("breakdowns") == 1 and "category = 3" in text
    (tmp_path / "spec.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "incidents.csv").write_text(INCIDENTS, encoding="utf-8")
    evaluation = specrules.load(tmp_path / "spec.yaml").evaluate(str(tmp_path), engine=engine)
    by_id = {v.rule_id: v for v in evaluation.verdicts}
    # all nine: 1 2 3 4 5 6 10 20 20, position 8 × 0.9 = 7.2 → 20 + 0.2 × 0 = 20 > 3.7
    whole = by_id["C1_90th_linear"]
    assert (whole.status, whole.value) == ("not met", pytest.approx(20.0))
    # category 1: 3.7 (the first case); category 2: 5 6 10 20 20 → 20 (worked above)
    groups = sorted(g.value for g in whole.groups)
    assert groups == [pytest.approx(3.7), pytest.approx(20.0)]
    # no category 3 incidents: nothing to measure
    assert (by_id["C2_mean"].status, by_id["C2_mean"].value) == ("no data", None)


CORRELATED = textwrap.dedent(
    """\
    specrules: 1
    title: A centile per station
    commissioner: t
    source_document: t
    contract: {start: 2024-04-01, end: 2025-03-31}
    datasets:
      stations:
        key: station_id
        fields: {station_id: text}
        derived:
          p90: percentile(incidents.minutes where incidents.minutes > 1, 90)
      incidents:
        key: incident_id
        date: call_at
        fields: {incident_id: text, station_id: text, call_at: datetime, minutes: number}
        links:
          station: {dataset: stations, field: station_id}
    kpis:
      - id: stations_p90_sum
        title: Sum of the stations' centiles
        dataset: stations
        scoring: continuous
        observation: p90
        aggregate: sum
        period: contract
        monitoring_only: true
        source: {section: t}
    """
)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_centile_for_each_row_of_a_linked_dataset(tmp_path, engine) -> None:
    (tmp_path / "spec.yaml").write_text(CORRELATED, encoding="utf-8")
    (tmp_path / "stations.csv").write_text("station_id\ns1\ns2\ns3\n", encoding="utf-8")
    rows = ["i1,s1,1", "i2,s1,2", "i3,s1,3", "i4,s1,4", "i5,s2,5", "i6,s2,7"]
    (tmp_path / "incidents.csv").write_text(
        "incident_id,station_id,call_at,minutes\n"
        + "".join(f"{i},{s},2024-05-01T10:00,{m}\n" for i, s, m in (r.split(",") for r in rows)),
        encoding="utf-8",
    )
    evaluation = specrules.load(tmp_path / "spec.yaml").evaluate(str(tmp_path), engine=engine)
    # s1, minutes above 1: 2 3 4, position 2 × 0.9 = 1.8 → 3 + 0.8 = 3.8; s2: 5 7, position
    # 0.9 → 5 + 0.9 × 2 = 6.8; s3 has no incidents (no value, left out): 3.8 + 6.8 = 10.6
    (verdict,) = evaluation.verdicts
    assert verdict.value == pytest.approx(10.6)
    assert verdict.populations["measure_population"] == 2
