"""The command line starts fast: `--help` builds the parser without the spec language, and
`validate` imports neither pandas nor the engines (import discipline, not timings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Prints the exit status and which of the modules named on stdin were imported by the command.
PROBE = """
import sys
from specrules.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as stop:  # argparse exits after printing --help
    status = stop.code
watched = sys.stdin.read().split()
print(status, ",".join(sorted(m for m in watched if m in sys.modules)) or "none")
"""

DATA_LIBRARIES = ("pandas", "numpy", "pyarrow", "duckdb", "pyspark", "jinja2", "specrules.engine")
# The spec language and its parsers: needed to validate a spec, not to list the commands.
SPEC_LANGUAGE = ("pydantic", "lark", "yaml", "specrules.spec", "specrules.authoring.lint")


def imported_by(*argv: str, watched: tuple[str, ...]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        input=" ".join(watched),
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def test_validate_imports_no_data_library() -> None:
    specs = sorted(str(p) for p in (ROOT / "specs").glob("*.yaml"))
    assert imported_by("validate", *specs, watched=DATA_LIBRARIES) == "0 none"


def test_help_imports_neither_the_spec_language_nor_data_libraries() -> None:
    assert imported_by("--help", watched=SPEC_LANGUAGE + DATA_LIBRARIES) == "0 none"


def test_a_command_help_lists_its_options_without_running_it() -> None:
    for command in ("validate", "evaluate", "sql", "synth", "explain"):
        assert imported_by(command, "--help", watched=DATA_LIBRARIES) == "0 none", command


def test_the_package_names_resolve_on_first_use() -> None:
    import specrules
    from specrules import report

    assert specrules.load(ROOT / "specs" / "kent_ed.yaml").model.datasets
    assert callable(report.render_report)
    assert "render_report" in vars(report)  # kept after the first look-up
    try:
        specrules.no_such_name  # noqa: B018
    except AttributeError as error:
        assert "no_such_name" in str(error)
    else:
        raise AssertionError("an unknown name must raise AttributeError")
