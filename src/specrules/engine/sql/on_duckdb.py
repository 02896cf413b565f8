"""`--engine duckdb`: evaluate a spec inside DuckDB, reading CSV or Parquet files directly.

The data never goes through pandas: each file is read by DuckDB (CSV with every column as
text) and typed, checked and evaluated by the SQL shared with the Spark engine
(engine/sql/evaluator.py). The typed tables are kept in DuckDB, which spills to disk when they
do not fit in memory. This module is only the DuckDB side: how a file becomes a view, how a
query runs, how a table is made.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa

from specrules.engine.sql.evaluator import evaluate_files
from specrules.engine.sql.expressions import install_calendar, sql_name, sql_text
from specrules.engine.sql.files import ROW, DataInput
from specrules.errors import DataError
from specrules.files import MAX_LINE, CsvLayout
from specrules.progress import Progress
from specrules.results import Evaluation
from specrules.spec.compiler import Plan


class DuckDBConnection:
    """engine/sql/evaluator.py's `Connection` over an in-memory DuckDB database."""

    name = "DuckDB"
    dialect = "duckdb"
    rules_per_query = 1_000  # every rule of a spec in one query: DuckDB plans it well

    def __init__(self, con: Any):
        import duckdb

        self.con = con
        self.duckdb = duckdb
        # a file it cannot read or a value it cannot convert; not an error in the SQL
        self.errors = (duckdb.IOException, duckdb.InvalidInputException, duckdb.ConversionException)
        # Instants are turned into local times explicitly (expressions.utc_to_local): the
        # session's own zone (the machine's, by default) must not shift them.
        con.execute("SET TimeZone = 'UTC'")

    def run(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def arrow(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def raw_view(self, name: str, path: Path, layout: CsvLayout | None) -> list[tuple[str, str]]:
        if layout is None:  # Parquet (a workbook's sheet comes as a Parquet copy too)
            # the reader numbers the rows itself: twice as fast as a window over the file
            select = (
                f"SELECT file_row_number + 1 AS {ROW}, * EXCLUDE (file_row_number) "
                f"FROM read_parquet({sql_text(str(path))}, file_row_number = true)"
            )
        else:
            # DuckDB keeps a file's order (preserve_insertion_order), so row_number() counts it.
            # Nothing is sniffed: the delimiter and names are those specrules.files decided.
            # Not strict: specrules.files has checked every row's values against the header,
            # and a file whose lines end in both CR LF and LF is then read as pyarrow reads it.
            assert layout is not None
            columns = ", ".join(f"{sql_text(c)}: 'VARCHAR'" for c in layout.columns)
            select = (
                f"SELECT row_number() OVER () AS {ROW}, * FROM read_csv({sql_text(str(path))}, "
                f"auto_detect = false, header = true, delim = {sql_text(layout.delimiter)}, "
                f"quote = '\"', escape = '\"', columns = {{{columns}}}, "
                f"max_line_size = {MAX_LINE}, strict_mode = false)"
            )
        try:  # a file DuckDB cannot read is bad input: a message, not a traceback
            self.con.execute(f"CREATE OR REPLACE TEMP VIEW {sql_name(name)} AS {select}")
            described = self.run(f"DESCRIBE {sql_name(name)}")
        except self.duckdb.Error as exc:  # opening the file: any error is the file's
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"DuckDB could not read {path.name}: {message}") from None
        return [(str(r[0]), str(r[1])) for r in described if str(r[0]) != ROW]

    def create_table(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {sql_name(name)} AS {sql}")

    def drop_table(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {sql_name(name)}")

    def create_view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {sql_name(name)} AS {sql}")

    def install_calendar(self) -> None:
        install_calendar(self.con)

    def close(self) -> None:
        self.con.close()


def evaluate_spec_duckdb(
    plan: Plan,
    data: DataInput,
    period: str | None = None,
    as_of: dt.date | None = None,
    spec_file: str | None = None,
    spec_text: str = "",
    memory_limit: str | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """Evaluate `plan` on a folder (or list) of CSV/Parquet files inside DuckDB."""
    try:
        import duckdb
    except ImportError:
        raise DataError(
            "the DuckDB engine needs duckdb and sqlglot: pip install 'specrules[sql]', "
            "or use --engine pandas"
        ) from None
    conn = DuckDBConnection(duckdb.connect())
    try:
        if memory_limit:
            conn.run(f"SET memory_limit = {sql_text(memory_limit)}")
        return evaluate_files(conn, plan, data, period, as_of, spec_file, spec_text, progress)
    finally:
        conn.close()
