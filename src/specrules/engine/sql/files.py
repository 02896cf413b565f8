"""Files read by a SQL engine (DuckDB, Spark): typed, checked and counted in SQL.

Shared by the engines that read files themselves, written once: each file is typed with
the rules of specrules.data (missing-value words, yes/no booleans, numbers with commas and
£, ISO or day/month/year dates, enumerations in any case; a value that cannot be read
becomes missing and is reported with its row, column and value), and rows with a missing or
duplicate key are rejected and counted.

An engine supplies a `Connection` (engine/sql/on_duckdb.py, engine/sql/on_spark.py): its
dialect, how to run a query, how to expose a file as a raw view numbered in file order, and
how to make a table. Statements are written here in sqlglot's generic SQL with `:name`
placeholders for compiled expressions, and printed in the engine's dialect; the few
spellings sqlglot does not carry across (day/month/year dates, dates and numbers as text)
are templates in engine/sql/expressions.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import pyarrow as pa
from sqlglot import exp

from specrules.data import (
    _FALSE,
    _TRUE,
    NOT_NULLABLE,
    DatasetAccount,
    issue,
    missing_columns,
    missing_markers,
    undeclared_columns,
    undeclared_file,
)
from specrules.datetimes import (
    EARLIEST,
    LARGEST_WHOLE,
    LATEST,
    NO_SUCH_TIME,
    NOT_A_DATE,
    NOT_A_DATETIME,
    OUTSIDE_YEARS,
    TOO_LARGE,
    TWICE,
    instant_column,
)
from specrules.engine.sql.expressions import (
    CALENDAR,
    WORKDAYS,
    fill,
    instant,
    sql_name,
    sql_text,
    sql_type,
    statement,
)
from specrules.errors import DataError
from specrules.files import (
    NO_COLUMNS,
    CsvLayout,
    ReadProgress,
    binary_column,
    file_hash,
    find_files,
    scan_csv,
    suffix,
)
from specrules.spec.compiler import Plan, _field_type
from specrules.spec.models import DEFAULT_TIMEZONE

ROW = "__row__"  # the row's number in its file, from 1
DataInput = str | Path | list


class Connection(Protocol):
    """What the shared evaluation needs of an engine."""

    name: str  # for messages: "DuckDB", "Spark"
    dialect: str  # sqlglot's name for the engine's SQL
    rules_per_query: int  # rules counted by one query (its aggregations share the memory)
    errors: tuple[type[Exception], ...]  # what the engine raises on a file it cannot read

    def run(self, sql: str) -> list[tuple]:
        """Run one query and return all its rows."""

    def arrow(self, sql: str) -> pa.Table:
        """Run one query and return its rows as an Arrow table (many rows: no tuple per row)."""

    def raw_view(self, name: str, path: Path, layout: CsvLayout | None) -> list[tuple[str, str]]:
        """Expose `path` as view `name`: ROW (1, 2, … in file order), then the file's
        columns; a CSV as text, read as its `layout` says (specrules.files: delimiter, column
        names); return each column of the file with its native type."""

    def create_table(self, name: str, sql: str) -> None:
        """Materialise query `sql` as table `name`, replacing one of that name."""

    def create_view(self, name: str, sql: str) -> None:
        """Name query `sql` as view `name`, replacing one of that name."""

    def drop_table(self, name: str) -> None:
        """Free table `name`: nothing reads it again."""

    def install_calendar(self) -> None:
        """Create the working-day calendar tables expressions.py's working days read."""

    def close(self) -> None:
        """Free what the evaluation made (tables, views)."""


@contextmanager
def reading(conn: Connection, what: str, dataset: str | None = None) -> Iterator[None]:
    """An engine's error while reading a file is bad input: a message naming it, not a
    traceback."""
    try:
        yield
    except conn.errors as exc:
        text = str(exc).strip()
        message = text.splitlines()[0] if text else type(exc).__name__
        raise DataError(f"{conn.name} could not read {what}: {message}", dataset=dataset) from None


def _value_text(column: exp.Expression, native: str, dialect: str) -> exp.Expression:
    """A raw value as the pandas engine reports it: a float as Python writes it (1e+30)."""
    if native.upper() in _FLOATS:
        return fill("float_text", dialect, x=column.copy())
    if native.upper() == "BOOLEAN":
        return as_pandas_text(column, native)
    return statement("CAST(:c AS VARCHAR)", c=column.copy())


def _no_columns(path: Path) -> bool:
    """A Parquet file without a column (an empty sheet's copy), which DuckDB cannot open."""
    import pyarrow.parquet as pq

    try:
        return len(pq.read_schema(path)) == 0
    except (OSError, pa.ArrowException):
        return False  # the engine says why it cannot read it


def _key_reasons(ds) -> tuple[str, str]:
    """Why a row is rejected for its key, as specrules.data words it: none, or a repeat."""
    keys = ", ".join(ds.key_fields)
    return f"missing key ({keys})", f"duplicate key: an earlier row has the same {keys}"


def _rejected_rows(index: int, ds, typed: str, repeated: bool, dialect: str) -> exp.Expression:
    """The rows of a typed table rejected for their key (0: none, 1: an earlier row's), each
    with its key's first field as text, as the pandas engine writes it."""
    key_present, partition = _key_sql(ds)
    key = ds.key_fields[0]
    kind = _field_type(ds.field_spec(key))
    column = exp.column(key, "c", quoted=True)
    shown = (
        fill("float_text", dialect, x=column)
        if kind in ("number", "integer")
        else statement("CAST(:c AS VARCHAR)", c=column)
    )
    source, where = f"{sql_name(typed)} AS c", f"NOT ({key_present})"
    if repeated:  # 1 for the first row with its key, 2 for the next, …
        source = (
            f"(SELECT *, row_number() OVER (PARTITION BY {partition} ORDER BY {ROW}) AS __n "
            f"FROM {sql_name(typed)}) AS c"
        )
        where += " OR __n > 1"
    return statement(
        f"SELECT {index} AS dataset, c.{ROW} AS row_number, "
        f"COALESCE(:s, '') AS value, CASE WHEN {key_present} THEN 1 ELSE 0 END AS why "
        f"FROM {source} WHERE {where}",
        s=shown,
    )


def _words(words: set[str]) -> str:
    return ", ".join(sql_text(w) for w in sorted(words))


def _key_sql(ds) -> tuple[str, str]:
    """A dataset's key in SQL: the condition that a row has every key column, and the key
    columns listed (to group or partition by)."""
    keys = [sql_name(k) for k in ds.key_fields]
    return " AND ".join(f"{k} IS NOT NULL" for k in keys), ", ".join(keys)


class Printed(str):
    """SQL text already printed in the engine's dialect (a statement planned once, run as it
    is), where a plain string is a statement in sqlglot's generic SQL to parse."""


class Runner:
    """A connection with its dialect: statements in, rows out.

    The working-day calendar is made the first time a statement reads it (most specs count
    no working days, and making it costs more than a small evaluation)."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.dialect = conn.dialect
        self.calendar = False  # made yet?

    def sql(self, query: exp.Expression | str, **parts: exp.Expression) -> str:
        if isinstance(query, Printed):
            return self.ready(query)
        tree = statement(query, **parts) if isinstance(query, str) else query
        return self.ready(tree.sql(self.dialect, copy=False))  # each tree is printed once

    def ready(self, text: str) -> str:
        """`text`, once what it reads exists (the calendar, made when first read)."""
        if not self.calendar and (CALENDAR in text or WORKDAYS in text):
            self.conn.install_calendar()
            self.calendar = True
        return text

    def rows(self, query: exp.Expression | str, **parts: exp.Expression) -> list[tuple]:
        return self.conn.run(self.sql(query, **parts))

    def arrow(self, query: exp.Expression | str, **parts: exp.Expression) -> pa.Table:
        return self.conn.arrow(self.sql(query, **parts))

    def one(self, query: exp.Expression | str, **parts: exp.Expression) -> tuple:
        return self.rows(query, **parts)[0]

    def table(self, name: str, query: exp.Expression | str, **parts: exp.Expression) -> None:
        self.conn.create_table(name, self.sql(query, **parts))

    def view(self, name: str, query: exp.Expression | str) -> None:
        """Name `query` (a tree, or SQL text already in the engine's dialect) as a view."""
        text = query if isinstance(query, str) else query.sql(self.dialect, copy=False)
        self.conn.create_view(name, self.ready(text))


# ------------------------------------------------------------------ typing the files
_NUMERIC = {"DOUBLE", "FLOAT", "REAL", "BIGINT", "INTEGER", "INT", "SMALLINT", "TINYINT"}
_NUMERIC |= {"HUGEINT", "UBIGINT"}
_FLOATS = {"DOUBLE", "FLOAT", "REAL"}
UNREADABLE = {
    "enumeration": "not one of the allowed values: ",
    "boolean": "not true or false (yes/no)",
    "integer": "not a whole number",
    "number": "not a number",
    "date": NOT_A_DATE,
    "datetime": NOT_A_DATETIME,
}


def _markers(field_type: str) -> set[str]:
    """Texts read as missing, as in specrules.data (text keeps words such as `none`)."""
    return set(missing_markers(field_type))


def as_pandas_text(column: exp.Expression, native: str) -> exp.Expression:
    """A raw column about to be read as text, as pandas writes it: a float's NaN missing
    (not the text 'nan'), a boolean True or False (not true or false). NaN is found by its
    text: DuckDB's `isnan` on a Parquet column answered false for a NaN (from the file's
    statistics, which leave NaN out)."""
    if native.upper() == "BOOLEAN":
        return statement("CASE WHEN :c THEN 'True' WHEN NOT :c THEN 'False' END", c=column.copy())
    if native.upper() not in _FLOATS:
        return column
    return statement(
        "CASE WHEN lower(CAST(:c AS VARCHAR)) IN ('nan', '-nan') THEN NULL ELSE :c END",
        c=column.copy(),
    )


def _raw_text(column: exp.Expression) -> exp.Expression:
    return statement("trim(CAST(:c AS VARCHAR))", c=column)


def _read_natively(field_type: str, native: str) -> bool:
    """Whether a column of the file's type `native` holds the declared type already, so no
    value of it can be unreadable (a whole number is still checked for `integer`)."""
    native = native.upper()
    if field_type == "boolean":
        return native == "BOOLEAN"
    if field_type == "number":  # a float may hold an infinity, which is reported
        return native in _NUMERIC - _FLOATS or native.startswith("DECIMAL")
    if field_type in ("date", "datetime"):
        return native.startswith("TIMESTAMP") or native == "DATE"
    return False


def clean_text(field_type: str, column: exp.Expression) -> exp.Expression:
    """A raw value as trimmed text, NULL where it is a missing-value word for its type."""
    if field_type in ("text", "enumeration"):  # only an empty cell is missing
        return statement("NULLIF(:t, '')", t=_raw_text(column))
    markers = _words(_markers(field_type))
    return statement(
        f"CASE WHEN lower(:t) IN ({markers}) THEN NULL ELSE :t END", t=_raw_text(column)
    )


def parsed_timestamp(text: exp.Expression, dialect: str, zone: str) -> exp.Expression:
    """Text (cleaned) read as a local date-time in `zone`, NULL if not one every engine holds."""
    return _in_years_held(fill("text_to_timestamp", dialect, x=text, z=exp.Literal.string(zone)))


def _in_years_held(value: exp.Expression) -> exp.Expression:
    """A date-time, NULL outside the years every engine holds (EARLIEST to LATEST)."""
    return statement(
        f"CASE WHEN :p >= TIMESTAMP '{EARLIEST}' AND :p < TIMESTAMP '{LATEST}' THEN :p END",
        p=value,
    )


def _reads_text(field_type: str, native: str) -> bool:
    """Whether a column of type `native` is typed without reading it as text."""
    native = native.upper()
    if field_type == "boolean":
        return native == "BOOLEAN"
    if field_type in ("integer", "number"):
        return native in _NUMERIC or native.startswith("DECIMAL")
    return field_type in ("date", "datetime") and (
        native.startswith("TIMESTAMP") or native == "DATE"
    )


def typed_value(
    field_type: str,
    values: list[str] | None,
    column: exp.Expression,
    native: str,
    dialect: str,
    zone: str = DEFAULT_TIMEZONE,
    staged: dict[str, exp.Expression] | None = None,
) -> exp.Expression:
    """Raw `column` (of the engine's type `native`) in the declared type; NULL if unreadable.
    Date-times are local wall-clock times in `zone` (specrules.datetimes). `staged` may give
    the value's cleaned `text`, and a date-time's `parsed` value and whether it is an
    `instant`, already computed as columns (so the expressions are not repeated)."""
    native = native.upper()
    staged = staged or {}
    if field_type == "boolean" and native == "BOOLEAN":
        return column
    if field_type in ("integer", "number") and (native in _NUMERIC or native.startswith("DECIMAL")):
        value = statement("CAST(:c AS DOUBLE)", c=column)
    elif field_type in ("date", "datetime") and (
        native.startswith("TIMESTAMP") or native == "DATE"
    ):
        value = statement("CAST(:c AS TIMESTAMP)", c=column)
        if "TIME ZONE" in native:  # an instant (DuckDB's session is in UTC): its local time
            value = fill("utc_to_local", dialect, x=value, z=exp.Literal.string(zone))
        value = _in_years_held(value)  # as pandas, which holds 1678 to 2261
        return fill("day", dialect, x=value) if field_type == "date" else value
    else:
        text = staged.get("text") or clean_text(field_type, as_pandas_text(column, native))
        if field_type == "text":
            return text
        if field_type == "enumeration":
            cases = " ".join(f"WHEN {sql_text(v.lower())} THEN {sql_text(v)}" for v in values or ())
            return statement(f"CASE lower(:t) {cases} END", t=text)
        if field_type == "boolean":
            return statement(
                f"CASE WHEN lower(:t) IN ({_words(_TRUE)}) THEN TRUE "
                f"WHEN lower(:t) IN ({_words(_FALSE)}) THEN FALSE END",
                t=text,
            )
        if field_type in ("integer", "number"):
            plain = statement("ltrim(replace(:t, ',', ''), '£')", t=text)
            grouped = fill("commas_group_thousands", dialect, x=text.copy())
            value = statement(
                "CASE WHEN :g THEN :v END", g=grouped, v=fill("text_to_number", dialect, x=plain)
            )
        else:
            parsed = staged.get("parsed") or parsed_timestamp(text, dialect, zone)
            if field_type == "date":
                return fill("day", dialect, x=parsed)
            instant = staged.get("instant") or fill("is_instant_text", dialect, x=text)
            nowhere, twice = local_time_in_doubt(instant, parsed, dialect, zone)
            return statement(
                "CASE WHEN :a OR :b THEN NULL ELSE :p END", a=nowhere, b=twice, p=parsed
            )
    value = statement("CASE WHEN :v - :v = 0 THEN :v END", v=value)  # no infinities, no NaN
    if field_type == "integer":
        return statement(
            f"CASE WHEN :v = round(:v) AND abs(:v) <= {LARGEST_WHOLE:.0f} THEN :v END", v=value
        )
    return value


def local_time_in_doubt(
    instant: exp.Expression, parsed: exp.Expression, dialect: str, zone: str
) -> tuple[exp.Expression, exp.Expression]:
    """Conditions: `parsed` is a local time that does not exist in `zone` (its instant,
    turned back into local time, is another time), or one that happens twice (the instant
    an hour either side is the same local time). An `instant` (with an offset) is never in
    doubt."""
    z = exp.Literal.string(zone)
    local = statement("NOT (:i)", i=instant)
    utc = fill("local_to_utc", dialect, x=parsed, z=z)

    def back(hours: int) -> exp.Expression:
        moved = fill("shift_hours", dialect, x=utc.copy(), h=exp.Literal.number(hours))
        return fill("utc_to_local", dialect, x=moved if hours else utc.copy(), z=z)

    nowhere = statement(":l AND (:b) <> :p", l=local, b=back(0), p=parsed)
    twice = statement(
        ":l AND ((:e) = :p OR (:f) = :p)", l=local.copy(), e=back(-1), f=back(1), p=parsed
    )
    return nowhere, twice


def _instant(
    typed: exp.Expression,
    raw_column: exp.Expression,
    native: str,
    staged: dict[str, exp.Expression] | None,
    dialect: str,
    zone: str,
) -> exp.Expression:
    """A datetime value's instant (UTC), kept beside its local time: from the offset the
    file gave, else the local time placed in `zone` (see specrules.datetimes)."""
    local = instant(typed.copy(), zone, dialect)
    if "TIME ZONE" in native.upper():
        return statement(
            "CASE WHEN (:t) IS NOT NULL THEN CAST(:c AS TIMESTAMP) END",
            t=typed.copy(),
            c=raw_column,
        )
    if not staged or "instant" not in staged:
        return local
    given = fill("text_to_utc", dialect, x=staged["text"].copy())
    return statement(
        "CASE WHEN (:t) IS NULL THEN NULL WHEN :i THEN :g ELSE :l END",
        t=typed.copy(),
        i=staged["instant"].copy(),
        g=given,
        l=local,
    )


def union_all(selects: list[exp.Expression], alias: str) -> exp.Expression:
    """SELECT * over the UNION ALL of `selects`: one query, one round trip to the engine."""
    union = exp.union(*selects, distinct=False, copy=False) if len(selects) > 1 else selects[0]
    return exp.select("*").from_(union.subquery(alias, copy=False), copy=False)


class FileData:
    """Typed tables in the engine, with every bad row and value accounted for.

    Every dataset's counts come from one query, and every unreadable value from another:
    an engine such as Spark pays for each query it runs more than for its size.
    """

    def __init__(
        self, plan: Plan, folder: DataInput, sql: Runner, progress: ReadProgress | None = None
    ):
        self.sql = sql
        self.progress = progress
        self.zone = plan.spec.timezone
        self.issues: list = []
        self.accounts: dict[str, DatasetAccount] = {}
        self.hashes: dict[str, str] = {}
        self.missing: dict[str, str] = {}
        self.sources: dict[str, Path] = {}  # a dataset read from a file other than its own
        files = self._files(plan, folder)
        names = list(plan.spec.datasets)
        notes: dict[str, list] = {name: [] for name in names}  # issues in dataset order
        checks, finish = [], {}
        for index, (name, ds) in enumerate(plan.spec.datasets.items()):
            if name not in files:
                self.missing[name] = "no data supplied for this dataset"
                notes[name].append(issue(name, self.missing[name]))
                self._empty(name, ds)
                continue
            loaded = self._load(index, name, ds, files[name], notes[name])
            if loaded is not None:
                checks.append(loaded[0])
                finish[index] = loaded[1]
        unreadable, rejections = [], []
        if checks:  # every dataset's keys checked by one query
            with reading(sql.conn, "the data files"):  # Spark reads them now
                checked = sql.rows(union_all(checks, "keys"))
            for index, read, no_key, repeated in checked:
                name = names[index]
                ds = plan.spec.datasets[name]
                self._count(ds, name, int(read), int(no_key), int(repeated))
                if no_key or repeated:
                    typed = f"typed__{name}"
                    rejections.append(_rejected_rows(index, ds, typed, bool(repeated), sql.dialect))
                unreadable.extend(finish[index](int(read), int(no_key), int(repeated)))
        if unreadable:
            query = union_all(unreadable, "bad").order_by(
                "bad_dataset", "bad_column", "bad_row", copy=False
            )
            for dataset, _, field, row, value, message in sql.rows(query):
                name = names[dataset]
                notes[name].append(issue(name, message, int(row), field, str(value)))
        for name in names:
            self.issues.extend(notes[name])
        if rejections:  # each row rejected for its key, after every dataset's values
            query = union_all(rejections, "rejected").order_by("dataset", "row_number")
            for dataset, row, value, why in sql.rows(query):
                ds = plan.spec.datasets[names[dataset]]
                reason = _key_reasons(ds)[int(why)]
                self.issues.append(issue(names[dataset], reason, int(row), ds.key_fields[0], value))

    def _count(self, ds, name: str, read: int, no_key: int, duplicates: int) -> None:
        account = self.accounts[name]
        account.read, account.evaluated = read, read - no_key - duplicates
        missing, repeated = _key_reasons(ds)
        if no_key:
            account.rejected[missing] = no_key
        if duplicates:
            account.rejected[repeated] = duplicates

    def _files(self, plan: Plan, folder: DataInput) -> dict[str, Path]:
        found = find_files(folder if isinstance(folder, list) else [folder], plan.spec.datasets)
        datasets = list(plan.spec.datasets)
        self.issues.extend(
            issue(name, undeclared_file(file, datasets)) for name, file in found.ignored
        )
        files = dict(found.files)
        for workbook in found.workbooks:  # read as the pandas engine reads it
            files.update(self._workbook(plan, workbook, files))
        return files

    def _workbook(self, plan: Plan, file: Path, found: dict[str, Path]) -> dict[str, Path]:
        """An Excel workbook's sheets as Parquet files of text (data_excel.py)."""
        from specrules.data_excel import workbook_as_parquet

        sheets, notes = workbook_as_parquet(file, plan.spec.datasets)
        self.issues.extend(notes)
        for name in sheets:
            if name in found:
                raise DataError(f"two files for one dataset ({file.name})", dataset=name)
            self.sources[name] = file  # provenance names the workbook, not the copy
        return sheets

    def _empty(self, name: str, ds) -> None:
        columns = [exp.cast(exp.null(), "BIGINT").as_(ROW)] + [
            exp.cast(exp.null(), sql_type(_field_type(ds.field_spec(f)))).as_(f, quoted=True)
            for f in ds.fields
        ]
        columns += [
            exp.cast(exp.null(), "TIMESTAMP").as_(instant_column(f), quoted=True)
            for f in ds.fields
            if ds.field_spec(f).type == "datetime"
        ]
        self.sql.table(name, exp.select(*columns).limit(0))

    def _load(self, index: int, name: str, ds, path: Path, notes: list):
        """Make the typed table of `path`; return the query counting its rows and checking
        its keys, and what makes the dataset from those counts (`_keep`) and returns the
        queries listing its unreadable values. None when columns are missing."""
        sql = self.sql
        self.accounts[name] = account = DatasetAccount()
        raw = f"raw__{name}"
        layout = None
        if suffix(path) == ".csv":
            layout, _ = scan_csv(path, name, progress=self.progress)
            self.hashes[name] = layout.sha256
            if layout.note():
                notes.append(issue(name, layout.note() or "", severity="info"))
        else:  # a workbook's sheet is read from a Parquet copy: the workbook's digest
            self.hashes[name] = file_hash(self.sources.get(name, path))
        empty = layout.empty if layout is not None else _no_columns(path)
        if empty:  # no header (a 0-byte CSV, a workbook's empty sheet): no columns
            native: dict[str, tuple[str, str]] = {}
        else:
            native = {c.strip(): (c, t) for c, t in sql.conn.raw_view(raw, path, layout)}
        absent = [f for f in ds.fields if f not in native]
        extra = undeclared_columns(name, ds, native)
        if extra and not absent:
            notes.append(extra)
        if absent:
            account.read = sql.one(f"SELECT count(*) FROM {sql_name(raw)}")[0] if native else 0
            why = missing_columns(ds, absent, list(native)) if native else NO_COLUMNS
            notes.append(issue(name, why, severity="error"))
            account.rejected[why] = account.read
            self.missing[name] = why
            self._empty(name, ds)
            return None
        for field in ds.fields:
            if native[field][1].upper() in ("BLOB", "BINARY"):
                raise DataError(f"{path.name}: {binary_column(field)}", dataset=name)
        zone = ds.timezone or self.zone
        raw, staged = self._stage(name, ds, raw, native, zone)
        typed_columns = [exp.column(ROW)]
        checks = []
        for position, field in enumerate(ds.fields):
            spec = ds.field_spec(field)
            column_name, column_type = native[field]
            raw_column = exp.column(column_name, quoted=True)
            typed = typed_value(
                spec.type,
                spec.values,
                raw_column,
                column_type,
                sql.dialect,
                zone,
                staged.get(position),
            )
            typed_columns.append(typed.copy().as_(field, quoted=True, copy=False))
            if spec.type == "datetime":
                utc = _instant(
                    typed, raw_column, column_type, staged.get(position), sql.dialect, zone
                )
                typed_columns.append(utc.as_(instant_column(field), quoted=True, copy=False))
            if (
                not _read_natively(spec.type, column_type)
                or spec.type in ("date", "datetime")
                or not spec.nullable
            ):
                checks.append(
                    (
                        position,
                        field,
                        spec,
                        raw_column,
                        typed,
                        staged.get(position, {}),
                        column_type,
                    )
                )
        key_present, partition = _key_sql(ds)
        # The file read and typed once; its keys are checked on the typed rows.
        typed_name = f"typed__{name}"
        with reading(sql.conn, path.name, name):  # an engine reads a file when it types it
            sql.table(typed_name, exp.select(*typed_columns).from_(exp.to_table(raw, quoted=True)))
        # One pass gives all three counts: the rows, those without a key, and those whose
        # key an earlier row has (a distinct count leaves out keys with a part missing).
        check = statement(
            f"SELECT {index} AS dataset, count(*) AS rows_read, "
            f"count(*) FILTER (WHERE NOT ({key_present})) AS no_key, "
            f"count(*) FILTER (WHERE {key_present}) - count(DISTINCT {partition}) AS repeated "
            f"FROM {sql_name(typed_name)}"
        )

        def finish(read: int, no_key: int, repeated: int) -> list[exp.Expression]:
            self._keep(name, ds, path, layout, read, no_key, repeated)
            return self._unreadable(index, raw, checks, zone)

        return check, finish

    def _keep(self, name, ds, path, layout, read: int, no_key: int, repeated: int) -> None:
        """The dataset `name` as the typed rows with a key, each key once (its first row)."""
        sql = self.sql
        typed_name = f"typed__{name}"
        key_present, partition = _key_sql(ds)
        if layout is not None and read != layout.rows:  # the engine must read what was checked
            raise DataError(
                f"{sql.conn.name} read {read} rows of {path.name} where {layout.rows} were "
                "expected; please report this file",
                dataset=name,
            )
        if not repeated:
            # Every key once (the usual case): the typed rows with a key. (Row order is
            # the file's where the engine keeps it; every listing orders by ROW anyway.)
            where = f" WHERE {key_present}" if no_key else ""
            sql.view(name, statement(f"SELECT * FROM {sql_name(typed_name)}{where}"))
            return
        # __n: 1 for the first row with its key, 2 for the next, …: later ones are rejected
        numbered = f"numbered__{name}"
        sql.table(
            numbered,
            f"SELECT *, row_number() OVER (PARTITION BY {partition} ORDER BY {ROW}) AS __n "
            f"FROM {sql_name(typed_name)}",
        )
        kept = ", ".join(
            [ROW]
            + [sql_name(f) for f in ds.fields]
            + [
                sql_name(instant_column(f))
                for f in ds.fields
                if ds.field_spec(f).type == "datetime"
            ]
        )
        sql.table(
            name,
            f"SELECT {kept} FROM {sql_name(numbered)} "
            f"WHERE {key_present} AND __n = 1 ORDER BY {ROW}",
        )
        sql.conn.drop_table(numbered)  # the copy made to find the first rows freed

    def _stage(
        self, name: str, ds, raw: str, native: dict[str, tuple[str, str]], zone: str
    ) -> tuple[str, dict[int, dict[str, exp.Expression]]]:
        """Views over the raw file with each value read from text cleaned once, and each
        date-time read from text parsed once: the typing and the listing of unreadable
        values refer to these columns instead of repeating the expressions. Returns the
        view to read from, and the staged columns by the field's position."""
        cleaned: list[exp.Expression] = []
        parsed: list[exp.Expression] = []
        staged: dict[int, dict[str, exp.Expression]] = {}
        for position, field in enumerate(ds.fields):
            spec = ds.field_spec(field)
            column_name, column_type = native[field]
            if spec.type == "text" or _reads_text(spec.type, column_type):
                continue
            text = f"__t{position}"
            raw_column = exp.column(column_name, quoted=True)
            value = as_pandas_text(raw_column, column_type)
            cleaned.append(clean_text(spec.type, value).as_(text, quoted=True, copy=False))
            staged[position] = {"text": exp.column(text, quoted=True)}
            if spec.type in ("date", "datetime"):
                column = exp.column(text, quoted=True)
                value = parsed_timestamp(column, self.sql.dialect, zone)
                parsed.append(value.as_(f"__p{position}", quoted=True, copy=False))
                instant = fill("is_instant_text", self.sql.dialect, x=column.copy())
                parsed.append(instant.as_(f"__i{position}", quoted=True, copy=False))
                staged[position]["parsed"] = exp.column(f"__p{position}", quoted=True)
                staged[position]["instant"] = exp.column(f"__i{position}", quoted=True)
        if not cleaned:
            return raw, staged
        source = exp.to_table(raw, quoted=True)
        self.sql.conn.create_view(
            f"clean__{name}", self.sql.sql(exp.select("*", *cleaned).from_(source, copy=False))
        )
        if not parsed:
            return f"clean__{name}", staged
        cleaned_view = exp.to_table(f"clean__{name}", quoted=True)
        self.sql.conn.create_view(
            f"parsed__{name}",
            self.sql.sql(exp.select("*", *parsed).from_(cleaned_view, copy=False)),
        )
        return f"parsed__{name}", staged

    def _unreadable(self, index: int, raw: str, checks: list, zone: str) -> list[exp.Expression]:
        """Queries listing the values that could not be read as their type, row by row."""
        selects = []
        for position, field, spec, raw_column, typed, staged, native in checks:
            # a field's unreadable values first, then its missing ones, as on pandas
            column = 2 * position
            if not spec.nullable:  # every missing value, unreadable or not, is reported
                selects.append(
                    statement(
                        f"SELECT {index} AS bad_dataset, {column + 1} AS bad_column, "
                        f"{sql_text(field)} AS bad_field, {ROW} AS bad_row, "
                        "CASE WHEN (:n) IS NULL THEN '' ELSE :s END AS bad_value, "
                        f"{sql_text(NOT_NULLABLE)} AS message "
                        f"FROM {sql_name(raw)} WHERE (:v) IS NULL",
                        s=_value_text(raw_column, native, self.sql.dialect),
                        n=as_pandas_text(raw_column, native),  # NaN is blank, as on pandas
                        v=typed.copy(),
                    )
                )
            if spec.type not in UNREADABLE or (
                _read_natively(spec.type, native) and spec.type not in ("date", "datetime")
            ):
                continue
            if _read_natively(spec.type, native):  # a date already: only its year can be wrong
                selects.append(
                    statement(
                        f"SELECT {index} AS bad_dataset, {column} AS bad_column, "
                        f"{sql_text(field)} AS bad_field, {ROW} AS bad_row, "
                        f":s AS bad_value, {sql_text(OUTSIDE_YEARS)} AS message "
                        f"FROM {sql_name(raw)} WHERE :c IS NOT NULL AND (:v) IS NULL",
                        s=(
                            statement("CAST(:c AS VARCHAR)", c=raw_column.copy())
                            if native.upper() == "DATE"  # as it is: no cast a year can overflow
                            else fill("timestamp_text", self.sql.dialect, x=raw_column.copy())
                        ),
                        c=raw_column,
                        v=typed,
                    )
                )
                continue
            markers = _words(_markers(spec.type))
            why = UNREADABLE[spec.type]
            if spec.type == "enumeration":
                why += ", ".join(spec.values or ())
            message = exp.Literal.string(why)
            if spec.type == "integer":  # a number, but not a whole one, has its own message
                number = typed_value(
                    "number", None, raw_column, "VARCHAR", self.sql.dialect, staged=staged
                )
                message = statement(
                    f"CASE WHEN (:n) IS NULL THEN {sql_text(UNREADABLE['number'])} "
                    f"WHEN abs(:n) > {LARGEST_WHOLE:.0f} THEN {sql_text(TOO_LARGE)} ELSE :m END",
                    n=number,
                    m=message,
                )
            if spec.type == "datetime" and "parsed" in staged:  # a local time in doubt
                nowhere, twice = local_time_in_doubt(
                    staged["instant"], staged["parsed"], self.sql.dialect, zone
                )
                nowhere_text, twice_text = NO_SUCH_TIME.format(zone=zone), TWICE.format(zone=zone)
                message = statement(
                    f"CASE WHEN (:p) IS NULL THEN :m WHEN :a THEN {sql_text(nowhere_text)} "
                    f"WHEN :b THEN {sql_text(twice_text)} ELSE :m END",
                    p=staged["parsed"],
                    m=message,
                    a=nowhere,
                    b=twice,
                )
            value_text = _value_text(raw_column, native, self.sql.dialect)
            selects.append(
                statement(
                    f"SELECT {index} AS bad_dataset, {column} AS bad_column, "
                    f"{sql_text(field)} AS bad_field, "
                    f"{ROW} AS bad_row, :s AS bad_value, :m AS message "
                    f"FROM {sql_name(raw)} WHERE :c IS NOT NULL AND lower(:t) NOT IN ({markers}) "
                    "AND (:v) IS NULL",
                    s=value_text,
                    c=raw_column,
                    t=_raw_text(raw_column),
                    v=typed,
                    m=message,
                )
            )
        return selects
