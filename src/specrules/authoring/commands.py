"""Sub-commands for spec authors: `explain`, `test`, `schema`, `new`.

Registered by `specrules.cli` (COMMAND_MODULES). Exit codes as everywhere: 0 success,
1 an invalid spec or a failing example, 2 bad usage (an unwritable output file, a file that
exists without `--force`). No command prints a traceback for a user's mistake.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from specrules.errors import Diagnostic, SpecError, exit_code

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
SCHEMA_FILE = "spec.schema.json"  # where `new` points editors, beside the new spec


def _print_problems(diagnostics: list[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        print(diagnostic, file=sys.stderr)


def _write(text: str, output: str | None, force: bool = True) -> int:
    """Write `text` to `output` (stdout when None); EXIT_USAGE if the file cannot be written."""
    if output is None or output == "-":
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return EXIT_OK
    path = Path(output)
    if path.exists() and not force:
        print(f"error: {output} exists; use --force to replace it", file=sys.stderr)
        return EXIT_USAGE
    try:
        path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {output}", file=sys.stderr)
    return EXIT_OK


# ------------------------------------------------------------------ explain
def cmd_explain(args: argparse.Namespace) -> int:
    from specrules.api import load
    from specrules.authoring.explain import explain

    try:
        spec = load(args.spec)
    except SpecError as exc:
        _print_problems(exc.diagnostics)
        if exc.exit_code == EXIT_INVALID:
            print(
                "the spec is invalid: run `specrules validate` for every problem", file=sys.stderr
            )
        return exc.exit_code
    return _write(explain(spec, args.format), args.output)


# ------------------------------------------------------------------ test
def cmd_test(args: argparse.Namespace) -> int:
    from specrules.authoring.spec_tests import format_results, run_files, write_junit_xml

    results = run_files(args.specs)
    print(format_results(results, verbose=args.verbose))
    if args.junit_xml:
        try:
            write_junit_xml(results, args.junit_xml)
        except OSError as exc:
            print(f"error: cannot write {args.junit_xml}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
    if any(exit_code(r.errors) == EXIT_USAGE for r in results):
        return EXIT_USAGE  # a spec file that could not be read at all
    return EXIT_OK if all(r.ok for r in results) else EXIT_INVALID


# ------------------------------------------------------------------ schema
def cmd_schema(args: argparse.Namespace) -> int:
    from specrules.authoring.schema import schema_text

    return _write(schema_text(), args.output)


# ------------------------------------------------------------------ new
def cmd_new(args: argparse.Namespace) -> int:
    """Write the new spec, and the JSON Schema its first line names beside it, so an editor
    finds it (a `--schema` given by hand is the author's to provide: only checked)."""
    from specrules.authoring.new import new_spec
    from specrules.authoring.schema import schema_text

    schema = args.schema or SCHEMA_FILE
    status = _write(new_spec(title=args.title, schema=schema), args.output, args.force)
    if status != EXIT_OK or "://" in schema:
        return status
    if args.output in (None, "-"):
        print(
            f"note: the spec names {schema} as its JSON Schema; write it beside the spec with "
            f"`specrules schema --output {schema}`",
            file=sys.stderr,
        )
        return EXIT_OK
    beside = Path(args.output).parent / schema
    if beside.exists():
        return EXIT_OK  # kept: refresh it with `specrules schema --output`
    if args.schema is None:
        return _write(schema_text(), str(beside))
    print(
        f"note: {beside} does not exist; write it with `specrules schema --output {beside}`",
        file=sys.stderr,
    )
    return EXIT_OK


def register(commands: argparse._SubParsersAction) -> None:
    explain = commands.add_parser(
        "explain",
        help="render a spec as the table commissioners know (indicator, threshold, method, "
        "consequence of breach, source)",
    )
    explain.add_argument("spec", metavar="SPEC")
    explain.add_argument("--format", choices=["md", "html"], default="md")
    explain.add_argument("--output", default=None, help="write here instead of stdout")
    explain.set_defaults(run=cmd_explain)

    test = commands.add_parser(
        "test", help="run the worked examples inside spec files, like unit tests"
    )
    test.add_argument("specs", nargs="+", metavar="SPEC")
    test.add_argument("--junit-xml", default=None, metavar="FILE", help="write JUnit XML here")
    test.add_argument("-v", "--verbose", action="store_true", help="list passing checks too")
    test.set_defaults(run=cmd_test)

    schema = commands.add_parser("schema", help="print the JSON Schema of the spec format")
    schema.add_argument("--output", default=None, help="write here instead of stdout")
    schema.set_defaults(run=cmd_schema)

    new = commands.add_parser(
        "new", help="write a starting spec with every section present and commented"
    )
    new.add_argument("--output", default=None, help="write here instead of stdout")
    new.add_argument("--title", default=None, help="the spec's title")
    new.add_argument(
        "--schema",
        default=None,
        metavar="PATH",
        help="where editors find the JSON Schema, relative to the spec (default: "
        "spec.schema.json, written beside --output unless one is there)",
    )
    new.add_argument("--force", action="store_true", help="replace an existing --output file")
    new.set_defaults(run=cmd_new)
