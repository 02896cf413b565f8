"""The Evaluation every engine hands back: its verdicts, the data's issues and row counts, and
the provenance that says what was evaluated, when and by which version."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from specrules import __version__
from specrules.results import DatasetRows, Evaluation, Provenance, Verdict
from specrules.spec.compiler import Plan


def assemble_evaluation(
    plan: Plan,
    loaded: Any,
    verdicts: list[Verdict],
    period: str | None,
    as_of: dt.date | None,
    spec_file: str | None,
    spec_text: str,
) -> Evaluation:
    """`loaded` is an engine's read data: its `hashes`, `issues` and `accounts` per dataset."""
    provenance = Provenance(
        library_version=__version__,
        spec_file=spec_file,
        spec_sha256=hashlib.sha256(spec_text.encode()).hexdigest(),
        data_sha256=loaded.hashes,
        period=period or "all",
        as_of=as_of,
        evaluated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
    )
    return Evaluation(
        spec_title=plan.spec.title,
        provenance=provenance,
        verdicts=verdicts,
        data_issues=loaded.issues,
        rows={
            name: DatasetRows(read=a.read, evaluated=a.evaluated, rejected=a.rejected)
            for name, a in loaded.accounts.items()
        },
    )
