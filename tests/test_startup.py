"""`specrules validate` starts fast because it imports neither pandas nor the engines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
from specrules.cli import main
status = main(["validate", *sys.argv[1:]])
heavy = sorted(m for m in ("pandas", "numpy", "duckdb", "pyspark", "jinja2") if m in sys.modules)
print(status, ",".join(heavy) or "none")
"""


def test_validate_imports_no_data_library() -> None:
    specs = sorted(str(p) for p in (ROOT / "specs").glob("*.yaml"))
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *specs], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "0 none"


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
