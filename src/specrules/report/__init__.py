"""Reports on an Evaluation: exception reports (HTML, Markdown) and FHIR MeasureReports.

from specrules.report import render_report, to_bundle
html = render_report(evaluation, "html", spec=spec, suppress_below=5)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from specrules.lazy import lazy_attributes

if TYPE_CHECKING:
    from specrules.report.disclosure import Disclosure
    from specrules.report.fhir import measure_report, to_bundle, to_fhir_json
    from specrules.report.render import ReportError, render_report, write_rows

# Imported on first use, as in specrules/__init__.py: the command line reads its options
# from specrules.report.cli without loading the renderers (and pandas).
_LAZY = {
    "Disclosure": "specrules.report.disclosure",
    "measure_report": "specrules.report.fhir",
    "to_bundle": "specrules.report.fhir",
    "to_fhir_json": "specrules.report.fhir",
    "ReportError": "specrules.report.render",
    "render_report": "specrules.report.render",
    "write_rows": "specrules.report.render",
}

__getattr__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "Disclosure",
    "ReportError",
    "measure_report",
    "render_report",
    "to_bundle",
    "to_fhir_json",
    "write_rows",
]
