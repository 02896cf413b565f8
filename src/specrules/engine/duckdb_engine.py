"""`--engine duckdb`: evaluate a spec inside DuckDB, reading CSV or Parquet files directly.

The data never goes through pandas: each file is read by DuckDB (CSV with every column as
text), typed with the same rules as specrules.data (missing-value words, yes/no booleans,
numbers with commas and £, ISO or day/month/year dates, enumerations in any case; a value
that cannot be read becomes missing and is reported), rows with a missing or duplicate key
are rejected, and the typed tables are kept in DuckDB, which spills to disk when they do not
fit in memory. Each rule is then the CTE of engine/sql_evaluator.py, joined to its periods
and counted with GROUP BY; figures are judged by the same `Evaluator.decide` (and so
`verdicts.judge`) as the pandas engine, so the decisions are shared.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from pathlib import Path
from typing import Any

from sqlglot import exp

from specrules import __version__
from specrules.data import _FALSE, _MISSING_MARKERS, _TRUE, DatasetAccount, issue
from specrules.engine.evaluator import (
    _RULE,
    MISSING_GROUP,
    Evaluator,
    requested_periods,
    rule_periods,
)
from specrules.engine.sql_backend import Scope, compile_sql, install_calendar
from specrules.engine.sql_evaluator import dataset_layout, rule_columns
from specrules.errors import DataError
from specrules.results import (
    DatasetRows,
    Evaluation,
    Exclusion,
    Provenance,
    Verdict,
    breach_rows,
)
from specrules.spec.compiler import CompiledRule, Plan
from specrules.verdicts import is_missing

ROW = "__row__"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _words(words: set[str]) -> str:
    return ", ".join(_lit(w) for w in sorted(words))


def _markers(field_type: str) -> set[str]:
    """Texts read as missing, as in specrules.data (text keeps words such as `none`)."""
    return {""} if field_type in ("text", "enumeration") else _MISSING_MARKERS


def _typed(field_type: str, values: list[str] | None, col: str, native: str) -> str:
    """SQL turning raw column `col` (of DuckDB type `native`) into the declared type."""
    native = native.upper()
    if field_type == "boolean" and native == "BOOLEAN":
        return col
    if (
        field_type in ("integer", "number")
        and native
        in (
            "DOUBLE",
            "FLOAT",
            "BIGINT",
            "INTEGER",
            "SMALLINT",
            "TINYINT",
            "HUGEINT",
            "UBIGINT",
        )
        or (field_type in ("integer", "number") and native.startswith("DECIMAL"))
    ):
        value = f"CAST({col} AS DOUBLE)"
    elif field_type in ("date", "datetime") and (
        native.startswith("TIMESTAMP") or native == "DATE"
    ):
        value = f"CAST({col} AS TIMESTAMP)"
        return f"date_trunc('day', {value})" if field_type == "date" else value
    else:
        text = f"trim(CAST({col} AS VARCHAR))"
        text = (
            f"CASE WHEN lower({text}) IN ({_words(_markers(field_type))}) THEN NULL ELSE {text} END"
        )
        if field_type == "text":
            return text
        if field_type == "enumeration":
            cases = " ".join(f"WHEN {_lit(v.lower())} THEN {_lit(v)}" for v in values or ())
            return f"CASE lower({text}) {cases} END"
        if field_type == "boolean":
            return (
                f"CASE WHEN lower({text}) IN ({_words(_TRUE)}) THEN TRUE "
                f"WHEN lower({text}) IN ({_words(_FALSE)}) THEN FALSE END"
            )
        if field_type in ("integer", "number"):
            value = f"TRY_CAST(ltrim(replace({text}, ',', ''), '£') AS DOUBLE)"
        else:
            value = (
                f"coalesce(TRY_CAST({text} AS TIMESTAMP), "
                f"TRY_STRPTIME({text}, '%d/%m/%Y'), TRY_STRPTIME({text}, '%d/%m/%Y %H:%M'), "
                f"TRY_STRPTIME({text}, '%d/%m/%y'))"
            )
            return f"date_trunc('day', {value})" if field_type == "date" else value
    if field_type == "integer":
        return f"CASE WHEN {value} = round({value}) THEN {value} END"
    return value


class DuckDBData:
    """Typed tables in a DuckDB connection, with every bad row and value accounted for."""

    def __init__(self, plan: Plan, folder: str | Path | list, con: Any):
        self.con = con
        self.issues: list = []
        self.accounts: dict[str, DatasetAccount] = {}
        self.hashes: dict[str, str] = {}
        self.missing: dict[str, str] = {}
        files = self._files(plan, folder)
        for name, ds in plan.spec.datasets.items():
            if name not in files:
                self.missing[name] = "no data supplied for this dataset"
                self.issues.append(issue(name, self.missing[name]))
                self._empty(name, ds)
                continue
            self._load(name, ds, files[name])

    def _files(self, plan: Plan, folder) -> dict[str, Path]:
        paths = [Path(p) for p in (folder if isinstance(folder, list) else [folder])]
        found: dict[str, Path] = {}
        for path in paths:
            if not path.exists():
                raise DataError(f"no such file or folder: {path}")
            for file in sorted(path.iterdir()) if path.is_dir() else [path]:
                if file.suffix not in (".csv", ".parquet"):
                    continue
                name = file.name.split(".")[0]
                if name in plan.spec.datasets:
                    if name in found:
                        raise DataError(f"two files for one dataset ({file.name})", dataset=name)
                    found[name] = file
                else:
                    self.issues.append(
                        issue(name, f"file {file.name} is not a declared dataset; ignored")
                    )
        return found

    def _empty(self, name: str, ds) -> None:
        from specrules.engine.sql_backend import sql_type
        from specrules.spec.compiler import _field_type

        columns = ", ".join(
            f"CAST(NULL AS {sql_type(_field_type(ds.field_spec(f))).sql('duckdb')}) AS {_q(f)}"
            for f in ds.fields
        )
        self.con.execute(
            f"CREATE TABLE {_q(name)} AS SELECT CAST(NULL AS BIGINT) AS {ROW}, {columns} LIMIT 0"
        )

    def _load(self, name: str, ds, path: Path) -> None:
        con = self.con
        source = (
            f"read_parquet({_lit(str(path))})"
            if path.suffix == ".parquet"
            else f"read_csv({_lit(str(path))}, all_varchar = true, header = true)"
        )
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        self.hashes[name] = digest.hexdigest()
        raw = f"raw__{name}"
        con.execute(
            f"CREATE TEMP VIEW {_q(raw)} AS SELECT row_number() OVER () AS {ROW}, * FROM {source}"
        )
        described = con.execute(f"DESCRIBE {_q(raw)}").fetchall()
        native = {str(r[0]).strip(): (str(r[0]), str(r[1])) for r in described}
        read = con.execute(f"SELECT count(*) FROM {_q(raw)}").fetchone()[0]
        account = DatasetAccount(read=read)
        self.accounts[name] = account
        absent = [f for f in ds.fields if f not in native]
        if absent:
            why = "missing column(s): " + "; ".join(f"`{f}`" for f in absent)
            self.issues.append(issue(name, why, severity="error"))
            account.rejected[why] = read
            self.missing[name] = why
            self._empty(name, ds)
            return
        typed_columns = []
        checks = []
        for field in ds.fields:
            spec = ds.field_spec(field)
            column_name, column_type = native[field]
            typed = _typed(spec.type, spec.values, _q(column_name), column_type)
            typed_columns.append(f"{typed} AS {_q(field)}")
            checks.append((field, spec, _q(column_name), typed))
        keys = list(ds.key_fields)
        key_present = " AND ".join(f"{_q(k)} IS NOT NULL" for k in keys)
        con.execute(
            f"CREATE TEMP TABLE {_q('typed__' + name)} AS SELECT {ROW}, "
            f"{', '.join(typed_columns)} FROM {_q(raw)}"
        )
        partition = ", ".join(_q(k) for k in keys)
        con.execute(
            f"CREATE TABLE {_q(name)} AS SELECT * EXCLUDE (__n) FROM ("
            f"SELECT *, row_number() OVER (PARTITION BY {partition} ORDER BY {ROW}) AS __n "
            f"FROM {_q('typed__' + name)} WHERE {key_present}) WHERE __n = 1 ORDER BY {ROW}"
        )
        evaluated = con.execute(f"SELECT count(*) FROM {_q(name)}").fetchone()[0]
        account.evaluated = evaluated
        no_key = con.execute(
            f"SELECT count(*) FROM {_q('typed__' + name)} WHERE NOT ({key_present})"
        ).fetchone()[0]
        if no_key:
            account.rejected["missing key (" + ", ".join(keys) + ")"] = no_key
        duplicates = read - evaluated - no_key
        if duplicates:
            account.rejected["duplicate key: an earlier row has the same " + ", ".join(keys)] = (
                duplicates
            )
        # values that could not be read as their type: reported, row by row
        for field, spec, raw_column, typed in checks:
            text = f"trim(CAST({raw_column} AS VARCHAR))"
            markers = _words(_markers(spec.type))
            present = f"{raw_column} IS NOT NULL AND lower({text}) NOT IN ({markers})"
            why = {
                "enumeration": "not one of the allowed values: " + ", ".join(spec.values or ()),
                "boolean": "not true or false (yes/no)",
                "integer": "not a whole number",
                "number": "not a number",
                "date": "not a date (write YYYY-MM-DD or DD/MM/YYYY)",
                "datetime": "not a date (write YYYY-MM-DD or DD/MM/YYYY)",
            }.get(spec.type)
            if why is None:
                continue
            # an integer that is a number but not a whole one has its own message
            number = _typed("number", None, raw_column, "VARCHAR")
            fractional = f"({number}) IS NOT NULL" if spec.type == "integer" else "FALSE"
            bad = con.execute(
                f"SELECT {ROW}, CAST({raw_column} AS VARCHAR), {fractional} FROM {_q(raw)} "
                f"WHERE {present} AND ({typed}) IS NULL ORDER BY {ROW}"
            ).fetchall()
            for row, value, whole_number_only in bad:
                message = why if whole_number_only or spec.type != "integer" else "not a number"
                self.issues.append(issue(name, message, int(row), field, str(value)))


class _Judge:
    """What `Evaluator.base`/`empty`/`decide` read, so the pandas engine's decisions are used."""

    base = Evaluator.base
    empty = Evaluator.empty
    decide = Evaluator.decide
    cumulative = staticmethod(Evaluator.cumulative)

    def __init__(self, plan: Plan, as_of: dt.date | None):
        self.plan = plan
        self.as_of = as_of


def _periods_table(rule: CompiledRule, periods, judge: _Judge) -> str:
    rows = []
    for p in periods:
        start = judge.plan.spec.contract.start if judge.cumulative(rule) else p.start
        end = p.end if judge.as_of is None else min(p.end, judge.as_of)
        rows.append(f"({_lit(p.label)}, DATE {_lit(str(start))}, DATE {_lit(str(end))})")
    return "(VALUES " + ", ".join(rows) + ") AS periods(label, first_day, last_day)"


def _key_text(plan: Plan, dataset: str, key: str) -> str:
    """A row's key as text, written as the pandas engine writes it (dates without 00:00)."""
    kind = plan.catalog.datasets[dataset].fields[key].kind
    column = f"t.{_q(key)}"
    if kind in ("date", "datetime"):
        return (
            f"CASE WHEN {column} = date_trunc('day', {column}) "
            f"THEN strftime({column}, '%Y-%m-%d') "
            f"ELSE strftime({column}, '%Y-%m-%d %H:%M:%S') END AS __key"
        )
    return f"CAST({column} AS VARCHAR) AS __key"


def _group_text(plan: Plan, dataset: str, breakdowns: list[str]) -> str:
    """The breakdown group of a row as the pandas engine labels it (values joined by \\x1f)."""
    if not breakdowns:
        return "NULL AS __group"
    parts = []
    for name in breakdowns:
        kind = plan.catalog.datasets[dataset].fields[name].kind
        column = f"t.{_q(name)}"
        if kind in ("date", "datetime"):
            text = _key_text(plan, dataset, name).removesuffix(" AS __key")
        else:
            text = f"CAST({column} AS VARCHAR)"
        parts.append(f"coalesce({text}, {_lit(MISSING_GROUP)})")
    return " || chr(31) || ".join(parts) + " AS __group"


def _rule_verdicts(con, rule: CompiledRule, requested, layout, judge: _Judge, missing) -> list:
    periods = rule_periods(rule, requested, judge.plan)
    dataset = rule.model.dataset
    if missing.get(dataset):
        return [judge.empty(rule, p, f"dataset `{dataset}`: {missing[dataset]}") for p in periods]
    scoring = getattr(rule.model, "scoring", "proportion")
    if scoring == "ratio":
        return [_ratio_verdict(con, rule, p, layout, judge) for p in periods]
    scope = Scope(
        dataset=dataset,
        alias="t",
        tables=layout.relations,
        full_tables=layout.relations,
        keys=layout.scope.keys,
        links=layout.scope.links,
    )
    columns = rule_columns(rule, scope, judge.as_of)
    key = scope.keys.get(dataset)
    select = [f"t.{ROW} AS __row"]
    select.append(_key_text(judge.plan, dataset, key) if key else "NULL AS __key")
    select += [f"{e.sql('duckdb')} AS {name}" for name, e in columns.items()]
    select.append(_group_text(judge.plan, dataset, rule.model.breakdowns))
    relation = layout.relations[dataset].sql("duckdb")
    base = f"SELECT {', '.join(select)} FROM {relation} AS t"
    whole = rule.period == "contract" or rule.date is None
    join = (
        f"CROSS JOIN {_periods_table(rule, periods, judge)}"
        if whole
        else f"JOIN {_periods_table(rule, periods, judge)} ON "
        "CAST(r.rule_date AS DATE) BETWEEN periods.first_day AND periods.last_day"
    )
    value = "NULL"
    if scoring == "continuous":
        agg = rule.model.aggregate or "sum"
        fn = {"mean": "avg", "median": "median"}.get(agg, agg)
        value = f"{fn}(r.observation) FILTER (WHERE r.in_denominator)"
    elif scoring == "count" and rule.model.distinct:
        value = "count(DISTINCT r.distinct_value) FILTER (WHERE r.in_denominator)"
    numerator = "count(*) FILTER (WHERE r.in_numerator)" if "in_numerator" in columns else "NULL"
    grouped = bool(rule.model.breakdowns)
    # The rule's row classification is computed once, then counted and searched.
    con.execute(f"CREATE OR REPLACE TEMP TABLE r AS {base}")
    figures = con.execute(
        f"SELECT periods.label, r.__group, grouping(r.__group), "
        f"count(*) FILTER (WHERE r.considered), count(*) FILTER (WHERE r.in_denominator), "
        f"{numerator}, {value} FROM r {join} "
        "GROUP BY GROUPING SETS ((periods.label), (periods.label, r.__group))"
    ).fetchall()
    overall = {row[0]: row[3:] for row in figures if row[2] == 1}
    by_group = {(row[0], row[1]): row[3:] for row in figures if row[2] == 0}
    undated = 0
    if not whole:
        undated = con.execute(
            "SELECT count(*) FROM r WHERE r.rule_date IS NULL AND r.considered"
        ).fetchone()[0]
    failing: dict[tuple[str, str | None], list] = {}
    if "in_numerator" in columns:
        for label, group, key_value, row in con.execute(
            f"SELECT periods.label, r.__group, r.__key, r.__row FROM r {join} "
            "WHERE r.in_denominator AND NOT r.in_numerator ORDER BY r.__row"
        ).fetchall():
            failing.setdefault((label, None), []).append((key_value, row))
            if grouped:
                failing.setdefault((label, group), []).append((key_value, row))

    def make(period, counts, rows, threshold=_RULE) -> Verdict:
        considered, denominator, numerator_count, figure = counts
        populations = {"initial_population": int(considered)}
        unit = "share"
        if scoring == "proportion":
            populations["denominator"] = int(denominator)
            populations["numerator"] = int(numerator_count or 0)
            value_out = float(numerator_count) / denominator if denominator else None
            num_out, den_out = float(numerator_count or 0), float(denominator)
        else:
            populations["measure_population"] = int(denominator)
            num_out, den_out = None, None
            if scoring == "count":
                unit = "count"
                value_out = float(figure if rule.model.distinct else denominator or 0)
            else:
                unit = "number"
                den_out = float(denominator)
                value_out = None if figure is None else float(figure)
                if value_out is not None and math.isnan(value_out):
                    value_out = None
        verdict = Verdict(
            **judge.base(rule, period),
            status="monitoring",
            unit=unit,
            value=value_out,
            numerator=num_out,
            denominator=den_out,
            populations=populations,
        )
        if "in_numerator" in columns:
            verdict.breach_count = len(rows)
            verdict.breaches = breach_rows(
                [k for k, _ in rows], [r for _, r in rows], "does not meet the rule"
            )
        judge.decide(rule, period, verdict, value_out, threshold)
        return verdict

    empty_counts = (0, 0, 0, None)
    verdicts = []
    for period in periods:
        verdict = make(
            period, overall.get(period.label, empty_counts), failing.get((period.label, None), [])
        )
        if undated:
            verdict.excluded.append(
                Exclusion(reason="no date to place the row in a period", count=int(undated))
            )
        if grouped:
            present = {g for (label, g) in by_group if label == period.label}
            named = set(rule.group_thresholds)  # groups with a target are shown even if empty
            for group in sorted(present | named):
                threshold = rule.group_thresholds.get(group)
                if threshold is None and getattr(rule.model, "per_group", False):
                    threshold = rule.threshold
                sub = make(
                    period,
                    by_group.get((period.label, group), empty_counts),
                    failing.get((period.label, group), []),
                    threshold,
                )
                if group in rule.group_thresholds:
                    sub.threshold = rule.model.group_thresholds[group]
                sub.group = dict(zip(rule.model.breakdowns, str(group).split("\x1f"), strict=True))
                verdict.groups.append(sub)
        verdicts.append(verdict)
    return verdicts


def _ratio_verdict(con, rule: CompiledRule, period, layout, judge: _Judge) -> Verdict:
    relations = {}
    for name, relation in layout.relations.items():
        date = judge.plan.datasets[name].date
        if date is None:
            relations[name] = relation
            continue
        scope = Scope(
            dataset=name,
            alias="p",
            keys=layout.scope.keys,
            links=layout.scope.links,
            tables=layout.relations,
            full_tables=layout.relations,
        )
        start = judge.plan.spec.contract.start if judge.cumulative(rule) else period.start
        end = period.end if judge.as_of is None else min(period.end, judge.as_of)
        condition = (
            f"CAST({compile_sql(date, scope).sql('duckdb')} AS DATE) "
            f"BETWEEN DATE {_lit(str(start))} AND DATE {_lit(str(end))}"
        )
        relations[name] = exp.paren(
            exp.select("*").from_(relation.copy().as_("p")).where(condition)
        )
    top = Scope(
        tables=relations,
        full_tables=layout.relations,
        keys=layout.scope.keys,
        links=layout.scope.links,
    )
    numerator = con.execute(
        "SELECT " + compile_sql(rule.expressions["numerator"], top).sql("duckdb")
    ).fetchone()[0]
    denominator = con.execute(
        "SELECT " + compile_sql(rule.expressions["denominator"], top).sql("duckdb")
    ).fetchone()[0]
    value = None
    if not is_missing(numerator) and not is_missing(denominator) and float(denominator):
        value = float(numerator) / float(denominator)
    verdict = Verdict(
        **judge.base(rule, period),
        status="monitoring",
        unit="ratio",
        value=value,
        numerator=None if is_missing(numerator) else float(numerator),
        denominator=None if is_missing(denominator) else float(denominator),
    )
    judge.decide(rule, period, verdict, value)
    return verdict


def evaluate_spec_duckdb(
    plan: Plan,
    data: str | Path | list,
    period: str | None = None,
    as_of: dt.date | None = None,
    spec_file: str | None = None,
    spec_text: str = "",
    memory_limit: str | None = None,
) -> Evaluation:
    """Evaluate `plan` on a folder (or list) of CSV/Parquet files inside DuckDB."""
    try:
        import duckdb
    except ImportError:
        raise DataError(
            "the DuckDB engine needs duckdb and sqlglot: pip install 'specrules[sql]', "
            "or use --engine pandas"
        ) from None
    if not isinstance(data, str | Path | list):
        raise DataError("the DuckDB engine reads files: give a folder or files, not DataFrames")
    con = duckdb.connect()
    if memory_limit:
        con.execute(f"SET memory_limit = {_lit(memory_limit)}")
    install_calendar(con)
    loaded = DuckDBData(plan, data, con)
    sources = {name: exp.to_table(name) for name in plan.datasets}
    layout = dataset_layout(plan, "duckdb", sources)
    for name, query, _ in layout.ctes:
        con.execute(f"CREATE TEMP VIEW {_q(name)} AS {query.sql('duckdb')}")
    judge = _Judge(plan, as_of)
    span = _span(con, plan, layout)
    requested = requested_periods(plan, period, span)
    verdicts = []
    for rule in plan.rules:
        verdicts.extend(_rule_verdicts(con, rule, requested, layout, judge, loaded.missing))
    provenance = Provenance(
        library_version=__version__,
        spec_file=spec_file,
        spec_sha256=hashlib.sha256(spec_text.encode()).hexdigest(),
        data_sha256=loaded.hashes,
        period=period or "all",
        as_of=as_of,
        evaluated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
    )
    con.close()
    return Evaluation(
        spec_title=plan.spec.title,
        provenance=provenance,
        verdicts=verdicts,
        data_issues=loaded.issues,
        rows={
            n: DatasetRows(read=a.read, evaluated=a.evaluated, rejected=a.rejected)
            for n, a in loaded.accounts.items()
        },
    )


def _span(con, plan: Plan, layout) -> tuple[dt.date, dt.date] | None:
    lows, highs = [], []
    for name, ds in plan.datasets.items():
        if ds.date is None:
            continue
        scope = Scope(
            dataset=name,
            alias="t",
            tables=layout.relations,
            full_tables=layout.relations,
            keys=layout.scope.keys,
            links=layout.scope.links,
        )
        date = compile_sql(ds.date, scope).sql("duckdb")
        low, high = con.execute(
            f"SELECT min(CAST({date} AS DATE)), max(CAST({date} AS DATE)) "
            f"FROM {layout.relations[name].sql('duckdb')} AS t"
        ).fetchone()
        if low is not None:
            lows.append(low)
            highs.append(high)
    return (min(lows), max(highs)) if lows else None
