"""The spec format, as pydantic models. Unknown keys are rejected everywhere.

A spec mirrors the NHS Standard Contract's quality-requirements table: each rule has a
measure, a threshold, a method (its populations and data) and a consequence of breach, and
says where in the source document it came from. Expressions stay text here; the compiler
parses and type-checks them.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FORMAT_VERSION = 1

Expression = Annotated[str, Field(min_length=1, max_length=4000)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# ------------------------------------------------------------------ provenance
class Source(Strict):
    """Where a rule comes from in the source document."""

    section: str = Field(description="Section, appendix or table row of the source document.")
    quote: str | None = Field(
        default=None, description="A short verbatim quote of the requirement."
    )
    line: int | None = Field(default=None, description="Line in the source text, if known.")


# ------------------------------------------------------------------ contract
class Extension(Strict):
    until: dt.date
    note: str | None = None


class Budget(Strict):
    name: str
    amount: float = Field(ge=0, description="Pounds.")
    per: Literal["year", "contract", "month", "quarter"] = "year"
    note: str | None = None


class Reporting(Strict):
    monitoring: Literal["weekly", "monthly", "quarterly", "annually"] | None = None
    report: Literal["monthly", "quarterly", "six-monthly", "annually"] | None = None
    review: Literal["quarterly", "six-monthly", "annually"] | None = None
    note: str | None = None


class Contract(Strict):
    start: dt.date
    end: dt.date
    extensions: list[Extension] = []
    year_start: str | None = Field(
        default=None,
        pattern=r"^\d{2}-\d{2}$",
        description="MM-DD on which contract years begin; defaults to the start date's.",
    )
    periods: Literal["contract_year", "financial_year"] = Field(
        default="contract_year",
        description="Years, quarters and months run from the contract start (contract_year) "
        "or from 1 April (financial_year).",
    )
    reporting: Reporting | None = None
    budgets: list[Budget] = []
    note: str | None = None

    @model_validator(mode="after")
    def _order(self) -> Contract:
        if self.end < self.start:
            raise ValueError("the contract ends before it starts")
        return self


# ------------------------------------------------------------------ datasets
FieldTypeName = Literal["text", "integer", "number", "boolean", "date", "datetime", "enumeration"]


class FieldSpec(Strict):
    type: FieldTypeName
    values: list[str] | None = Field(
        default=None, description="The allowed values of an enumeration."
    )
    nullable: bool = Field(default=True, description="Whether the value may be missing.")
    description: str | None = None

    @model_validator(mode="after")
    def _values(self) -> FieldSpec:
        if self.type == "enumeration" and not self.values:
            raise ValueError("an enumeration needs its `values`")
        if self.type != "enumeration" and self.values is not None:
            raise ValueError("only an enumeration has `values`")
        return self


class LinkSpec(Strict):
    """A many-to-one link: `field` of this dataset holds the key of `dataset`."""

    dataset: Identifier
    field: Identifier


class Dataset(Strict):
    description: str | None = None
    key: Identifier | list[Identifier]
    date: Expression | None = Field(
        default=None,
        description="The date that places a row in a period (a field or an expression).",
    )
    fields: dict[Identifier, FieldTypeName | FieldSpec]
    links: dict[Identifier, LinkSpec] = {}
    derived: dict[Identifier, Expression] = Field(
        default={}, description="Named expressions computed for every row, in order."
    )

    @property
    def key_fields(self) -> tuple[str, ...]:
        return (self.key,) if isinstance(self.key, str) else tuple(self.key)

    def field_spec(self, name: str) -> FieldSpec:
        value = self.fields[name]
        return FieldSpec(type=value) if isinstance(value, str) else value


# ------------------------------------------------------------------ rules
class Consequence(Strict):
    text: str
    kind: Literal[
        "exception_report",
        "remedial_action_plan",
        "passed_back_to_referrer",
        "financial_sanction",
        "contract_review",
        "other",
    ] = "exception_report"
    template: str | None = Field(
        default=None, description="A jinja2 template file for this consequence's report."
    )


PeriodName = Literal["year", "quarter", "month", "contract"]


class Rule(Strict):
    id: Identifier
    title: str
    source: Source
    dataset: Identifier
    consequence: Identifier | None = None
    note: str | None = None
    period: PeriodName | None = Field(
        default=None,
        description="The period each verdict covers; defaults to the threshold's `per`, else year.",
    )
    date: Expression | None = Field(
        default=None, description="Overrides the dataset's `date` for this rule."
    )
    breakdowns: list[Identifier] = []
    group_thresholds: dict[str, str] = Field(
        default={},
        description="A threshold for each group of the (single) breakdown, e.g. a target per "
        "locality; validate checks that they add up to the overall threshold.",
    )
    per_group: bool = Field(
        default=False,
        description="Whether the threshold applies to each breakdown group too (otherwise "
        "groups get figures only).",
    )
    amber: str | None = Field(
        default=None,
        pattern=r"^\d+(\.\d+)?%$",
        description="Within this percentage of the target is amber rather than red.",
    )


OnFail = Literal[
    "not_accepted", "passed_back_to_referrer", "clinician_confirmation", "signposted", "other"
]


class Eligibility(Rule):
    applies_to: Expression | None = Field(
        default=None, description="Which rows the criterion is checked on (default: all)."
    )
    accept: Expression | None = Field(default=None, description="Must be true to accept.")
    exclude: Expression | None = Field(default=None, description="If true, the row is excluded.")
    on_fail: OnFail = "not_accepted"
    target: str = Field(default="100%", description="Share of rows that must pass.")

    @model_validator(mode="after")
    def _one_criterion(self) -> Eligibility:
        if (self.accept is None) == (self.exclude is None):
            raise ValueError("write exactly one of `accept` or `exclude`")
        return self


class ResponseTime(Rule):
    applies_to: Expression | None = None
    start: Expression = Field(description="When the clock starts (a date or date-time).")
    end: Expression = Field(description="When it stops; missing means the standard was not met.")
    limit: Expression = Field(
        description="A duration, possibly depending on the row: "
        '`if service = "stop smoking" then 1 week else 2 weeks`.'
    )
    clock: Literal["calendar_days", "working_days", "hours"] = "calendar_days"
    target: str = "100%"


Scoring = Literal["proportion", "count", "ratio", "continuous"]
AggregateName = Literal["mean", "median", "sum", "min", "max", "count"]


class KPI(Rule):
    scoring: Scoring
    initial_population: Expression | None = None
    denominator: Expression | None = None
    denominator_exclusions: Expression | None = None
    denominator_exceptions: Expression | None = None
    numerator: Expression | None = None
    observation: Expression | None = Field(
        default=None, description="For continuous scoring: the value measured on each row."
    )
    aggregate: AggregateName | None = None
    distinct: Identifier | None = Field(
        default=None, description="For count scoring: count different values of this field."
    )
    threshold: str | None = Field(
        default=None, description="How the figure is judged; absent means monitoring only."
    )
    monitoring_only: bool = False
    judged: Literal["pro_rata", "period_end"] = Field(
        default="pro_rata",
        description="A target per year checked part-way through: against its pro-rata share, "
        "or `not due` until the period ends.",
    )

    @model_validator(mode="after")
    def _scoring_fields(self) -> KPI:
        s = self.scoring
        if s == "proportion" and self.numerator is None:
            raise ValueError("a proportion needs a `numerator`")
        if s == "ratio" and (self.numerator is None or self.denominator is None):
            raise ValueError("a ratio needs a `numerator` and a `denominator` (aggregates)")
        if s == "continuous" and (self.observation is None or self.aggregate is None):
            raise ValueError("continuous scoring needs an `observation` and an `aggregate`")
        if s != "continuous" and (self.observation or self.aggregate):
            raise ValueError("`observation` and `aggregate` belong to continuous scoring")
        if s != "count" and self.distinct:
            raise ValueError("`distinct` belongs to count scoring")
        if s != "proportion" and self.denominator_exceptions:
            raise ValueError("`denominator_exceptions` belong to proportion scoring")
        if s in ("count", "continuous") and (self.numerator or self.denominator):
            raise ValueError(f"{s} scoring has no numerator or denominator")
        return self


class Example(Strict):
    """A worked example: a few rows and the verdicts they must give (`specrules test`)."""

    name: str
    data: dict[Identifier, list[dict[str, object]]]
    period: str | None = None
    expect: dict[Identifier, str]


class Spec(Strict):
    """A whole service specification."""

    specrules: Literal[1] = Field(description="The spec format version.")
    title: str
    commissioner: str
    provider: str | None = None
    service: str | None = None
    source_document: str
    contract: Contract
    consequences: dict[Identifier, Consequence] = {}
    datasets: dict[Identifier, Dataset]
    eligibility: list[Eligibility] = []
    response_times: list[ResponseTime] = []
    kpis: list[KPI] = []
    examples: list[Example] = []
    note: str | None = None

    @field_validator("datasets")
    @classmethod
    def _some_dataset(cls, value: dict[str, Dataset]) -> dict[str, Dataset]:
        if not value:
            raise ValueError("declare at least one dataset")
        return value

    def rules(self) -> list[Rule]:
        return [*self.eligibility, *self.response_times, *self.kpis]
