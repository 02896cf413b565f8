"""A response-time rule's elapsed times, binned: shared by the notebook chart and the report.

Only the rows the rule judged (its denominator) are counted, each once. The bins are whole
units (days, working days, minutes) centred on each, or automatic widths for hours, at most
60 of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from specrules.results import Evaluation

MAX_BINS = 60


@dataclass
class ElapsedTimes:
    unit: str  # days, working days, hours, ...
    values: np.ndarray  # elapsed time of every judged row (NaN: no start or end)
    late: np.ndarray  # bool, per judged row
    limits: list[float]  # the distinct limits, in `unit`
    unplaced: pd.Series  # reason → rows with no elapsed time, which cannot be drawn

    @property
    def placed(self) -> np.ndarray:
        return ~np.isnan(self.values)

    def histogram(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Bin edges, and rows on time and late in each bin."""
        edges = bins(self.values[self.placed], self.unit)
        on_time, _ = np.histogram(self.values[self.placed & ~self.late], bins=edges)
        late, _ = np.histogram(self.values[self.placed & self.late], bins=edges)
        return edges, on_time, late

    @property
    def limit_offset(self) -> float:
        """Where a limit line sits from the limit: between the last on-time day and the next."""
        return 0.0 if self.unit == "hours" else 0.5


def bins(values: np.ndarray, unit: str) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if unit == "hours":
        edges = np.histogram_bin_edges(values, bins="auto")
        return edges if len(edges) <= MAX_BINS + 1 else np.linspace(low, high, MAX_BINS + 1)
    width = max(1, math.ceil((high - low + 1) / MAX_BINS))  # whole days, centred on each day
    return np.arange(math.floor(low) - 0.5, math.ceil(high) + 0.5 + width, width)


def elapsed_times(evaluation: Evaluation, rule_id: str, period: str | None) -> ElapsedTimes:
    """The judged rows' elapsed times; ValueError when there is nothing to draw."""
    rows = evaluation.rows_behind(rule_id, period, all_rows=True)
    judged = rows[rows["outcome"].isin(["met", "breach"])].drop_duplicates("row")
    elapsed_col = next((c for c in rows.columns if c.startswith("elapsed_")), None)
    if judged.empty or elapsed_col is None:
        raise ValueError(
            f"rule {rule_id!r} judged no rows in {period or 'any period'}: nothing to draw"
        )
    unit = elapsed_col.removeprefix("elapsed_").replace("_", " ")
    limit_col = f"limit_{elapsed_col.removeprefix('elapsed_')}"
    elapsed = judged[elapsed_col].astype("Float64")
    placed = elapsed.notna().to_numpy(dtype=bool)
    if not placed.any():
        raise ValueError(
            f"rule {rule_id!r}: no judged row has both a start and an end, so there is no "
            "elapsed time to draw"
        )
    limits = sorted(judged[limit_col].dropna().astype(float).unique())
    if len(limits) > 4:  # limits in months vary by the length of each month
        limits = [limits[0], limits[-1]]
    return ElapsedTimes(
        unit=unit,
        values=elapsed.to_numpy(dtype=float, na_value=np.nan),
        late=(judged["outcome"] == "breach").to_numpy(dtype=bool),
        limits=limits,
        unplaced=judged.loc[~placed, "reason"].fillna("no elapsed time").value_counts(),
    )
