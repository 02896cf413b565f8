"""`--engine spark`: evaluate a spec with Spark (PySpark, local mode), reading the files itself.

Spark reads each CSV (every column as text) or Parquet file, and the SQL shared with the
DuckDB engine (engine/sql/evaluator.py) types, checks and evaluates it, printed in Spark's
dialect. This module is only the Spark side: the session, how a file becomes a view
numbered in file order, how a query runs, how a table is kept.

Session settings, and why:
- `local[2]`, no web UI, one shuffle partition: a laptop or CI machine, small tasks;
- session time zone UTC: dates and times in the files have no zone, and UTC keeps
  `CAST(timestamp AS DATE)` and day arithmetic free of daylight saving;
- ANSI mode off: with it on (Spark 4's default) one value out of range (a cast, an
  overflowing month shift) fails the whole evaluation, where DuckDB and pandas give a
  missing value for that row; the typing uses try_cast/try_to_timestamp anyway, so it
  reads files the same with either setting;
- adaptive execution and code generation off (whole-stage, and expressions interpreted:
  `codegen.factoryMode`, a setting Spark calls internal; a Spark without it ignores it): the
  engine runs many small queries, for which compiling and re-planning cost more than they
  save;
- Spark's own log (log4j, and the JVM's stderr) goes to a temporary file, not the terminal;
  when the session cannot start, its last line is the reason given.

A session already running in the process (a notebook's, a test's) is used: the SQL settings
above (`RUNTIME_SETTINGS`) are set on it for the evaluation and its own put back after
(`SparkConnection.close`); its other settings are left as they are.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from specrules.errors import DataError

try:  # the SQL is written with sqlglot: without it, a message rather than a traceback
    from specrules.engine.sql.evaluator import evaluate_files
    from specrules.engine.sql.expressions import CALENDAR, WORKDAYS, calendar_columns
    from specrules.engine.sql.files import ROW, DataInput
    from specrules.files import CsvLayout
except ImportError as missing:  # pragma: no cover - sqlglot comes with specrules[spark]
    raise DataError(
        f"the Spark engine needs sqlglot ({missing}): pip install 'specrules[spark]', "
        "or use --engine pandas"
    ) from None
from specrules.progress import Progress
from specrules.results import Evaluation
from specrules.spec.compiler import Plan

ALTERNATIVE = "or use --engine duckdb"
SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    # One partition after a shuffle: every typed table is numbered in file order by one
    # window (so it is one partition already), and a shuffle into more only adds stages and
    # tasks: the Wigan Lot 1 example ran 375 stages (736 tasks) in 19-22 s (a second
    # evaluation), against 668 (1,365) in 29 s with two partitions.
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    # Small data, many small queries: compiling each query's code and re-planning each stage
    # cost more than they save (measured: the examples run a third faster without them).
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    # Expressions interpreted, not compiled: each query's expressions run over few rows, and
    # compiling them cost more (the Wigan Lot 1 example: 54 s against 61 s, first evaluation).
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    # One query counts every rule, so its broadcasts (small tables, each computed first) start
    # together; on a busy machine they can take longer than the default 300 s, which fails
    # the evaluation (seen on a 2-core machine at load 20): wait as long as the work takes.
    "spark.sql.broadcastTimeout": "36000",
    # The queries that count many rules at once join many small tables: broadcast, their
    # plans ran the driver out of memory on the Wigan Lot 1 example ("Not enough memory to
    # build and broadcast the table") though every table held under 30,000 rows. Sort-merge
    # joins need no driver memory for the tables, and the driver gets 2 GB, not 1.
    "spark.sql.autoBroadcastJoinThreshold": "-1",
    "spark.driver.memory": "2g",
}
# Settings a running session can take: set for each evaluation, and put back after it, so a
# session made elsewhere (a notebook's) keeps its own for its own work.
RUNTIME_SETTINGS = tuple(key for key in SETTINGS if key.startswith("spark.sql."))
_LOG4J = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""
_session: Any = None


def _pyspark() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas-version notices from pyspark's import
            import pyspark
            import pyspark.sql  # noqa: F401
    except ImportError:
        raise DataError(
            f"the Spark engine needs pyspark: pip install 'specrules[spark]', {ALTERNATIVE}"
        ) from None
    return pyspark


def _last_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln and not ln.startswith("WARNING: Using incubator")]
    return lines[-1] if lines else ""


def spark_session() -> Any:
    """The Spark session the engine uses: one already running, else a new local one."""
    global _session
    pyspark = _pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active  # SparkConnection sets the engine's SQL settings while it evaluates
    if _session is not None:
        return _session
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # no network lookups of the host
    folder = Path(tempfile.mkdtemp(prefix="specrules-spark-"))
    (folder / "log4j2.properties").write_text(_LOG4J, encoding="utf-8")
    log = folder / "spark.log"
    conf = pyspark.SparkConf().setMaster("local[2]").setAppName("specrules")
    for key, value in SETTINGS.items():
        conf.set(key, value)
    # Spark would otherwise leave an empty spark-warehouse/ in the user's working folder
    conf.set("spark.sql.warehouse.dir", str(folder / "warehouse"))
    conf.set(
        "spark.driver.extraJavaOptions",
        f"-Dlog4j2.configurationFile={folder / 'log4j2.properties'} -Duser.timezone=UTC",
    )
    try:
        from pyspark.java_gateway import launch_gateway

        with log.open("wb") as stderr, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # The JVM's stderr to a file: Spark's start-up chatter stays off the terminal.
            gateway = launch_gateway(conf, popen_kwargs={"stderr": stderr})
            context = pyspark.SparkContext(conf=conf, gateway=gateway)
            context.setLogLevel("ERROR")
            _session = SparkSession(context)
    except Exception as exc:  # no Java, a bad JAVA_HOME, a JVM that exits
        reason = _last_line(log) or str(exc).splitlines()[0]
        raise DataError(
            f"the Spark engine could not start a Spark session ({reason}); it needs Java 17 "
            f"or later (set JAVA_HOME), {ALTERNATIVE}"
        ) from None
    atexit.register(_stop, folder)
    return _session


def _stop(folder: Path) -> None:
    """At exit: stop the session made here and remove its log."""
    global _session
    if _session is not None:
        with contextlib.suppress(Exception):  # a JVM already gone has nothing to stop
            _session.stop()
        _session = None
    shutil.rmtree(folder, ignore_errors=True)


class SparkConnection:
    """engine/sql/evaluator.py's `Connection` over a Spark session (temporary views)."""

    name = "Spark"
    dialect = "spark"
    # Rules per query: all of a large spec's aggregations in one task ran out of memory
    # (AGGREGATE_OUT_OF_MEMORY, Wigan Lot 1 in local mode); 16 to a query did not.
    rules_per_query = 16

    def __init__(self, spark: Any):
        from pyspark.errors import PySparkException

        self.spark = spark
        self.errors = (PySparkException,)
        self.kept: dict[str, Any] = {}  # materialised tables, freed on close
        self.replaced: list[Any] = []  # tables replaced under their name, freed on close too
        self.views: set[str] = set()
        # The engine's SQL settings for this evaluation; the session's own come back on close.
        self.own_settings = {key: spark.conf.get(key, None) for key in RUNTIME_SETTINGS}
        for key in RUNTIME_SETTINGS:
            spark.conf.set(key, SETTINGS[key])

    def run(self, sql: str) -> list[tuple]:
        return [tuple(row) for row in self.spark.sql(sql).collect()]

    def arrow(self, sql: str) -> Any:
        # through Arrow, not a Python tuple per row
        return self.spark.sql(sql).toArrow()

    def raw_view(self, name: str, path: Path, layout: CsvLayout | None) -> list[tuple[str, str]]:
        try:
            if layout is None:  # Parquet (a workbook's sheet comes as a Parquet copy too)
                frame = self.spark.read.parquet(str(path))
            else:
                # All text, quotes doubled as in RFC 4180, values over several lines allowed
                # (multiLine also keeps a file in one partition, in file order). The header
                # is read here, so that Spark runs no job just to learn the column names.
                # The delimiter and the names are those specrules.files decided.
                from pyspark.sql.types import StringType, StructField, StructType

                assert layout is not None
                if layout.mixed_line_endings:  # its CSV reader takes one kind per file
                    raise DataError(
                        f"Spark cannot read {path.name}: some of its lines end in CR LF and "
                        "others in LF; save it with one kind of line ending, or use --engine "
                        "duckdb or pandas, which read it as it is"
                    )
                schema = StructType([StructField(c, StringType()) for c in layout.columns])
                frame = self.spark.read.csv(
                    str(path),
                    schema=schema,
                    header=True,
                    sep=layout.delimiter,
                    multiLine=True,
                    escape='"',
                    encoding="UTF-8",
                )
            columns = frame.dtypes
            self.create_view(f"{name}__file", frame)
            listed = ", ".join(_quote(column) for column, _ in columns)
            # Row numbers in file order: monotonically_increasing_id grows through each
            # partition and across partitions in order; row_number makes it 1, 2, 3, …
            self.create_table(
                name,
                f"SELECT row_number() OVER (ORDER BY __id) AS {ROW}, {listed} FROM "
                f"(SELECT monotonically_increasing_id() AS __id, * FROM `{name}__file`)",
            )
        except DataError:
            raise
        except Exception as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if "TIMESTAMP(NANOS" in str(exc):
                message = (
                    "Spark reads no nanosecond timestamps: write the file with microseconds "
                    "(pyarrow: coerce_timestamps='us')"
                )
            raise DataError(f"Spark could not read {path.name}: {message}") from None
        return [(column, kind) for column, kind in columns]

    def create_table(self, name: str, sql: str) -> None:
        # A local checkpoint, computed by the first query that reads it and kept (in memory,
        # spilling to disk), so a table costs no job of its own and is computed once. Unlike a
        # cached plan (`persist`), its view is a leaf: Spark analysed the whole lineage of a
        # table made from tables made from tables in every query that read it (18 of the
        # 62 s of the Wigan Lot 1 example went in analysis; 4.5 s with checkpoints).
        frame = self.spark.sql(sql).localCheckpoint(eager=False)
        frame.createOrReplaceTempView(name)
        old = self.kept.pop(name, None)
        if old is not None:
            # Freed only on close: a checkpoint freed is not computed again, and a table made
            # from the old one may not have been computed yet.
            self.replaced.append(old)
        self.kept[name] = frame

    def drop_table(self, name: str) -> None:
        # Kept until close: a table made from this one may not have been computed yet, and a
        # checkpoint freed is not computed again; Spark spills what does not fit to disk.
        pass

    def create_view(self, name: str, sql: str | Any) -> None:
        frame = self.spark.sql(sql) if isinstance(sql, str) else sql
        frame.createOrReplaceTempView(name)
        self.views.add(name)

    def install_calendar(self) -> None:
        """The calendar tables, from expressions.py's numpy columns through a Parquet file."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.spark.catalog.tableExists(CALENDAR) and self.spark.catalog.tableExists(WORKDAYS):
            return
        calendar, workdays = calendar_columns()
        with tempfile.TemporaryDirectory(prefix="specrules-calendar-") as folder:
            for name, columns in ((CALENDAR, calendar), (WORKDAYS, workdays)):
                path = str(Path(folder) / f"{name}.parquet")
                pq.write_table(pa.table({k: pa.array(v) for k, v in columns.items()}), path)
                # localCheckpoint: kept in Spark's block store, so the file can go
                frame = self.spark.read.parquet(path).localCheckpoint(eager=True)
                frame.createOrReplaceTempView(name)

    def close(self) -> None:
        for frame in [*self.kept.values(), *self.replaced]:
            _free(frame)
        for name in self.views | set(self.kept):
            self.spark.catalog.dropTempView(name)
        self.kept.clear()
        self.replaced.clear()
        self.views.clear()
        for key, value in self.own_settings.items():
            if value is None:
                self.spark.conf.unset(key)
            else:
                self.spark.conf.set(key, value)


def _free(frame: Any) -> None:
    """Let go of a checkpointed table's blocks (`unpersist` frees only cached plans)."""
    with contextlib.suppress(Exception):  # a session already stopped has nothing to free
        frame._jdf.queryExecution().logical().rdd().unpersist(False)


def _quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def evaluate_spec_spark(
    plan: Plan,
    data: DataInput,
    period: str | None = None,
    as_of: dt.date | None = None,
    spec_file: str | None = None,
    spec_text: str = "",
    progress: Progress | None = None,
) -> Evaluation:
    """Evaluate `plan` on a folder (or list) of CSV/Parquet files with Spark."""
    conn = SparkConnection(spark_session())
    try:
        return evaluate_files(conn, plan, data, period, as_of, spec_file, spec_text, progress)
    finally:
        conn.close()
