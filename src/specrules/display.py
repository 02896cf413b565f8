"""Notebook display (kept at this path for existing imports): see `specrules.report.notebook`."""

from specrules.report.figures import figure_text, target_text
from specrules.report.notebook import (
    COLOURS,
    MAX_BREACH_ROWS,
    MAX_HTML_ROWS,
    colour,
    evaluation_html,
    evaluation_repr,
    spec_html,
    verdict_html,
    verdict_repr,
)

__all__ = [
    "COLOURS",
    "MAX_BREACH_ROWS",
    "MAX_HTML_ROWS",
    "colour",
    "evaluation_html",
    "evaluation_repr",
    "figure_text",
    "spec_html",
    "target_text",
    "verdict_html",
    "verdict_repr",
]
