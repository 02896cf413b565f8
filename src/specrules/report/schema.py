"""The published JSON Schema of `specrules evaluate --format json` (docs/results.schema.json).

Regenerate after changing `specrules.results`:

    python -m specrules.report.schema docs/results.schema.json

A test fails while the committed file differs from what this module generates.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from specrules.results import RESULT_SCHEMA_VERSION, Evaluation

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def results_schema() -> dict[str, Any]:
    """`Evaluation.model_json_schema()` with the dialect and the results schema version."""
    schema = Evaluation.model_json_schema()
    return {
        "$schema": DIALECT,
        "$comment": (
            f"specrules results schema {RESULT_SCHEMA_VERSION}, generated from "
            "specrules.results.Evaluation; see docs/results.md"
        ),
        **schema,
    }


def schema_text() -> str:
    return json.dumps(results_schema(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        sys.stdout.write(schema_text())
        return 0
    Path(args[0]).write_text(schema_text(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
