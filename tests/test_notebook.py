"""The example notebook runs end to end, headless, and every cell succeeds.

examples/analysis.ipynb is executed with nbclient in a fresh kernel from the examples
folder. A cell that raises fails the test with the cell's error. The notebook saves its
three charts as PNG into the folder named by SPECRULES_CHART_DIR, here the test's tmp_path,
so a person can look at them (pytest keeps the last few tmp_path folders).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

EXAMPLES = Path(__file__).parent.parent / "examples"
NOTEBOOK = EXAMPLES / "analysis.ipynb"
PNG = b"\x89PNG\r\n\x1a\n"


def test_example_notebook_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("SPECRULES_CHART_DIR", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(EXAMPLES)}},
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell errors

    code = [c for c in notebook.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    assert all(c.get("execution_count") for c in code)  # every cell ran

    # Rich display: the spec's table and the evaluation's table came out as HTML.
    html = [
        o["data"]["text/html"]
        for c in code
        for o in c.get("outputs", [])
        if "text/html" in o.get("data", {})
    ]
    assert any("method of measurement" in h for h in html)
    assert any("figure vs target" in h for h in html)
    # Each chart drew inline and was saved as a real PNG.
    images = [o for c in code for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 3
    for name in ("kpi_overview.png", "trend.png", "response_times.png"):
        saved = tmp_path / name
        assert saved.read_bytes()[:8] == PNG, name
        assert saved.stat().st_size > 5_000, name
