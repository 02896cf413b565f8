"""Property tests for the expression language (issue 3, "How it is checked").

- printing a tree and parsing the text again gives the same tree (expressions, thresholds);
- the vectorized pandas engine agrees, row by row, with the slow reference interpreter in
  tests/reference_interpreter.py on random well-typed expressions over random frames;
- top-level aggregates agree too.

Runs are derandomized and keep no example database, so CI sees the same examples each time.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from reference_interpreter import evaluate as reference_evaluate
from specrules.dsl import ir
from specrules.dsl.checker import check
from specrules.dsl.parser import parse_expression, parse_threshold
from specrules.dsl.printer import to_text
from specrules.engine.pandas.expressions import Context, dtype_for, evaluate, evaluate_column
from strategies import (
    CATALOG,
    ROW_KINDS,
    aggregates,
    expressions,
    frames,
    rows_of,
    thresholds,
    top_level_expressions,
)

# CI runs a fixed sample. To hunt for new failures, run with random examples, e.g.
#   SPECRULES_EXPLORE_EXAMPLES=5000 pytest tests/test_properties.py
_EXPLORE = int(os.environ.get("SPECRULES_EXPLORE_EXAMPLES", "0"))

PROPERTY = settings(
    max_examples=_EXPLORE or 200,
    deadline=None,
    derandomize=not _EXPLORE,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

_TOLERANCE = pd.Timedelta(microseconds=2)


def is_missing(value: Any) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )


def same(expected: Any, actual: Any) -> bool:
    """Whether the engine's `actual` value matches the reference's `expected` one."""
    if expected is None or is_missing(actual):
        return expected is None and is_missing(actual)
    if isinstance(expected, bool):
        return isinstance(actual, bool) and actual == expected
    if isinstance(expected, float):
        return isinstance(actual, float) and math.isclose(
            actual, expected, rel_tol=1e-9, abs_tol=1e-9
        )
    if isinstance(expected, dt.datetime):
        return isinstance(actual, pd.Timestamp) and abs(actual - expected) <= _TOLERANCE
    if isinstance(expected, dt.timedelta):
        if not isinstance(actual, pd.Timedelta):
            return False
        return abs(actual - pd.Timedelta(expected)) <= max(_TOLERANCE, abs(actual) * 1e-12)
    return type(actual) is type(expected) and actual == expected


def any_expression(**kwargs: Any) -> st.SearchStrategy[ir.Node]:
    return st.sampled_from(ROW_KINDS).flatmap(lambda kind: expressions(kind, **kwargs))


# ------------------------------------------------------------------ printing and parsing
@PROPERTY
@given(any_expression(depth=3, wild=True))
def test_printing_then_parsing_gives_the_same_tree(tree: ir.Node) -> None:
    text = to_text(tree)
    note(text)
    again = parse_expression(text)
    assert again == tree
    assert to_text(again) == text


@PROPERTY
@given(aggregates(depth=2, wild=True))
def test_printing_then_parsing_gives_the_same_aggregate(tree: ir.Node) -> None:
    text = to_text(tree)
    note(text)
    assert parse_expression(text) == tree


@PROPERTY
@given(thresholds())
def test_printing_then_parsing_gives_the_same_threshold(threshold: ir.Node) -> None:
    text = to_text(threshold)
    note(text)
    again = parse_threshold(text)
    assert again == threshold
    assert to_text(again) == text


# ------------------------------------------------------------------ engine vs reference
@PROPERTY
@given(any_expression(depth=3), frames())
def test_engine_agrees_with_reference_row_by_row(tree: ir.Node, frame: pd.DataFrame) -> None:
    note(to_text(tree))
    checked = check(tree, CATALOG, "d")
    ctx = Context(frames={"d": frame}, dataset="d", frame=frame)
    column = evaluate_column(checked, ctx)
    assert list(column.index) == list(frame.index)
    assert str(column.dtype) == dtype_for(checked.type)
    rows = rows_of(frame)
    tables = {"d": rows}
    for position, (row, actual) in enumerate(zip(rows, column.tolist(), strict=True)):
        expected = reference_evaluate(checked, row, tables)
        assert same(expected, actual), (
            f"row {position} {row}: reference {expected!r}, engine {actual!r}"
        )


@PROPERTY
@given(top_level_expressions(depth=2), frames())
def test_aggregates_agree_with_reference(tree: ir.Node, frame: pd.DataFrame) -> None:
    note(to_text(tree))
    checked = check(tree, CATALOG, None)
    actual = evaluate(checked, Context(frames={"d": frame}))
    expected = reference_evaluate(checked, None, {"d": rows_of(frame)})
    assert not isinstance(actual, pd.Series)
    assert same(expected, actual), f"reference {expected!r}, engine {actual!r}"
