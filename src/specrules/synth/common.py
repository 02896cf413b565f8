"""Constants, errors and small IR helpers shared by every part of the generator."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from specrules.dsl import ir
from specrules.dsl.types import BOOLEAN
from specrules.errors import SpecificationError
from specrules.spec import models

DEFAULT_ROWS = 1000


DEFAULT_BREACH_RATE = 0.1


# Populations are made common enough to measure, not dominant: many rules may each pick a
# different value of the same field (intervention_type = "weight management", …).
APPLIES_SHARE = 0.7  # applies_to: the rows a standard is about (accepted referrals)


POPULATION_SHARE = 0.25  # a KPI's initial population, at least this share of the dataset


SNAPSHOT_POPULATION_SHARE = 1.0  # a snapshot's rows: each on the list at its own census


DENOMINATOR_SHARE = 0.5  # a proportion's denominator, within its initial population


EXCLUSION_SHARE = 0.05  # denominator exclusions and exceptions are rare


MISSING_PER_BREACH = 0.1  # share of missing values in a nullable field = this × breach rate


LATE_MISSING_SHARE = 0.25  # of the rows made to breach a clock: no end event at all


DATE_LAG_DAYS = 10.0  # mean gap between successive dates of a row, and parent → child


DATETIME_LAG_HOURS = 20.0


Format = Literal["csv", "parquet"]


class SynthError(SpecificationError):
    """Synthetic data cannot be made or written (bad arguments, unwritable folder)."""


class SynthWarning(UserWarning):
    """A rule whose expressions synthesis could not shape the data for."""


_NEGATE = {"=": "!=", "!=": "=", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}


_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


_THRESHOLD_OP = {
    "at least": ">=",
    "more than": ">",
    "at most": "<=",
    "less than": "<",
    "exactly": "=",
}


_GAP_FUNCTIONS = {
    "days_between",
    "working_days_between",
    "hours_between",
    "minutes_between",
    "seconds_between",
    "age_at",
}
# gaps measured in a unit of time shorter than a day, as pandas names it
_GAP_UNITS = {"hours_between": "h", "minutes_between": "min", "seconds_between": "s"}


def _literal_value(node: ir.Node) -> Any:
    if isinstance(node, ir.Percent):
        return node.fraction
    if isinstance(node, ir.Date | ir.DateTime):
        return pd.Timestamp(node.value)
    return getattr(node, "value", None)


def _compare(op: str, left: ir.Node, right: ir.Node) -> ir.Compare:
    return ir.Compare(op, left, right, type=BOOLEAN)  # type: ignore[arg-type]


_DTYPES = {
    "integer": "Float64",
    "number": "Float64",
    "boolean": "boolean",
    "date": "datetime64[ns]",
    "datetime": "datetime64[ns]",
    "text": "string",
    "enumeration": "string",
}


def _typed(columns: dict[str, Any], fields: dict[str, models.FieldSpec], n: int) -> pd.DataFrame:
    """Columns in the dtypes `specrules.data` gives loaded data, so the engine can read them."""
    out = {}
    for name, spec in fields.items():
        values = columns[name]
        if spec.type in ("date", "datetime"):
            stamps = pd.Series(np.asarray(values, dtype="datetime64[ns]"))
            out[name] = stamps.dt.normalize() if spec.type == "date" else stamps
        elif spec.type in ("integer", "number") and isinstance(values, np.ndarray):
            out[name] = pd.array(values.astype(float), dtype="Float64")
        else:
            out[name] = pd.array(values, dtype=_DTYPES[spec.type])
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def _output(frame: pd.DataFrame, fields: dict[str, models.FieldSpec]) -> pd.DataFrame:
    """The frame handed to users: whole numbers as Int64, the rest as loaded."""
    out = frame.copy()
    for name, spec in fields.items():
        if spec.type == "integer":
            out[name] = out[name].round().astype("Int64")
        elif spec.type == "date":
            out[name] = out[name].dt.normalize()
    return out.reset_index(drop=True)
