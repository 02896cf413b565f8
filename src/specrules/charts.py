"""Charts of an Evaluation for notebooks (matplotlib): see `specrules.report.plots`."""

from specrules.report.plots import (
    kpi_overview,
    lower_is_better,
    response_time_distribution,
    score,
    trend,
)

__all__ = ["kpi_overview", "lower_is_better", "response_time_distribution", "score", "trend"]
