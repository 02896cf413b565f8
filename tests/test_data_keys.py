"""Keys hashed once (specrules.data_keys): repeated keys and links to no row, from one encoding,
agree with pandas' own `duplicated` and `isin` on random keys with gaps, over several chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

import specrules
from specrules.data_keys import KeyIndex, repeated

SPEC = """
specrules: 1
title: keys
commissioner: c
service: s
source_document: test
contract: {start: 2024-01-01, end: 2024-12-31}
datasets:
  parents:
    key: id
    fields: {id: text}
  children:
    key: id
    fields: {id: text, parent: text}
    links:
      up: {dataset: parents, field: parent}
kpis:
  - id: parents_count
    title: Parents
    dataset: parents
    scoring: count
    period: contract
    source: {section: s}
"""

SPEC_MODEL = specrules.loads(SPEC).model
keys = st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d", " a"])), max_size=12)


def _text(values: list[str | None], chunks: int) -> pd.Series:
    """Arrow-backed text, split into `chunks` Arrow chunks as Parquet readers leave it."""
    cut = np.array_split(np.array(values, dtype=object), max(1, chunks))
    arrays = [pa.array(list(part), type=pa.large_string()) for part in cut]
    return pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(arrays, pa.large_string())))


@settings(max_examples=60, deadline=None)
@given(parents=keys, children=keys, child_ids=keys, chunks=st.integers(1, 3))
def test_repeated_keys_and_orphans_agree_with_pandas(parents, children, child_ids, chunks):
    spec = SPEC_MODEL
    n = min(len(children), len(child_ids))
    frames = {
        "parents": pd.DataFrame({"id": _text(parents, chunks)}),
        "children": pd.DataFrame(
            {"id": _text(child_ids[:n], chunks), "parent": _text(children[:n], chunks)}
        ),
    }
    index = KeyIndex(spec, frames)
    for name, frame in frames.items():
        expected = frame["id"].duplicated() & frame["id"].notna()
        assert index.duplicate[name].tolist() == expected.tolist()
    known = set(frames["parents"]["id"].dropna())
    link = frames["children"]["parent"]
    expected_orphans = [v is not pd.NA and v not in known for v in link.tolist()]
    assert index.orphan[("children", "up")].tolist() == expected_orphans


def test_repeated_by_hand():
    # codes as a dictionary encoding numbers them (first appearance), -1 missing:
    # a b a - c b  → rows 2 (a again) and 5 (b again) repeat; the missing one does not
    codes = np.array([0, 1, 0, -1, 2, 1])
    assert repeated(codes).tolist() == [False, False, True, False, False, True]


def test_links_checked_on_kept_rows_only():
    from specrules.data import load_data

    frames = {
        # parent "p1" twice: the second is rejected, "p1" is still a key; "p2" missing a key
        "parents": pd.DataFrame({"id": ["p1", "p1", None, "p3"]}),
        "children": pd.DataFrame(
            {
                "id": ["c1", "c2", "c2", "c3", "c4"],
                # c2 (row 2) points at p9: an orphan; its repeat (row 3) is rejected, so its
                # p8 is not reported; c4 (row 5) points at nothing (missing is not a link)
                "parent": ["p1", "p9", "p8", "p3", None],
            }
        ),
    }
    loaded = load_data(SPEC_MODEL, frames)
    links = [(i.dataset, i.row, i.value) for i in loaded.issues if "link" in i.message]
    assert links == [("children", 2, "p9")]
    assert loaded.accounts["parents"].rejected == {
        "missing key (id)": 1,
        "duplicate key: an earlier row has the same id": 1,
    }
    assert loaded.accounts["children"].evaluated == 4
