"""Keys hashed once: repeated keys and links to no row found from one hash table per key.

A dataset's key column and every link column that points at it are dictionary-encoded
together by Arrow (one hash table, filled in order: the keys first, then the links). The
codes then answer both questions with whole-array arithmetic:

- a key repeats an earlier row's when its code is not new, that is not above every code
  before it (codes are handed out in order of first appearance);
- a link value has no row to point at when its code is above every key's code.

Hashing each key column once for both checks halves the work of the two checks done apart
(a hash of a million text keys costs about 0.15 s). Columns Arrow cannot hold, or a link
whose type differs from its key's, are checked the slower way by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from specrules.spec import models

Link = tuple[str, str]  # (dataset holding the link, link name)


def arrow_of(values: pd.Series) -> pa.ChunkedArray | None:
    """A column as Arrow (no copy for Arrow-backed text), or None for mixed Python objects."""
    try:
        array = pa.array(values.array)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if isinstance(array, pa.ChunkedArray):
        return array
    return pa.chunked_array([array])


def _alike(values: pa.ChunkedArray, to: pa.DataType) -> pa.ChunkedArray | None:
    """`values` as type `to` when they are the same kind (text as text), else None."""
    if values.type == to:
        return values
    text = (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)) and (
        pa.types.is_string(to) or pa.types.is_large_string(to)
    )
    return values.cast(to) if text else None


def _codes(values: pa.ChunkedArray) -> np.ndarray:
    """Dictionary codes of every value, in order of first appearance; -1 where missing."""
    encoded = values.dictionary_encode()
    parts = [pc.fill_null(chunk.indices, -1).to_numpy() for chunk in encoded.chunks]
    if not parts:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate(parts).astype(np.int64, copy=False)


def repeated(codes: np.ndarray) -> np.ndarray:
    """Rows whose code appeared on an earlier row (codes numbered by first appearance)."""
    if not len(codes):
        return np.zeros(0, dtype=bool)
    before = np.maximum.accumulate(codes)
    highest_before = np.concatenate(([-1], before[:-1]))
    return (codes >= 0) & (codes <= highest_before)


class KeyIndex:
    """Repeated keys of each single-key dataset and link values that point at no row."""

    def __init__(self, spec: models.Spec, frames: Mapping[str, Mapping[str, pd.Series]]) -> None:
        self.duplicate: dict[str, np.ndarray] = {}
        self.orphan: dict[Link, np.ndarray] = {}
        for name, ds in spec.datasets.items():
            if name in frames and len(ds.key_fields) == 1:
                self._encode(spec, name, ds.key_fields[0], frames)

    def _encode(
        self, spec: models.Spec, name: str, key: str, frames: Mapping[str, Mapping[str, pd.Series]]
    ) -> None:
        keys = arrow_of(frames[name][key])
        if keys is None:
            return
        parts = [keys]
        links: list[Link] = []
        for child, ds in spec.datasets.items():
            for link_name, link in ds.links.items():
                if link.dataset != name or child not in frames:
                    continue
                values = arrow_of(frames[child][link.field])
                values = None if values is None else _alike(values, keys.type)
                if values is not None:
                    parts.append(values)
                    links.append((child, link_name))
        chunks = [chunk for part in parts for chunk in part.chunks]
        codes = _codes(pa.chunked_array(chunks, type=keys.type))
        own = codes[: len(keys)]
        self.duplicate[name] = repeated(own)
        distinct = int(own.max()) + 1 if len(own) else 0
        start = len(keys)
        for (child, link_name), part in zip(links, parts[1:], strict=True):
            found = codes[start : start + len(part)]
            self.orphan[(child, link_name)] = found >= distinct
            start += len(part)
