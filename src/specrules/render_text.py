"""The terminal table (kept at this path for existing imports): see `specrules.report.table`."""

from specrules.report.figures import format_value as format_figure
from specrules.report.table import verdict_table

__all__ = ["format_figure", "verdict_table"]
