"""`specrules sql SPEC --dialect …`: print the verdict table as SQL (or, with --ddl, the
CREATE TABLE statements it reads), to run in a warehouse."""

from __future__ import annotations

import argparse
import sys

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
DIALECT_CHOICES = ("duckdb", "spark", "postgres", "bigquery", "tsql")


def cmd_sql(args: argparse.Namespace) -> int:
    from specrules.api import load
    from specrules.errors import SpecError

    if args.dialect not in DIALECT_CHOICES:
        print(
            f"error: unknown SQL dialect `{args.dialect}`; choose one of: "
            f"{', '.join(DIALECT_CHOICES)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        from specrules.engine.sql.create_tables import create_tables
        from specrules.engine.sql.expressions import CALENDAR, WORKDAYS, UnsupportedInDialect
        from specrules.engine.sql.verdict_table import verdict_sql
    except ImportError:
        print(
            "error: `specrules sql` needs sqlglot: pip install 'specrules[sql]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.calendar:
        print(calendar_sql(CALENDAR, WORKDAYS))
        return EXIT_OK
    if args.spec is None:
        print("error: name a SPEC file (or use --calendar)", file=sys.stderr)
        return EXIT_USAGE
    try:
        spec = load(args.spec)
    except SpecError as exc:
        for d in exc.diagnostics:
            print(d, file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"error: cannot read {args.spec}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.ddl:  # the tables the query reads (and the calendar, if it counts working days)
        # whether the rules read the calendar does not depend on the dialect: DuckDB's
        # query tells, even where this dialect's query would be refused
        uses_calendar = CALENDAR in verdict_sql(spec.plan, "duckdb")
        text = create_tables(spec.model, args.dialect)
        if uses_calendar:
            text += "\n" + calendar_sql(CALENDAR, WORKDAYS) + "\n"
    else:
        try:
            text = verdict_sql(spec.plan, args.dialect)
        except UnsupportedInDialect as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        print(text, end="")
    return EXIT_OK


def calendar_sql(calendar: str, workdays: str) -> str:
    """CREATE TABLE and INSERT statements for the working-day calendar (standard SQL)."""
    from specrules.engine.sql.expressions import calendar_rows

    days, work = calendar_rows()
    lines = [
        "-- England and Wales working days (weekends and bank holidays excluded), 1900-2100.",
        f"-- {calendar}: cum = working days up to and including day; fwd = the number of",
        "-- the first working day on or after day.",
        f"CREATE TABLE {calendar} (day DATE PRIMARY KEY, cum BIGINT, fwd BIGINT);",
        f"CREATE TABLE {workdays} (n BIGINT PRIMARY KEY, day DATE);",
    ]
    for start in range(0, len(days), 1000):
        chunk = days[start : start + 1000]
        values = ",\n".join(f"('{d.isoformat()}', {c}, {f})" for d, c, f in chunk)
        lines.append(f"INSERT INTO {calendar} VALUES\n{values};")
    for start in range(0, len(work), 1000):
        chunk = work[start : start + 1000]
        values = ",\n".join(f"({n}, '{d.isoformat()}')" for n, d in chunk)
        lines.append(f"INSERT INTO {workdays} VALUES\n{values};")
    return "\n".join(lines)


def register(commands) -> None:
    parser = commands.add_parser(
        "sql",
        help="print the SQL of the verdict table, to run the checks inside a data warehouse",
        description="Print one commented query giving the verdict table (one row per rule, "
        "period and group, as `specrules evaluate` gives it) in the chosen SQL dialect.",
    )
    parser.add_argument("spec", metavar="SPEC", nargs="?")
    parser.add_argument(
        "--dialect",
        default="duckdb",
        help="duckdb (default), spark, postgres, bigquery or tsql",
    )
    parser.add_argument("--output", default=None, help="write here instead of stdout")
    parser.add_argument(
        "--calendar",
        action="store_true",
        help="print the working-day calendar tables the SQL reads instead",
    )
    parser.add_argument(
        "--ddl",
        action="store_true",
        help="print CREATE TABLE statements for the spec's datasets instead (with the "
        "working-day calendar when the rules count working days)",
    )
    parser.set_defaults(run=cmd_sql)
