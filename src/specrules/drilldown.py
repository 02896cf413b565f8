"""The rows behind a verdict: row-level outcomes kept beside an `Evaluation`, and the join back.

`evaluate_spec` keeps, for every rule it evaluated, the row-level columns it computed once
(which rows the rule considered, which were in its denominator, which met it, why each failed
or was left out, and for response times the elapsed time and the limit) together with the
evaluated frames (derived fields included). They live in a private attribute of the
`Evaluation`: they are not serialised to JSON, not part of the result schema, and not
compared by `==`. An Evaluation read back from JSON therefore cannot drill down.

Everything here is whole-column pandas: a period is a boolean mask over a dataset's rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from specrules.datetimes import instant_column

ROW_COLUMN = "__row__"  # same name as specrules.data.ROW (1-based position in the input)

#: Columns `rows()` adds in front of the data.
PERIOD, ROW, PASSED, OUTCOME, REASON = "period", "row", "passed", "outcome", "reason"
OUTCOMES = pd.CategoricalDtype(["breach", "met", "counted", "left out"])


@dataclass(eq=False)
class RuleRows:
    """Row-level outcome of one rule over its whole dataset (arrays aligned to its rows)."""

    rule_id: str
    kind: str
    dataset: str
    scoring: str
    considered: np.ndarray
    denominator: np.ndarray
    numerator: np.ndarray | None
    left_out: pd.Series | None
    failure: pd.Series | None
    periods: dict[str, np.ndarray] = field(default_factory=dict)  # period label → rows
    elapsed: pd.Series | None = None  # response times: time from start to end (Float64)
    limit: pd.Series | None = None  # response times: the time allowed (Float64)
    elapsed_unit: str | None = None  # days, working days or hours
    numerator_fails: bool = False  # lower is better: the numerator's rows are the failing ones

    def failing(self) -> np.ndarray:
        """Rows in the denominator that count against the provider (all periods)."""
        if self.numerator is None:
            return np.zeros(len(self.considered), dtype=bool)
        if self.numerator_fails:
            return self.numerator
        return self.denominator & ~self.numerator


@dataclass(eq=False)
class EvaluationData:
    """The evaluated frames and per-rule row outcomes behind an `Evaluation` (never serialised).

    It compares equal to anything, so two Evaluations compare by their results alone (an
    Evaluation read back from JSON equals the one that wrote it).
    """

    frames: dict[str, pd.DataFrame]
    keys: dict[str, list[str]]
    rules: dict[str, RuleRows] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)  # rule id → why it has no rows

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


def _safe_names(data: pd.DataFrame, taken: list[str]) -> pd.DataFrame:
    """Rename data columns that would clash with the columns `rows()` adds."""
    clash = {c: f"{c} (data)" for c in data.columns if c in taken}
    return data.rename(columns=clash) if clash else data


def rule_rows(
    data: EvaluationData,
    rule_id: str,
    labels: list[str],
    all_rows: bool = False,
) -> pd.DataFrame:
    """The input rows behind `rule_id` over the periods `labels`, joined to their data.

    Breaching rows only (the rows listed in `Verdict.breaches`) unless `all_rows`, in which
    case every row the rule considered in the period, with `passed` (True, False, or missing
    for a row not judged: left out of the denominator, or a count) and `reason`.
    """
    outcome = data.rules[rule_id]
    frame = data.frames[outcome.dataset]
    failing = outcome.failing()
    if outcome.numerator is None:
        passed = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    else:
        passed = pd.Series(outcome.numerator, index=frame.index, dtype="boolean").mask(
            ~outcome.denominator
        )
    reason = pd.Series(pd.NA, index=frame.index, dtype="string")
    if outcome.failure is not None:
        reason = reason.mask(failing, outcome.failure.astype("string"))
    if outcome.left_out is not None:
        left = outcome.considered & ~outcome.denominator
        reason = reason.mask(left, outcome.left_out.astype("string"))
    reason = reason.mask(reason == "")
    kind = np.select(
        [
            failing,
            outcome.numerator if outcome.numerator is not None else failing,
            outcome.denominator,
        ],
        ["breach", "met", "counted"],
        default="left out",
    )
    added = pd.DataFrame(
        {
            ROW: frame[ROW_COLUMN].astype("Int64"),
            PASSED: passed,
            OUTCOME: pd.Series(kind, index=frame.index).astype(OUTCOMES),
            REASON: reason,
        },
        index=frame.index,
    )
    if outcome.elapsed is not None and outcome.limit is not None:
        unit = (outcome.elapsed_unit or "days").replace(" ", "_")
        added[f"elapsed_{unit}"] = outcome.elapsed.astype("Float64")
        added[f"limit_{unit}"] = outcome.limit.astype("Float64")
    # Each date-time's instant is kept beside it for the engines; it is not a field to show.
    hidden = [instant_column(c) for c in frame.columns if instant_column(c) in frame.columns]
    body = _safe_names(frame.drop(columns=[ROW_COLUMN, *hidden]), [PERIOD, *added.columns])
    joined = pd.concat([added, body], axis=1)
    wanted = outcome.considered if all_rows else failing
    parts = []
    for label in labels:
        chosen = joined[outcome.periods[label] & wanted]
        parts.append(chosen.assign(**{PERIOD: label}))
    result = pd.concat(parts, ignore_index=True) if parts else joined.iloc[0:0].assign(period="")
    result[PERIOD] = result[PERIOD].astype("string")
    return result[[PERIOD, *[c for c in result.columns if c != PERIOD]]]
