"""Aggregates (count, sum, mean, median, percentile, min, max, share), whole columns at a time.

An aggregate runs over one dataset. At the top level (a ratio's numerator) it gives one
figure. Inside a row expression of another dataset it is *correlated*: computed per
parent row through the child's link (min(appointments.offered_on) for each referral),
with one groupby, never a loop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from specrules.dsl import ir
from specrules.dsl.percentiles import DEFAULT_METHOD, centile_fraction, nearest_rank
from specrules.engine.pandas.expressions import Context, Value, as_series, evaluate, true_mask


def _frame_for(node: ir.Call, ctx: Context) -> pd.DataFrame:
    assert node.over is not None
    if node.correlated_link is not None and ctx.link_frames is not None:
        return ctx.link_frames[node.over]
    if ctx.dataset == node.over and ctx.frame is not None:
        return ctx.frame
    return ctx.frames[node.over]


def _inputs(node: ir.Call, ctx: Context) -> tuple[pd.DataFrame, pd.Series | None, np.ndarray]:
    frame = _frame_for(node, ctx)
    inner = ctx.rows(node.over, frame)
    values = None
    if node.args:
        values = as_series(evaluate(node.args[0], inner), frame.index, node.args[0].type)
    keep = (
        true_mask(evaluate(node.where, inner), frame.index)
        if node.where is not None
        else np.ones(len(frame), dtype=bool)
    )
    return frame, values, keep


def percentile_of(values: pd.Series, percentile: float, method: str | None) -> Value:
    """The centile of the values that are not missing (dsl/percentiles.py: the two methods)."""
    present = values.dropna()
    if present.empty:
        return pd.NA
    if method == "nearest_rank":
        ordered = present.sort_values(kind="stable")
        return ordered.iloc[nearest_rank(percentile, len(ordered)) - 1]
    ordered = np.sort(present.to_numpy(dtype=float))
    return float(linear_centile(ordered, np.array([0]), np.array([len(ordered)]), percentile)[0])


def linear_centile(
    ordered: np.ndarray, starts: np.ndarray, sizes: np.ndarray, percentile: float
) -> np.ndarray:
    """The linear centile of each run of sorted values (`starts`, `sizes` > 0), in numpy's
    floating-point steps, which the SQL engines repeat step for step (sql/expressions.py):
    position h = (n - 1) × q; a, b the values at floor(h) and the next; a + (b - a) × t below
    t = 0.5, b - (b - a) × (1 - t) from it."""
    h = (sizes - 1) * float(centile_fraction(percentile))
    below = np.floor(h).astype(np.int64)
    t = h - below
    a = ordered[starts + below]
    b = ordered[starts + np.minimum(below + 1, sizes - 1)]
    return np.where(t >= 0.5, b - (b - a) * (1 - t), a + (b - a) * t)


def grouped_percentile(
    values: pd.Series, groups: pd.Series, percentile: float, method: str | None
) -> pd.Series:
    """The centile of the values not missing, per value of `groups`, with one groupby."""
    present = values.notna().to_numpy(dtype=bool) & groups.notna().to_numpy(dtype=bool)
    values, groups = values[present], groups[present]
    frame = pd.DataFrame({"group": groups, "value": values}).sort_values(
        ["group", "value"], kind="stable"
    )
    if method != "nearest_rank":
        sizes = frame.groupby("group", sort=True)["value"].size()
        starts = np.concatenate([[0], np.cumsum(sizes.to_numpy())[:-1]]).astype(np.int64)
        ordered = frame["value"].to_numpy(dtype=float)
        centiles = linear_centile(ordered, starts, sizes.to_numpy(), percentile)
        return pd.Series(centiles, index=sizes.index, dtype="Float64")
    position = frame.groupby("group").cumcount().to_numpy() + 1
    size = frame.groupby("group")["value"].transform("size").to_numpy()
    fraction = centile_fraction(percentile)
    # ceil(size × p / 100) in whole numbers, at least 1 (nearest_rank, for every group at once)
    rank = np.maximum(1, -(-(size * fraction.numerator) // fraction.denominator))
    picked = frame[position == rank]
    return picked.set_index("group")["value"]


def _reduce(
    name: str, distinct: bool, values: pd.Series | None, keep: np.ndarray, centile: float = 0
) -> Value:
    if name == "count":
        if values is None:
            return float(keep.sum())
        kept = values[keep]
        return float(kept.dropna().nunique() if distinct else kept.notna().sum())
    assert values is not None
    if name == "share":
        total = keep.sum()
        if total == 0:
            return pd.NA
        return float(true_mask(values, values.index)[keep].sum()) / float(total)
    kept = values[keep].dropna()
    if kept.empty:
        return pd.NA
    if name == "percentile":
        return _number(percentile_of(kept, centile, DEFAULT_METHOD))
    result = getattr(kept, name)()
    return _number(result)


def _number(result: Value) -> Value:
    return float(result) if isinstance(result, int | float | np.number) else result


def _grouped(
    name: str,
    distinct: bool,
    values: pd.Series | None,
    keep: np.ndarray,
    groups: pd.Series,
    centile: float = 0,
) -> pd.Series:
    """One figure per value of `groups` (a foreign key), computed with groupby."""
    groups = groups[keep]
    if name == "count":
        if values is None:
            return groups.value_counts().astype("Float64")
        kept = values[keep]
        grouped = kept.groupby(groups, dropna=True)
        return (grouped.nunique() if distinct else grouped.count()).astype("Float64")
    assert values is not None
    if name == "share":
        hits = pd.Series(true_mask(values, values.index)[keep], index=groups.index, dtype=float)
        return hits.groupby(groups, dropna=True).mean().astype("Float64")
    kept = values[keep]
    if name == "percentile":
        return grouped_percentile(kept, groups, centile, DEFAULT_METHOD)
    present = kept.notna().to_numpy(dtype=bool)
    grouped = kept[present].groupby(groups[present], dropna=True)
    return getattr(grouped, name)()


def evaluate_aggregate(node: ir.Call, ctx: Context) -> Value:
    frame, values, keep = _inputs(node, ctx)
    # percentile(x, 90): the checker made sure the centile is a number written out
    centile = node.args[1].value if node.name == "percentile" else 0
    if node.correlated_link is None:
        return _reduce(node.name, node.distinct, values, keep, centile)
    # Correlated: group the child rows by their link to the current dataset, then look
    # each current row's key up in the result.
    assert ctx.links is not None and ctx.keys is not None and ctx.frame is not None
    parent, foreign_key = ctx.links[node.over][node.correlated_link]
    per_parent = _grouped(node.name, node.distinct, values, keep, frame[foreign_key], centile)
    result = ctx.frame[ctx.keys[parent]].map(per_parent)
    if node.name == "count":
        return result.astype("Float64").fillna(0.0)
    if values is not None and values.dtype.kind == "M":
        return pd.to_datetime(result)
    if values is not None and values.dtype.kind == "m":
        return pd.to_timedelta(result)
    if node.type is not None and node.type.kind == "number":
        return result.astype("Float64")
    if node.type is not None and node.type.kind == "text":
        return result.astype("string")
    return result
