"""The `specrules` command line.

Exit codes: 0 success (for `evaluate`, whether or not rules are breached unless
`--fail-on-breach`); 1 a spec is invalid, or a breach with `--fail-on-breach`; 2 bad usage, a
spec file that cannot be read at all (missing, a folder, a device) or unreadable input data.
A user's mistake never prints a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import sys
from collections.abc import Sequence

from specrules import __version__
from specrules.errors import DataError, Diagnostic, PeriodError, SpecError, exit_code
from specrules.progress import terminal_progress
from specrules.report.cli import add_output_options

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2

# Modules that add sub-commands: each has `register(commands)`, which adds its parsers with
# `set_defaults(run=...)`. One line here per module keeps each command in its own file.
COMMAND_MODULES: tuple[str, ...] = (
    "specrules.authoring.commands",
    "specrules.synth_cli",
    "specrules.sql_cli",
    "specrules.standards",
)


def _escape(text: str, property_value: bool = False) -> str:
    """Escape text for a GitHub workflow command (`::error file=…::message`)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def _print_diagnostics(diagnostics: list[Diagnostic], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps([d.to_dict() for d in diagnostics], indent=2))
        return
    for d in diagnostics:
        if fmt == "github":
            level = "error" if d.severity == "error" else "warning"
            message = _escape(d.message + (f" (hint: {d.hint})" if d.hint else ""))
            where = f"file={_escape(d.file, True)},line={d.line},col={d.column}"
            print(f"::{level} {where},title={d.code}::{message}")
        else:
            print(d)


def cmd_validate(args: argparse.Namespace) -> int:
    # imported here: the linter (pydantic models, the grammar) is not needed for `--help`
    from specrules.authoring.lint import lint_file

    found: list[Diagnostic] = []
    for path in args.specs:
        found.extend(lint_file(path))  # every problem, also past a schema error
    _print_diagnostics(found, args.format)
    errors = [d for d in found if d.severity == "error"]
    warnings = [d for d in found if d.severity == "warning"]
    if args.format == "text":
        valid = len(args.specs) - len({d.file for d in errors})
        print(
            f"{valid} of {len(args.specs)} spec(s) valid; {len(errors)} error(s), "
            f"{len(warnings)} warning(s)",
            file=sys.stderr,
        )
    if exit_code(found) == EXIT_USAGE:
        return EXIT_USAGE  # a file that could not be read at all: not a spec, invalid or not
    if errors or (args.strict and warnings):
        return EXIT_INVALID
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    # imported here: pandas and the engine are not needed to validate a spec
    from specrules.api import load
    from specrules.report.cli import write_output

    try:
        spec = load(args.spec)
    except SpecError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=sys.stderr)
        return exc.exit_code
    as_of = None
    if args.as_of:
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError:
            print(f"error: --as-of {args.as_of!r} is not a date; write YYYY-MM-DD", file=sys.stderr)
            return EXIT_USAGE
    try:
        engine = getattr(args, "engine", "pandas")
        evaluation = spec.evaluate(
            args.data,
            period=args.period,
            as_of=as_of,
            progress=terminal_progress(),
            engine=engine,
        )
    except (DataError, PeriodError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        instead = (
            "use --engine duckdb, which reads the files without loading them whole "
            "(or --engine spark for data on a cluster)"
            if engine == "pandas"
            else "use --engine spark on a machine with more memory, or a cluster"
        )
        print(
            f"error: out of memory evaluating with the {engine} engine; {instead}", file=sys.stderr
        )
        return EXIT_USAGE
    status = write_output(evaluation, args, spec)
    if status:
        return status
    if args.fail_on_breach:
        absent = data_not_there(evaluation, list(spec.model.datasets))
        for why in absent:
            print(f"error: --fail-on-breach: {why}", file=sys.stderr)
        if absent or evaluation.breaches():
            return EXIT_INVALID
    return EXIT_OK


def data_not_there(evaluation, datasets: list[str]) -> list[str]:
    """Why a gate cannot pass: a dataset not supplied (or unusable), or one whose every row
    was rejected. Its rules say "no data" and breach nothing, so a gate checking breaches
    alone would pass on no data at all."""
    found = []
    for name in datasets:
        rows = evaluation.rows.get(name)
        if rows is None:
            found.append(f"dataset `{name}` was not supplied or could not be used")
        elif rows.read and not rows.evaluated:
            found.append(f"every one of the {rows.read} rows of dataset `{name}` was rejected")
        elif rows.rejected and not rows.evaluated:  # unusable with no rows: an empty file
            found.append(f"dataset `{name}` could not be used: {', '.join(rows.rejected)}")
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="specrules",
        description="Check health-service activity data against a machine-readable spec.",
    )
    parser.add_argument("--version", action="version", version=f"specrules {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check spec files; exit 1 if any is invalid")
    validate.add_argument("specs", nargs="+", metavar="SPEC")
    validate.add_argument("--format", choices=["text", "json", "github"], default="text")
    validate.add_argument("--strict", action="store_true", help="fail on warnings too")
    validate.set_defaults(run=cmd_validate)

    evaluate = commands.add_parser("evaluate", help="evaluate data against a spec")
    evaluate.add_argument("spec", metavar="SPEC")
    evaluate.add_argument(
        "--data",
        required=True,
        action="append",  # one path each, so `--data DIR SPEC` leaves SPEC alone
        metavar="PATH",
        help="a folder of <dataset>.csv/.parquet files, or one file (repeat --data for more)",
    )
    evaluate.add_argument(
        "--period", default=None, help="2019/20, 2019/20-Q3, 2020-01, contract or all (default all)"
    )
    evaluate.add_argument("--as-of", default=None, help="the date the data was extracted")
    add_output_options(evaluate)  # --format, --output, --rows-dir, --suppress-below, ...
    evaluate.add_argument(
        "--fail-on-breach",
        action="store_true",
        help="exit 1 when any rule is not met, or a dataset is missing or has every row "
        "rejected (its rules could not be judged)",
    )
    evaluate.add_argument(
        "--engine",
        choices=["pandas", "duckdb", "spark"],
        default="pandas",
        help="pandas (default); duckdb: reads CSV/Parquet in DuckDB, for data beyond memory; "
        "spark: reads them in Spark (local mode, needs pyspark and Java 17+)",
    )
    evaluate.set_defaults(run=cmd_evaluate)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        hint = ""
        if getattr(args, "data", None) is not None and not extra[0].startswith("-"):
            hint = "; --data takes one folder or file: repeat it (--data a.csv --data b.csv)"
        parser.error(f"unrecognized arguments: {' '.join(extra)}{hint}")
    if getattr(args, "data", None) is not None and len(args.data) == 1:
        args.data = args.data[0]
    try:
        code = args.run(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # the reader (`… | head`) stopped early: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:  # pragma: no cover
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
