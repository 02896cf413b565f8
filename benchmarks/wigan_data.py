"""A fast, vectorized generator of Wigan Lot 1-shaped activity data (specs/wigan_lot1.yaml).

Every column is made with whole-array numpy operations, so 10 million referrals take seconds.
The shape follows the spec's datasets: referrals; interventions linked to referrals (about
0.6 per referral); quit attempts linked to stop-smoking interventions; a few evidence items a
quarter; a handful of borough indicators. Some values are missing on purpose (ages, offer
dates, flags), so the three-valued logic is exercised at scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CONTRACT_START = np.datetime64("2019-07-01")
CONTRACT_DAYS = 3 * 365 + 1  # 2019-07-01 .. 2022-06-30

INTERVENTION_TYPES = [
    "stop smoking",
    "harm reduction",
    "physical activity",
    "weight management",
    "alcohol reduction",
    "mental wellbeing",
]


def _ids(prefix: str, n: int) -> pd.Series:
    """Text keys `R00000001`…, built column-wise (no Python loop over rows)."""
    numbers = pd.Series(np.arange(1, n + 1, dtype=np.int64)).astype("string").str.zfill(9)
    return (prefix + numbers).astype("string")


def _flags(rng: np.random.Generator, n: int, p_true: float, p_missing: float) -> pd.Series:
    values = pd.array(rng.random(n) < p_true, dtype="boolean")
    values[rng.random(n) < p_missing] = pd.NA
    return pd.Series(values)


def _dates(days: np.ndarray, missing: np.ndarray | None = None) -> pd.Series:
    values = (CONTRACT_START + days.astype("timedelta64[D]")).astype("datetime64[ns]")
    series = pd.Series(values)
    if missing is not None:
        series[missing] = pd.NaT
    return series


def generate(referrals: int, seed: int = 8) -> dict[str, pd.DataFrame]:
    """Typed frames for every dataset of the Wigan Lot 1 spec, `referrals` referrals."""
    rng = np.random.default_rng(seed)
    n = referrals
    received = rng.integers(0, CONTRACT_DAYS, n)
    received.sort()  # a provider's extract is in date order
    age = rng.integers(10, 90, n).astype(float)
    age[rng.random(n) < 0.01] = np.nan
    stop_smoking = _flags(rng, n, 0.3, 0.0)
    prescribing = _flags(rng, n, 0.1, 0.0)
    fraser = _flags(rng, n, 0.5, 0.9)
    offer_delay = rng.integers(0, 18, n)
    ref = pd.DataFrame(
        {
            "referral_id": _ids("R", n),
            "received_on": _dates(received),
            "age": pd.array(age, dtype="Float64"),
            "lives_in_borough": _flags(rng, n, 0.9, 0.0),
            "works_or_studies_in_borough": _flags(rng, n, 0.1, 0.02),
            "registered_wigan_gp": _flags(rng, n, 0.85, 0.02),
            "consent_given": _flags(rng, n, 0.98, 0.005),
            "stop_smoking_requested": stop_smoking,
            "prescribing_requested": prescribing,
            "fraser_competent": fraser,
            "accepted": _flags(rng, n, 0.95, 0.001),
            "first_offer_on": _dates(received + offer_delay, rng.random(n) < 0.03),
            "offer_face_to_face": _flags(rng, n, 0.9, 0.03),
        }
    )

    # interventions: about 0.6 per referral, clients reused across referrals
    m = int(n * 0.6)
    parent = np.sort(rng.integers(0, n, m))
    clients = rng.integers(0, max(1, int(n * 0.45)), m)
    started = received[parent] + rng.integers(0, 21, m)
    started = np.minimum(started, CONTRACT_DAYS - 1)
    ended_missing = rng.random(m) < 0.3
    kinds = rng.integers(0, len(INTERVENTION_TYPES), m)
    interventions = pd.DataFrame(
        {
            "intervention_id": _ids("I", m),
            "client_id": _ids("C", max(1, int(n * 0.45))).to_numpy()[clients],
            "referral_id": ref["referral_id"].to_numpy()[parent],
            "started_on": _dates(started),
            "ended_on": _dates(started + rng.integers(20, 120, m), ended_missing),
            "intervention_type": pd.Categorical.from_codes(kinds, INTERVENTION_TYPES),
            "most_deprived_20pct": _flags(rng, m, 0.62, 0.02),
        }
    )
    interventions["client_id"] = interventions["client_id"].astype("string")
    interventions["referral_id"] = interventions["referral_id"].astype("string")
    interventions["intervention_type"] = interventions["intervention_type"].astype("string")

    # quit attempts: most stop-smoking interventions set a quit date
    smoking = np.flatnonzero(kinds == 0)
    chosen = smoking[rng.random(len(smoking)) < 0.8]
    q = len(chosen)
    quit_at_4 = _flags(rng, q, 0.55, 0.05)
    co = _flags(rng, q, 0.88, 0.05)
    quit_days = np.minimum(started[chosen] + rng.integers(0, 14, q), CONTRACT_DAYS - 1)
    quits = pd.DataFrame(
        {
            "quit_id": _ids("Q", q),
            "intervention_id": interventions["intervention_id"].to_numpy()[chosen],
            "quit_date": _dates(quit_days, rng.random(q) < 0.01),
            "quit_at_4_weeks": quit_at_4,
            "co_validated": co,
            "followed_up_4_weeks_post": _flags(rng, q, 0.86, 0.03),
        }
    )
    quits["intervention_id"] = quits["intervention_id"].astype("string")

    # evidence: a handful of items a quarter
    e = 12 * 6
    evidence = pd.DataFrame(
        {
            "item_id": _ids("E", e),
            "submitted_on": _dates(np.sort(rng.integers(0, CONTRACT_DAYS, e))),
            "kind": pd.Series(
                np.where(rng.random(e) < 0.6, "client case study", "service or delivery example")
            ).astype("string"),
        }
    )
    # indicators: prevalence and SATOD published once a year
    year_ends = np.array([274, 639, 1004])  # 31 March of each contract year
    indicators = pd.DataFrame(
        {
            "indicator_id": _ids("P", 6),
            "indicator": pd.Series(
                ["adult smoking prevalence"] * 3 + ["satod rate"] * 3, dtype="string"
            ),
            "period_end": _dates(np.concatenate([year_ends, year_ends])),
            "value": pd.array([0.149, 0.141, 0.133, 0.09, 0.085, 0.08], dtype="Float64"),
        }
    )
    return {
        "referrals": ref,
        "interventions": interventions,
        "quit_attempts": quits,
        "evidence": evidence,
        "indicators": indicators,
    }


# ------------------------------------------------------------------ any other spec shape
_SIZE_OF = {"clients": 0.45, "appointments": 1.2, "asset_connections": 0.05}


def _generic(
    field_type: str,
    values: list[str] | None,
    n: int,
    rng: np.random.Generator,
    start_days: np.ndarray | None,
) -> pd.Series:
    """A column of `n` plausible values of a declared type, a few of them missing."""
    missing = rng.random(n) < 0.03
    if field_type == "boolean":
        return _flags(rng, n, 0.7, 0.03)
    if field_type in ("integer", "number"):
        numbers = rng.integers(0, 100, n).astype(float)
        if field_type == "number":
            numbers += rng.random(n)
        numbers[missing] = np.nan
        return pd.Series(pd.array(numbers, dtype="Float64"))
    if field_type in ("date", "datetime"):
        base = start_days if start_days is not None else rng.integers(0, CONTRACT_DAYS, n)
        return _dates(base + rng.integers(0, 60, n), missing)
    choices = values or [f"value {i}" for i in range(8)]
    picked = np.asarray(choices, dtype=object)[rng.integers(0, len(choices), n)]
    series = pd.Series(picked).astype("string")
    series[missing] = pd.NA
    return series


def conform(frames: dict[str, pd.DataFrame], spec, seed: int = 8) -> dict[str, pd.DataFrame]:
    """Fill in every dataset and field `spec` declares that `frames` lacks, by type.

    The core Wigan datasets come from `generate`; a spec that declares more (the full
    specs/wigan_lot1.yaml grows as it is written) gets plausible values for the rest, with
    links pointing at real keys of the linked dataset.
    """
    rng = np.random.default_rng(seed + 1)
    n = len(frames["referrals"])
    frames = dict(frames)
    for name, ds in spec.datasets.items():
        if name in frames:
            continue
        # keys already referred to by a generated link column (clients of interventions)
        referred = [
            frames[child][link.field]
            for child, child_ds in spec.datasets.items()
            if child in frames
            for link in child_ds.links.values()
            if link.dataset == name and link.field in frames[child].columns
        ]
        if referred:
            keys = pd.concat(referred).dropna().drop_duplicates().reset_index(drop=True)
        else:
            keys = _ids(name[:2].upper(), max(72, int(n * _SIZE_OF.get(name, 0.0))))
        frames[name] = pd.DataFrame({ds.key_fields[0]: keys.astype("string")})
    for name, ds in spec.datasets.items():
        frame = frames[name]
        links = {link.field: link.dataset for link in ds.links.values()}
        date_days = None
        for field_name in ds.fields:
            if field_name in frame.columns:
                continue
            field = ds.field_spec(field_name)
            rows = len(frame)
            if field_name in links:
                parent = frames[links[field_name]][spec.datasets[links[field_name]].key_fields[0]]
                frame[field_name] = parent.to_numpy()[rng.integers(0, len(parent), rows)]
                frame[field_name] = frame[field_name].astype("string")
                continue
            column = _generic(field.type, field.values, rows, rng, date_days)
            if field.type in ("date", "datetime") and date_days is None:
                date_days = rng.integers(0, CONTRACT_DAYS, rows)
                column = _dates(date_days)
            frame[field_name] = column
        frames[name] = frame
    return {name: frames[name] for name in spec.datasets}


def frames_bytes(frames: dict[str, pd.DataFrame]) -> int:
    return int(sum(f.memory_usage(deep=True).sum() for f in frames.values()))
