"""Evaluation results: pydantic models with a stable JSON schema, and DataFrame views."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

RESULT_SCHEMA_VERSION = "1.0"

Status = Literal["met", "not met", "monitoring", "no data", "not due"]
Rag = Literal["green", "amber", "red"]


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
    unit: str = Field(description="share (0-1), count, days, hours, working days, or number")
    numerator: float | None = None
    denominator: float | None = None
    threshold: str | None = None
    target: float | None = Field(default=None, description="The figure the value is judged by.")
    judged_against: str | None = None
    gap: float | None = Field(default=None, description="value minus target")
    populations: dict[str, int] = {}
    excluded: list[Exclusion] = []
    breaches: list[RowResult] = []
    breach_count: int = 0
    consequence: str | None = None
    source: SourceRef
    note: str | None = None
    reason: str | None = Field(default=None, description="Why there is no verdict, if so.")
    groups: list[Verdict] = []


class DataIssueOut(_Model):
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


class Evaluation(_Model):
    spec_title: str
    provenance: Provenance
    verdicts: list[Verdict]
    data_issues: list[DataIssueOut] = []
    rows: dict[str, DatasetRows] = {}

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
                        "numerator": v.numerator,
                        "denominator": v.denominator,
                        "target": v.target,
                        "gap": v.gap,
                        "threshold": v.threshold,
                        "breach_count": v.breach_count,
                    }
                )
        frame = pd.DataFrame.from_records(records)
        if frame.empty:
            return frame
        return frame.astype(
            {
                "rule_id": "string",
                "kind": "category",
                "title": "string",
                "period": "string",
                "group": "string",
                "status": pd.CategoricalDtype(
                    ["met", "not met", "monitoring", "no data", "not due"]
                ),
                "rag": "string",
                "value": "Float64",
                "unit": "string",
                "numerator": "Float64",
                "denominator": "Float64",
                "target": "Float64",
                "gap": "Float64",
                "threshold": "string",
                "breach_count": "Int64",
            }
        )

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
