"""Evaluation results: pydantic models with a stable JSON schema, and DataFrame views."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Literal, overload

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PrivateAttr,
)
from pydantic_core import core_schema

from specrules.drilldown import EvaluationData
from specrules.status import Rag, Status

RESULT_SCHEMA_VERSION = "1.0"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Exclusion(_Model):
    """Rows left out of a figure, and why."""

    reason: str
    count: int


class RowResult(_Model):
    """A row behind a breach: its key, its position in the input, and why it failed."""

    key: str
    row: int
    reason: str


class BreachRows(Sequence[RowResult]):
    """The rows behind a breach, kept as three columns: key, row, reason.

    A breached rule often fails tens of thousands of rows. One pydantic object per row cost
    more than evaluating the rule (docs/performance.md), so the rows stay as arrays and a
    `RowResult` is made only when one is read. It reads like a list of RowResult (len,
    index, slice, iterate, ==), serialises to one and validates from one.
    """

    __slots__ = ("_keys", "_rows", "_reasons")

    def __init__(self, keys: Any = (), rows: Any = (), reasons: Any = ()) -> None:
        # Arrays are kept as given (numpy or pandas): converting 100,000s of keys to
        # Python strings is the cost this class exists to avoid.
        self._keys = _column(keys)
        self._rows = np.asarray(rows, dtype=np.int64)
        if isinstance(reasons, str):  # one reason for every row
            reasons = np.full(len(self._keys), reasons, dtype=object)
        self._reasons = _column(reasons)
        if not len(self._keys) == len(self._rows) == len(self._reasons):
            raise ValueError("breach keys, rows and reasons differ in length")

    @classmethod
    def from_results(cls, results: Iterable[RowResult]) -> BreachRows:
        listed = list(results)
        return cls([r.key for r in listed], [r.row for r in listed], [r.reason for r in listed])

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, index: int) -> RowResult: ...
    @overload
    def __getitem__(self, index: slice) -> BreachRows: ...
    def __getitem__(self, index: int | slice) -> RowResult | BreachRows:
        if isinstance(index, slice):
            return BreachRows(self._keys[index], self._rows[index], self._reasons[index])
        return RowResult(
            key=str(self._keys[index]), row=int(self._rows[index]), reason=str(self._reasons[index])
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __repr__(self) -> str:
        return f"BreachRows({len(self)} rows)"

    def records(self) -> list[dict[str, Any]]:
        """The rows as plain dicts, as they are written to JSON."""
        return [
            {"key": str(k), "row": int(r), "reason": str(why)}
            for k, r, why in zip(
                list(self._keys), self._rows.tolist(), list(self._reasons), strict=True
            )
        ]

    def to_frame(self) -> pd.DataFrame:
        """The rows as a DataFrame: key, row, reason."""
        return pd.DataFrame(
            {
                "key": pd.Series(self._keys).astype("string"),
                "row": pd.array(self._rows, dtype="Int64"),
                "reason": pd.Series(self._reasons).astype("string"),
            }
        )

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        as_list = handler.generate_schema(list[RowResult])
        from_list = core_schema.no_info_after_validator_function(cls.from_results, as_list)
        return core_schema.json_or_python_schema(
            json_schema=from_list,
            python_schema=core_schema.union_schema(
                [core_schema.is_instance_schema(cls), from_list]
            ),
            serialization=core_schema.plain_serializer_function_ser_schema(_breach_records),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        return handler(handler.resolve_ref_schema(schema))


def _column(values: Any) -> Any:
    """An indexable, sliceable array: a Series' array as it is, anything else as numpy."""
    if isinstance(values, pd.Series | pd.Index):
        return values.array
    if isinstance(values, np.ndarray | pd.api.extensions.ExtensionArray):
        return values
    return np.asarray(list(values), dtype=object)


def _breach_records(value: Sequence[RowResult]) -> list[dict[str, Any]]:
    if isinstance(value, BreachRows):
        return value.records()
    return [r.model_dump() if isinstance(r, RowResult) else r for r in value]


def breach_rows(keys: Any, rows: Any, reasons: Any) -> BreachRows:
    """The rows behind a breach, from three equal-length columns (or a single reason).

    Engines build breaches only through this function, so how they are stored is decided
    here, once.
    """
    return BreachRows(keys, rows, reasons)


class SourceRef(_Model):
    section: str
    quote: str | None = None
    line: int | None = None


class Verdict(_Model):
    rule_id: str
    kind: Literal["eligibility", "response_time", "kpi"]
    title: str
    period: str
    period_start: dt.date
    period_end: dt.date
    group: dict[str, str] | None = Field(
        default=None, description="The breakdown group, e.g. {'locality': 'Doncaster'}."
    )
    status: Status
    rag: Rag | None = None
    scoring: str
    value: float | None = None
    unit: str = Field(
        description="share (0-1), count, seconds, minutes, hours, days, working days, or number"
    )
    measure: str | None = Field(
        default=None,
        description="A continuous KPI's aggregate: mean, median, sum, min, max, count, or a "
        "centile with its method, e.g. `90th centile (linear interpolation)`.",
    )
    numerator: float | None = None
    denominator: float | None = None
    threshold: str | None = None
    threshold_from: dt.date | None = Field(
        default=None,
        description="For a threshold with dated values: the first day of the value applied.",
    )
    threshold_until: dt.date | None = Field(
        default=None,
        description="For a threshold with dated values: the last day of the value applied "
        "(missing: still in force).",
    )
    target: float | None = Field(default=None, description="The figure the value is judged by.")
    judged_against: str | None = None
    gap: float | None = Field(default=None, description="value minus target")
    populations: dict[str, int] = {}
    excluded: list[Exclusion] = []
    exclusions: dict[str, int] = Field(
        default={},
        description="Rows taken out by each named denominator exclusion, in the spec's order "
        "(a row is counted under the first that applies to it).",
    )
    exceptions: dict[str, int] = Field(
        default={},
        description="Rows taken out by each named denominator exception, in the spec's order.",
    )
    breaches: BreachRows = BreachRows()
    breach_count: int = 0
    consequence: str | None = None
    due: dt.date | dt.datetime | None = Field(
        default=None,
        description="A breach's consequence is due by this day (or moment, for a deadline in "
        "hours): the consequence's `deadline` counted from the end of the period.",
    )
    source: SourceRef
    note: str | None = None
    reason: str | None = Field(default=None, description="Why there is no verdict, if so.")
    groups: list[Verdict] = []

    def __repr__(self) -> str:
        from specrules.report.notebook import verdict_repr

        return verdict_repr(self)

    def _repr_html_(self) -> str:
        from specrules.report.notebook import verdict_html

        return verdict_html(self)


class DataIssue(_Model):
    """A problem with one value or row of the input data (or a whole dataset)."""

    dataset: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None
    severity: str = "warning"


class DatasetRows(_Model):
    read: int
    evaluated: int
    rejected: dict[str, int] = {}


class Provenance(_Model):
    library_version: str
    result_schema: str = RESULT_SCHEMA_VERSION
    spec_file: str | None = None
    spec_sha256: str
    data_sha256: dict[str, str] = {}
    period: str
    as_of: dt.date | None = None
    evaluated_at: dt.datetime


#: The columns of `Evaluation.to_frame()`, in order (dtypes are fixed, even when empty).
FRAME_COLUMNS = [
    "rule_id",
    "kind",
    "title",
    "period",
    "period_start",
    "period_end",
    "group",
    "status",
    "rag",
    "value",
    "unit",
    "measure",
    "numerator",
    "denominator",
    "target",
    "gap",
    "threshold",
    "breach_count",
    "due",
    "judged_against",
    "reason",
    "exclusions",
    "exceptions",
]


def _named_counts(counts: dict[str, int]) -> str | None:
    """Counts per named exclusion as one cell: `died 1, moved_away 2`."""
    return ", ".join(f"{name} {n}" for name, n in counts.items()) if counts else None


class Evaluation(_Model):
    spec_title: str
    provenance: Provenance
    verdicts: list[Verdict]
    data_issues: list[DataIssue] = []
    rows: dict[str, DatasetRows] = {}
    # The evaluated frames and each rule's row-level outcome, set by `evaluate_spec` for
    # drill-down and charts. Private: not serialised, not in the schema, not compared; an
    # Evaluation read back from JSON has none.
    _data: EvaluationData | None = PrivateAttr(default=None)

    # ------------------------------------------------------------ views
    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(indent=indent)

    def to_frame(self) -> pd.DataFrame:
        """One row per rule × period × group, with typed columns."""
        records = []
        for verdict in self.verdicts:
            for v, group in [(verdict, None), *((g, g.group) for g in verdict.groups)]:
                records.append(
                    {
                        "rule_id": v.rule_id,
                        "kind": v.kind,
                        "title": v.title,
                        "period": v.period,
                        "period_start": pd.Timestamp(v.period_start),
                        "period_end": pd.Timestamp(v.period_end),
                        "group": None
                        if group is None
                        else ", ".join(f"{k}={val}" for k, val in group.items()),
                        "status": v.status,
                        "rag": v.rag,
                        "value": v.value,
                        "unit": v.unit,
                        "measure": v.measure,
                        "numerator": v.numerator,
                        "denominator": v.denominator,
                        "target": v.target,
                        "gap": v.gap,
                        "threshold": v.threshold,
                        "breach_count": v.breach_count,
                        "due": None if v.due is None else pd.Timestamp(v.due),
                        "judged_against": v.judged_against,
                        "reason": v.reason,
                        "exclusions": _named_counts(v.exclusions),
                        "exceptions": _named_counts(v.exceptions),
                    }
                )
        frame = pd.DataFrame.from_records(records, columns=FRAME_COLUMNS)
        return frame.astype(
            {
                "rule_id": "string",
                "kind": pd.CategoricalDtype(["eligibility", "response_time", "kpi"]),
                "period_start": "datetime64[s]",
                "period_end": "datetime64[s]",
                "title": "string",
                "period": "string",
                "group": "string",
                "status": pd.CategoricalDtype(
                    ["met", "not met", "monitoring", "no data", "not due"]
                ),
                "rag": "string",
                "value": "Float64",
                "unit": "string",
                "measure": "string",
                "numerator": "Float64",
                "denominator": "Float64",
                "target": "Float64",
                "gap": "Float64",
                "threshold": "string",
                "breach_count": "Int64",
                "due": "datetime64[s]",
                "judged_against": "string",
                "reason": "string",
                "exclusions": "string",
                "exceptions": "string",
            }
        )

    def rows_behind(
        self, rule_id: str, period: str | None = None, all_rows: bool = False
    ) -> pd.DataFrame:
        """The input rows behind a rule's verdicts, joined back to their data.

        By default the rows that fail the rule (the rows listed in `Verdict.breaches`, whether
        or not the verdict as a whole is met); with `all_rows=True`, every row the rule
        considered, with `passed` (missing when the row was not judged: left out of the
        denominator, or counted by a count rule), `outcome` (breach, met, counted, left out)
        and `reason`. Columns: `period`, `row` (1-based position in the input file), those
        columns, response times' `elapsed_<unit>` and `limit_<unit>`, then the dataset's
        fields (derived fields included). `period=None` means every period the rule was
        judged in; a row appears once per period it falls in.
        (Named `rows_behind` because `Evaluation.rows` is the per-dataset row account.)
        """
        from specrules.drilldown import rule_rows

        labels = self._rule_periods(rule_id, period)
        data = self._data
        if data is None:
            raise ValueError(
                "this Evaluation carries no data (it was read back from JSON, built by hand, "
                "or made by the duckdb or spark engine, whose data stays in the engine; its "
                "breach rows are in `breaches()`); evaluate the spec again with Spec.evaluate "
                "on the pandas engine to drill down"
            )
        if rule_id in data.unavailable:
            raise ValueError(f"rule {rule_id!r} has no rows to show: {data.unavailable[rule_id]}")
        return rule_rows(data, rule_id, labels, all_rows)

    def _rule_periods(self, rule_id: str, period: str | None) -> list[str]:
        """The period labels a rule was judged in (all, or just `period`); clear KeyErrors."""
        labels = [v.period for v in self.verdicts if v.rule_id == rule_id]
        if not labels:
            from specrules.errors import did_you_mean

            known = list(dict.fromkeys(v.rule_id for v in self.verdicts))
            hint = did_you_mean(rule_id, known)
            raise KeyError(
                f"no rule {rule_id!r} in this evaluation"
                + (f"; {hint}" if hint else "")
                + f" (rules: {', '.join(known) or 'none'})"
            )
        if period is None:
            return list(dict.fromkeys(labels))
        if period not in labels:
            raise KeyError(
                f"rule {rule_id!r} was not judged in period {period!r}; "
                f"its periods: {', '.join(dict.fromkeys(labels))}"
            )
        return [period]

    def __repr__(self) -> str:
        from specrules.report.notebook import evaluation_repr

        return evaluation_repr(self)

    def _repr_html_(self) -> str:
        from specrules.report.notebook import evaluation_html

        return evaluation_html(self)

    def breaches(self) -> list[Verdict]:
        """The verdicts (including breakdown groups) whose status is `not met`."""
        found = []
        for verdict in self.verdicts:
            found.extend(v for v in [verdict, *verdict.groups] if v.status == "not met")
        return found

    def verdict(self, rule_id: str, period: str | None = None) -> Verdict:
        matches = [
            v
            for v in self.verdicts
            if v.rule_id == rule_id and (period is None or v.period == period)
        ]
        if not matches:
            known = sorted({v.rule_id for v in self.verdicts})
            from specrules.errors import did_you_mean

            hint = did_you_mean(rule_id, known)
            raise KeyError(f"no verdict for rule {rule_id!r}" + (f"; {hint}" if hint else ""))
        return matches[-1]
