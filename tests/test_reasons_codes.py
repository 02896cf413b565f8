"""Reasons kept as codes (engine.pandas.rule_rows.Reasons): the first reason given wins, and
more distinct reasons than a small code holds (late rows: one text per time taken) stay right."""

from __future__ import annotations

import numpy as np
import pandas as pd

from specrules.engine.pandas.rule_rows import Reasons


def test_first_reason_wins_and_many_reasons_widen_the_codes():
    reasons = Reasons(pd.RangeIndex(400))
    reasons.set(np.arange(400) < 5, "first")  # rows 0-4
    reasons.set(np.arange(400) < 2, "second")  # rows 0-1 have one already: unchanged
    # 300 distinct texts (more than an int8 code holds): row i gets text i % 300, but rows
    # 0-4 keep "first"
    texts = [f"late {i}" for i in range(300)]
    reasons.set_coded(np.ones(400, dtype=bool), np.arange(400) % 300, texts)
    series = reasons.series()
    assert series[0] == series[4] == "first"
    assert series[5] == "late 5" and series[299] == "late 299" and series[399] == "late 99"
    assert "second" not in set(series)
    # every reason a row was given, once: "first" and the 300 late texts
    assert len(series.cat.categories) == 301


def test_rows_without_a_reason_are_missing():
    reasons = Reasons(pd.RangeIndex(3))
    reasons.set(np.array([False, True, False]), "only row 1")
    assert reasons.series().isna().tolist() == [True, False, True]
