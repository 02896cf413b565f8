"""Field-name hints (age, bmi, cost …) and the whole-column samplers that draw values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class _Range:
    low: float
    high: float
    integer: bool
    decimals: int = 1


# First match wins, so the more specific hints come first (weight_change_pct is a share).
_NUMBER_HINTS: list[tuple[frozenset[str], _Range]] = [
    (
        frozenset({"pct", "percent", "percentage", "rate", "share", "prevalence", "proportion"}),
        _Range(0, 1, False, 3),
    ),
    (frozenset({"change", "loss", "gain", "difference", "diff"}), _Range(-5, 10, False, 1)),
    (frozenset({"bmi"}), _Range(18.5, 45, False, 1)),
    (frozenset({"systolic"}), _Range(100, 180, True)),
    (frozenset({"diastolic"}), _Range(60, 110, True)),
    (frozenset({"age"}), _Range(16, 90, True)),
    (frozenset({"weight", "kg"}), _Range(55, 140, False, 1)),
    (frozenset({"height", "cm"}), _Range(150, 195, False, 0)),
    (frozenset({"units"}), _Range(0, 50, True)),
    (frozenset({"minutes", "mins", "duration"}), _Range(10, 90, True)),
    (frozenset({"hours"}), _Range(0.5, 8, False, 1)),
    (frozenset({"score", "scale", "wemwbs", "swemwbs", "phq", "gad"}), _Range(0, 40, True)),
    (
        frozenset(
            {"amount", "cost", "costs", "price", "spend", "fee", "fees", "budget", "gbp"}
            | {"pounds", "income", "payment", "invoice", "paid"}
        ),
        _Range(20, 5000, False, 2),
    ),
    (frozenset({"fte"}), _Range(0.2, 1.0, False, 2)),
    (
        frozenset({"count", "number", "num", "sessions", "contacts", "attended", "visits"})
        | {"appointments", "times", "days", "weeks", "people", "members", "conversations"},
        _Range(0, 12, True),
    ),
]


_ID_TOKENS = frozenset({"id", "ref", "reference", "code", "number", "no", "nhs", "identifier"})


_BIRTH_TOKENS = frozenset({"birth", "dob", "born"})


_EVENT_TOKENS = frozenset(
    {"contact", "appointment", "session", "attendance", "visit", "call", "encounter"}
    | {"activity", "activities", "conversation", "review", "event"}
)


def _tokens(name: str) -> set[str]:
    return set(name.lower().split("_"))


def _is_birth(name: str) -> bool:
    return bool(_tokens(name) & _BIRTH_TOKENS)


def _is_event_dataset(name: str) -> bool:
    return any(t.rstrip("s") in _EVENT_TOKENS or t in _EVENT_TOKENS for t in _tokens(name))


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _sample_number(
    rng: np.random.Generator,
    op: str,
    bound: np.ndarray,
    low: float | None,
    high: float | None,
    integer: bool,
    upper: np.ndarray | None = None,
) -> np.ndarray:
    """Values on the side of `bound` that `op` asks for (op `between`: up to `upper`).

    A field's natural range (`low`..`high`) is used where it lies on the right side, so
    `age >= 18` gives adult ages rather than ages just over 18.
    """
    n = len(bound)
    u = rng.random(n)
    b = bound.astype(float)
    width = np.where(b != 0, np.abs(b) * 0.3, 1.0)
    if integer:
        width = np.maximum(width, 3.0)
    hi = np.full(n, np.inf if high is None else high)
    lo = np.full(n, -np.inf if low is None else low)
    if op == "between":
        assert upper is not None
        top = upper.astype(float)
        x = b + u * (top - b)
        return np.clip(np.round(x), np.ceil(b), np.floor(top)) if integer else x
    if op in (">", ">="):
        top = np.where(np.isfinite(hi) & (hi > b), hi, b + width)
        if integer:
            start = np.floor(b) + 1 if op == ">" else np.ceil(b)
            top = np.maximum(np.floor(top), start)
            return start + np.floor(u * (top - start + 1))
        start = b + (0.02 * (top - b) if op == ">" else 0.0)
        return start + u * (top - start)
    if op in ("<", "<="):
        fallback = np.where(b > 0, np.maximum(0.0, b - width), b - width)
        bottom = np.where(np.isfinite(lo) & (lo < b), lo, fallback)
        if integer:
            end = np.ceil(b) - 1 if op == "<" else np.floor(b)
            bottom = np.minimum(np.ceil(bottom), end)
            return bottom + np.floor(u * (end - bottom + 1))
        end = b - (0.02 * (b - bottom) if op == "<" else 0.0)
        return bottom + u * (end - bottom)
    if op == "=":
        return np.round(b) if integer else b
    # "!=": a nearby different value, on the side that stays in range
    step = np.maximum(1.0, np.round(width * u)) if integer else width * (0.1 + 0.9 * u)
    up = (rng.random(n) < 0.5) | (b - step < lo) | ((b >= 0) & (b - step < 0))
    return np.where(up, b + step, b - step)


def _uniform_days(rng: np.random.Generator, first: pd.Timestamp, last: pd.Timestamp, n: int):
    days = max(1, (last.normalize() - first.normalize()).days + 1)
    offsets = rng.integers(0, days, n)
    return (first.normalize() + pd.to_timedelta(offsets, unit="D")).to_numpy("datetime64[ns]")


def _time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    # Office hours mostly: 08:00 to 17:55 in five-minute steps.
    return pd.to_timedelta(8 * 60 + 5 * rng.integers(0, 120, n), unit="min").to_numpy()


# Text columns are built as Arrow strings directly: making Python strings first is slow.
def _ids(prefix: str, numbers: np.ndarray, width: int) -> pd.api.extensions.ExtensionArray:
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers.astype(np.int64)), pa.string()), width, "0")
    return pd.arrays.ArrowStringArray(pc.binary_join_element_wise(prefix, digits, ""))


def _choose(pool: list[str], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Strings `pool[code]` for each code."""
    strings = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(pool))
    return pd.arrays.ArrowStringArray(strings.cast(pa.string()))


def _prefix(name: str) -> str:
    letters = "".join(t for t in name.split("_") if t and t not in _ID_TOKENS) or name
    return letters[:3].upper()
