"""Writing synthetic frames as CSV or Parquet files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from specrules.api import Spec
from specrules.spec import models
from specrules.synth.common import Format, SynthError


def _csv_frame(frame: pd.DataFrame, ds: models.Dataset) -> pd.DataFrame:
    out = frame.copy()
    for name in ds.fields:
        kind = ds.field_spec(name).type
        if kind == "date":
            out[name] = out[name].dt.strftime("%Y-%m-%d")
        elif kind == "datetime":
            # seconds only where some value has them (response times in seconds)
            seconds = (out[name].dt.second.fillna(0) != 0).any()
            out[name] = out[name].dt.strftime("%Y-%m-%dT%H:%M:%S" if seconds else "%Y-%m-%dT%H:%M")
        elif kind == "boolean":
            out[name] = out[name].map({True: "true", False: "false"}).astype("string")
    return out


def write(
    spec: Spec, frames: dict[str, pd.DataFrame], out: str | Path, fmt: Format = "csv"
) -> list[Path]:
    """Write each frame as `<dataset>.<fmt>` in folder `out` (created if need be)."""
    folder = Path(out)
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, frame in frames.items():
            path = folder / f"{name}.{fmt}"
            if fmt == "parquet":
                frame.to_parquet(path, index=False)
            else:
                _csv_frame(frame, spec.model.datasets[name]).to_csv(path, index=False)
            written.append(path)
    except OSError as exc:
        raise SynthError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    return written
