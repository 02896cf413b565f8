"""Reports on an Evaluation: exception reports (HTML, Markdown) and FHIR MeasureReports.

from specrules.report import render_report, to_bundle
html = render_report(evaluation, "html", spec=spec, suppress_below=5)
"""

from specrules.report.disclosure import Disclosure
from specrules.report.fhir import measure_report, to_bundle, to_fhir_json
from specrules.report.render import ReportError, render_report, write_rows

__all__ = [
    "Disclosure",
    "ReportError",
    "measure_report",
    "render_report",
    "to_bundle",
    "to_fhir_json",
    "write_rows",
]
