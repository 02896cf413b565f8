"""The `evaluate` command's output options, kept beside the renderers they drive.

`specrules.cli` calls `add_output_options` when it builds the `evaluate` parser and
`write_output` once it has an Evaluation.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the renderers are imported when output is written, not at start-up
    from specrules.api import Spec
    from specrules.results import Evaluation

FORMATS = ("table", "json", "html", "md", "fhir", "xlsx")
EXIT_OK, EXIT_USAGE = 0, 2


def _count_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"{value} is below 1 (NHS practice commonly hides counts 1 to 7: --suppress-below 8)"
        )
    return value


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="table",
        help="table (terminal), json (the Evaluation), html or md (exception report), "
        "fhir (a FHIR R4 Bundle of MeasureReports), xlsx (an Excel workbook: needs --output)",
    )
    parser.add_argument("--output", default=None, help="write here instead of stdout")
    parser.add_argument(
        "--rows-dir",
        default=None,
        metavar="DIR",
        help="write every breach's rows in full to DIR/<rule_id>_<period>.csv",
    )
    parser.add_argument(
        "--suppress-below",
        type=_count_limit,
        default=None,
        metavar="N",
        help="html/md/xlsx: show counts 1 to N-1 as * (disclosure control; NHS practice often "
        "hides 1 to 7, so N=8); verdicts are unchanged",
    )
    parser.add_argument(
        "--template-dir",
        default=None,
        metavar="DIR",
        help="html/md: templates here override the built-in ones of the same name",
    )


def render_output(evaluation: Evaluation, args: argparse.Namespace, spec: Spec | None) -> str:
    """The text `--format` asks for; writes `--rows-dir` files on the way."""
    from specrules.report.fhir import to_fhir_json
    from specrules.report.render import ReportError, render_report, write_rows
    from specrules.report.table import verdict_table

    fmt = args.format
    suppress_below = getattr(args, "suppress_below", None)
    template_dir = getattr(args, "template_dir", None)
    rows_dir = getattr(args, "rows_dir", None)
    output = getattr(args, "output", None)
    # Silently printing exact counts when suppression was asked for would be worse.
    for name, value, formats in [
        ("--suppress-below", suppress_below, ("html", "md", "xlsx")),
        ("--template-dir", template_dir, ("html", "md")),
    ]:
        if value is not None and fmt not in formats:
            raise ReportError(
                f"{name} applies to --format {', '.join(formats)}, not to --format {fmt}"
            )
    rows_files = write_rows(evaluation, rows_dir) if rows_dir else {}
    if fmt == "json":
        return evaluation.to_json()
    if fmt == "fhir":
        return to_fhir_json(evaluation)
    if fmt == "table":
        return verdict_table(evaluation)
    if fmt == "xlsx":
        from specrules.report.workbook import write_workbook

        if not output:
            raise ReportError(
                "--format xlsx writes a workbook, not text: give the file, e.g. "
                "--output report.xlsx"
            )
        try:
            write_workbook(evaluation, output, spec=spec, suppress_below=suppress_below)
        except OSError as exc:
            raise ReportError(f"cannot write {output}: {exc}") from None
        return ""
    link_base = Path(output).resolve().parent if output else Path.cwd()
    return render_report(
        evaluation,
        fmt,
        spec=spec,
        suppress_below=suppress_below,
        template_dir=template_dir,
        rows_files=rows_files,
        link_base=link_base,
    )


def write_output(evaluation: Evaluation, args: argparse.Namespace, spec: Spec | None) -> int:
    """Render and write; an exit code (2 with a message for a report that cannot be made)."""
    from specrules.report.render import ReportError

    try:
        text = render_output(evaluation, args, spec)
        output = getattr(args, "output", None)
        if args.format == "xlsx":
            print(f"wrote {output}", file=sys.stderr)  # written by render_output
        elif output and output != "-":  # `-` is stdout, as for every command
            path = Path(output)
            try:
                path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
            except OSError as exc:
                raise ReportError(f"cannot write {path}: {exc}") from None
            print(f"wrote {output}", file=sys.stderr)  # as every command that writes a file
        else:
            try:
                print(text.rstrip("\n"))
                sys.stdout.flush()
            except BrokenPipeError:  # the reader (e.g. `head`) stopped early: not an error
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK
