"""Writing synthetic frames as CSV or Parquet files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from specrules.api import Spec
from specrules.spec import models
from specrules.synth.common import Format, SynthError


def with_offset(values: pd.Series, zone: str) -> pd.Series:
    """Local times in `zone` written with their UTC offset (2024-10-27T01:30:00+01:00), so
    that each is one instant: a time in the hour the clocks go back is the first of the two
    (summer time), one in the hour they go forward (which does not exist) an hour later, the
    same instant. Seconds are written only where some value has them."""
    aware = values.dt.tz_localize(
        zone, ambiguous=np.ones(len(values), dtype=bool), nonexistent=pd.Timedelta(hours=1)
    )
    seconds = (values.dt.second.fillna(0) != 0).any()
    text = aware.dt.strftime("%Y-%m-%dT%H:%M:%S%z" if seconds else "%Y-%m-%dT%H:%M%z")
    return text.str.replace(r"([+-]\d{2})(\d{2})$", r"\1:\2", regex=True)


def _csv_frame(frame: pd.DataFrame, ds: models.Dataset, zone: str) -> pd.DataFrame:
    out = frame.copy()
    for name in ds.fields:
        kind = ds.field_spec(name).type
        if kind == "date":
            out[name] = out[name].dt.strftime("%Y-%m-%d")
        elif kind == "datetime":
            out[name] = with_offset(out[name], zone)
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
                ds = spec.model.datasets[name]
                zone = ds.timezone or spec.model.timezone
                _csv_frame(frame, ds, zone).to_csv(path, index=False)
            written.append(path)
    except OSError as exc:
        raise SynthError(f"cannot write to {folder}: {exc.strerror or exc}") from None
    return written
