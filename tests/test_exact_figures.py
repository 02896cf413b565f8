"""Every engine gives the same figure to the last digit, where floating point could part them.

- A linear centile: [5.9, 6.8, 13.5, 17.0] at 90 is at position (4 - 1) × 0.9 = 2.7, between
  13.5 and 17.0, 0.7 of the way: 15.95 on paper. numpy's steps (17.0 - 3.5 × (1 - 0.7)) give
  15.950000000000001 in floating point, DuckDB's quantile_cont 15.95: the engines follow
  numpy's steps, as pandas users who check a figure by hand with `quantile` get it.
- Elapsed time with fractions of a second: 10:00:00 to 10:18:00.180 is 1,080.18 seconds,
  18.003 minutes; two epochs as doubles lost the last digits (18.00300000031789).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import specrules

SPEC = """\
specrules: 1
title: Exact figures
commissioner: test
service: test
source_document: test
contract: {start: 2024-04-01, end: 2025-03-31, periods: financial_year}
datasets:
  calls:
    key: call_id
    date: called_at
    fields:
      call_id: text
      called_at: datetime
      arrived_at: datetime
      minutes: number
kpis:
  - id: centile
    title: 90th centile of minutes
    dataset: calls
    scoring: continuous
    aggregate: percentile
    percentile: 90
    observation: minutes
    period: month
    threshold: at most 16
    source: {section: test}
  - id: slowest_response
    title: Slowest response in minutes
    dataset: calls
    scoring: continuous
    aggregate: max
    observation: minutes_between(called_at, arrived_at)
    period: month
    threshold: at most 20
    source: {section: test}
"""

CALLS = (
    "call_id,called_at,arrived_at,minutes\n"
    "c1,2024-06-03T10:00:00,2024-06-03T10:18:00.180,13.5\n"
    "c2,2024-06-03T11:00:00,2024-06-03T11:05:00,17.0\n"
    "c3,2024-06-03T12:00:00,2024-06-03T12:05:00,5.9\n"
    "c4,2024-06-03T13:00:00,2024-06-03T13:05:00,6.8\n"
)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_centiles_and_elapsed_times_to_the_last_digit(tmp_path: Path, engine: str) -> None:
    (tmp_path / "spec.yaml").write_text(SPEC)
    (tmp_path / "calls.csv").write_text(CALLS)
    spec = specrules.load(tmp_path / "spec.yaml")
    got = {
        v.rule_id: v.value
        for v in spec.evaluate(tmp_path, period="2024-06", engine=engine).verdicts
    }
    # numpy's own quantile, an implementation independent of specrules
    assert got["centile"] == float(np.quantile([13.5, 17.0, 5.9, 6.8], 0.9))
    assert got["centile"] == 17.0 - 3.5 * (1 - (2.7 - 2))
    # 1,080.18 seconds / 60, the largest of the four waits (the others are 5 minutes)
    assert got["slowest_response"] == 1080.18 / 60 == 18.003
