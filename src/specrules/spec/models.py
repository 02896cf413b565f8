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

from specrules.dsl.percentiles import CENTILE_HINT, Method, centile_out_of_range
from specrules.spec.confined import path_problem

FORMAT_VERSION = 1

Expression = Annotated[str, Field(min_length=1, max_length=4000)]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
# A rule's id as the source document writes it (`C1_mean`): upper case allowed. Two ids may
# not differ only in case (the compiler checks), so file names and FHIR ids stay distinct.
RuleId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=64)]


DEFAULT_TIMEZONE = "Europe/London"


def check_timezone(value: str | None) -> str | None:
    """An IANA time zone name, or a ValueError suggesting the nearest one."""
    if value is None:
        return value
    import zoneinfo

    zones = zoneinfo.available_timezones()
    if value in zones:
        return value
    from specrules.errors import did_you_mean

    lowered = {z.lower(): z for z in zones}
    hint = (
        f"did you mean `{lowered[value.lower()]}`?"
        if value.lower() in lowered
        else did_you_mean(value, sorted(zones))
    )
    raise ValueError(
        f"unknown time zone {value!r}: write an IANA name such as Europe/London"
        + (f" ({hint})" if hint else "")
    )


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# ------------------------------------------------------------------ provenance
class Source(Strict):
    """Where a rule comes from in the source document."""

    section: str = Field(
        description="Section, appendix or table row of the source document.",
        examples=["Appendix C, Access: Client Appointments", "3.4 item 2"],
    )
    quote: str | None = Field(
        default=None,
        description="A short verbatim quote of the requirement.",
        examples=["Appointments ... should be provided within one week."],
    )
    line: int | None = Field(
        default=None, ge=1, description="Line in the source text, if known.", examples=[1190]
    )


# ------------------------------------------------------------------ contract
class Extension(Strict):
    """An option to extend the contract."""

    until: dt.date = Field(
        description="The date the contract would end if this option is taken.",
        examples=["2023-06-30"],
    )
    note: str | None = Field(
        default=None,
        description="Anything worth knowing about this option.",
        examples=["first optional one-year extension (FOI Answer 4)"],
    )


class Budget(Strict):
    """A sum of money the contract states (an indicative budget, a cap, a value)."""

    name: str = Field(description="What the sum is.", examples=["Lot 3 indicative budget"])
    amount: float = Field(ge=0, allow_inf_nan=False, description="Pounds.", examples=[510000])
    per: Literal["year", "contract", "month", "quarter"] = Field(
        default="year",
        description="The period the amount is for.",
        examples=["year", "contract"],
    )
    note: str | None = Field(
        default=None,
        description="Where the figure comes from, or how firm it is.",
        examples=["FOI Answer 3: indicative, not stated as a cap"],
    )


class Reporting(Strict):
    """How often the provider is monitored, reports and is reviewed."""

    monitoring: Literal["weekly", "monthly", "quarterly", "annually"] | None = Field(
        default=None, description="How often activity is monitored.", examples=["monthly"]
    )
    report: Literal["monthly", "quarterly", "six-monthly", "annually"] | None = Field(
        default=None,
        description="How often the provider sends a report.",
        examples=["quarterly"],
    )
    review: Literal["quarterly", "six-monthly", "annually"] | None = Field(
        default=None, description="How often the contract is reviewed.", examples=["annually"]
    )
    note: str | None = Field(
        default=None,
        description="To whom and how reports go.",
        examples=["Quarterly reports to Healthier Wigan Partnership via Wigan Borough CCG"],
    )


class Contract(Strict):
    """The contract's term, periods, reporting and money."""

    start: dt.date = Field(
        description="The first day of the contract (YYYY-MM-DD).", examples=["2019-07-01"]
    )
    end: dt.date = Field(
        description="The last day of the contract before any extension.",
        examples=["2022-06-30"],
    )
    extensions: list[Extension] = Field(
        default=[],
        description="Options to extend the contract, in order.",
        examples=[[{"until": "2023-06-30"}, {"until": "2024-06-30"}]],
    )
    year_start: str | None = Field(
        default=None,
        pattern=r"^\d{2}-\d{2}$",
        description="MM-DD on which contract years begin; defaults to the start date's.",
        examples=["07-01", "04-01"],
    )
    periods: Literal["contract_year", "financial_year"] = Field(
        default="contract_year",
        description="Years, quarters and months run from the contract start (contract_year) "
        "or from 1 April (financial_year).",
        examples=["contract_year", "financial_year"],
    )
    reporting: Reporting | None = Field(
        default=None,
        description="How often the provider is monitored, reports and is reviewed.",
        examples=[{"monitoring": "monthly", "report": "quarterly", "review": "annually"}],
    )
    budgets: list[Budget] = Field(
        default=[],
        description="Sums of money the contract states.",
        examples=[[{"name": "Lot 3 indicative budget", "amount": 510000, "per": "year"}]],
    )
    note: str | None = Field(
        default=None,
        description="Anything else about the contract.",
        examples=["Lot 3 was later internalised (FOI Answer 7)."],
    )

    @model_validator(mode="after")
    def _order(self) -> Contract:
        if self.end < self.start:
            raise ValueError("the contract ends before it starts")
        return self


# ------------------------------------------------------------------ datasets
FieldTypeName = Literal["text", "integer", "number", "boolean", "date", "datetime", "enumeration"]


class FieldSpec(Strict):
    """A field written out in full: its type, allowed values, whether it may be missing."""

    type: FieldTypeName = Field(
        description="The kind of value.", examples=["enumeration", "date", "boolean"]
    )
    values: list[str] | None = Field(
        default=None,
        description="The allowed values of an enumeration.",
        examples=[["face to face", "telephone"]],
    )
    nullable: bool = Field(
        default=True, description="Whether the value may be missing.", examples=[False]
    )
    description: str | None = Field(
        default=None,
        description="What the field holds, for the people who supply the data.",
        examples=["The date the referral reached the service."],
    )

    @field_validator("values")
    @classmethod
    def _each_value_once(cls, values: list[str] | None) -> list[str] | None:
        repeated = sorted({v for v in values or () if (values or []).count(v) > 1})
        if repeated:
            raise ValueError(
                "each value is listed once; repeated: " + ", ".join(f"`{v}`" for v in repeated)
            )
        return values

    @model_validator(mode="after")
    def _values(self) -> FieldSpec:
        if self.type == "enumeration" and not self.values:
            raise ValueError("an enumeration needs its `values`")
        if self.type != "enumeration" and self.values is not None:
            raise ValueError("only an enumeration has `values`")
        return self


class LinkSpec(Strict):
    """A many-to-one link: `field` of this dataset holds the key of `dataset`."""

    dataset: Identifier = Field(
        description="The dataset linked to (it needs a single-field key).",
        examples=["individuals"],
    )
    field: Identifier = Field(
        description="The field of this dataset that holds the other dataset's key.",
        examples=["individual_id"],
    )


class Dataset(Strict):
    """A table the provider supplies: its key, the date that places a row, its fields."""

    description: str | None = Field(
        default=None,
        description="What one row is.",
        examples=["One row per referral received."],
    )
    key: Identifier | list[Identifier] = Field(
        description="The field (or fields) that identify a row.",
        examples=["referral_id", ["referral_id", "contact_number"]],
    )
    date: Expression | None = Field(
        default=None,
        description="The date that places a row in a period (a field or an expression).",
        examples=["received_at"],
    )
    fields: dict[Identifier, FieldTypeName | FieldSpec] = Field(
        description="Each field and its type: text, integer, number, boolean, date, "
        "datetime, or an enumeration written out with its values.",
        examples=[{"referral_id": "text", "received_at": "datetime"}],
    )
    links: dict[Identifier, LinkSpec] = Field(
        default={},
        description="Named many-to-one links to other datasets, so expressions can read "
        "`link.field`.",
        examples=[{"individual": {"dataset": "individuals", "field": "individual_id"}}],
    )
    derived: dict[Identifier, Expression] = Field(
        default={},
        description="Named expressions computed for every row, in order.",
        examples=[{"age_on_referral": "age_at(individual.date_of_birth, received_at)"}],
    )
    timezone: str | None = Field(
        default=None,
        description="The time zone of this dataset's local date-times, if not the spec's "
        "(an IANA name).",
        examples=["Europe/London"],
    )

    @field_validator("timezone")
    @classmethod
    def _timezone_known(cls, value: str | None) -> str | None:
        return check_timezone(value)

    @property
    def key_fields(self) -> tuple[str, ...]:
        return (self.key,) if isinstance(self.key, str) else tuple(self.key)

    def field_spec(self, name: str) -> FieldSpec:
        value = self.fields[name]
        return FieldSpec(type=value) if isinstance(value, str) else value


# ------------------------------------------------------------------ rules
class Consequence(Strict):
    """What a breach triggers: the consequence of breach column of the contract's table."""

    text: str = Field(
        description="The consequence as the contract words it.",
        examples=["The provider shall provide an exception report to the commissioner"],
    )
    kind: Literal[
        "exception_report",
        "remedial_action_plan",
        "passed_back_to_referrer",
        "financial_sanction",
        "contract_review",
        "other",
    ] = Field(
        default="exception_report",
        description="The kind of consequence.",
        examples=["exception_report", "remedial_action_plan"],
    )
    deadline: str | None = Field(
        default=None,
        description="When the consequence is due, counted from the end of the breached "
        "period: `within` a duration in calendar days, working days, weeks, months, hours…",
        examples=["within 20 working days", "within 1 month", "within 48 hours"],
    )
    template: str | None = Field(
        default=None,
        description=(
            "A jinja2 template file for this consequence's report, relative to the spec's "
            "folder (or to `--template-dir`) and inside it; it renders in jinja2's sandbox."
        ),
        examples=["templates/exception_report.md.j2"],
    )

    @field_validator("template")
    @classmethod
    def _template_inside_spec_folder(cls, value: str | None) -> str | None:
        # A spec must never read files outside its own folder: the report would show them.
        problem = None if value is None else path_problem(value)
        if problem:
            raise ValueError(
                f"template {value!r} {problem}; write a path relative to the spec's folder and "
                "inside it, such as templates/exception_report.md.j2, or pass --template-dir"
            )
        return value


PeriodName = Literal["year", "quarter", "month", "contract"]


class DatedThreshold(Strict):
    """One value of a threshold that changes over time, in force from one date to another."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, populate_by_name=True
    )

    from_: dt.date = Field(
        alias="from",
        description="The first day this value is in force (YYYY-MM-DD).",
        examples=["2023-04-01"],
    )
    until: dt.date | None = Field(
        default=None,
        description="The last day it is in force; left out on the last value, it stays in force.",
        examples=["2024-03-31"],
    )
    value: str = Field(
        description="The threshold in force over those days.", examples=["at least 75%"]
    )

    def __str__(self) -> str:
        until = f" until {self.until}" if self.until else ""
        return f"{self.value} from {self.from_}{until}"


# A threshold: one for the whole contract, or values in force from dates (a schedule).
ThresholdValue = str | Annotated[list[DatedThreshold], Field(min_length=1)]


def threshold_words(value: ThresholdValue | None) -> str | None:
    """A threshold as text: itself, or a schedule's values joined by `; `."""
    if value is None or isinstance(value, str):
        return value
    return "; ".join(str(entry) for entry in value)


class Rule(Strict):
    """What every rule has: an id, a title, a source, a dataset, a consequence of breach."""

    id: RuleId = Field(
        description="A unique name: letters, digits and _, starting with a letter; as the "
        "source writes it (`C1_mean`).",
        examples=["appointment_within_one_week", "C1_mean"],
    )
    title: str = Field(
        description="The indicator, in the words of the contract.",
        examples=["Appointment within one week of referral"],
    )
    source: Source = Field(
        description="Where the rule comes from in the source document.",
        examples=[{"section": "3.2 Service description/care pathway", "line": 1190}],
    )
    dataset: Identifier = Field(
        description="The dataset whose rows the rule is checked on.", examples=["referrals"]
    )
    consequence: Identifier | None = Field(
        default=None,
        description="The name of an entry under `consequences`: what a breach triggers.",
        examples=["exception_report"],
    )
    note: str | None = Field(
        default=None,
        description="How an ambiguity in the source was read, and why.",
        examples=['"Within one week" read as 7 calendar days.'],
    )
    period: PeriodName | None = Field(
        default=None,
        description="The period each verdict covers; defaults to the threshold's `per`, else year.",
        examples=["quarter", "contract"],
    )
    date: Expression | None = Field(
        default=None,
        description="Overrides the dataset's `date` for this rule.",
        examples=["first_appointment_on"],
    )
    snapshot: bool = Field(
        default=False,
        description="Judge the rule as at the end of each period (month, quarter or year) the "
        "data covers: every row is considered at each period end, and the rule's expressions "
        "may use `period_end` and `period_start`.",
        examples=[True],
    )
    breakdowns: list[Identifier] = Field(
        default=[],
        description="Fields to break the figures down by (each group gets its own figure).",
        examples=[["referral_source"], ["gp_practice_code"]],
    )
    group_thresholds: dict[str, str] = Field(
        default={},
        description="A threshold for each group of the (single) breakdown, e.g. a target per "
        "locality; validate checks that they add up to the overall threshold.",
        examples=[{"Wigan": "at least 1800 per year", "Leigh": "at least 1700 per year"}],
    )
    per_group: bool = Field(
        default=False,
        description="Whether the threshold applies to each breakdown group too (otherwise "
        "groups get figures only).",
        examples=[True],
    )
    amber: str | None = Field(
        default=None,
        pattern=r"^\d+(\.\d+)?%$",
        description="Within this percentage of the target is amber rather than red.",
        examples=["5%"],
    )


OnFail = Literal[
    "not_accepted", "passed_back_to_referrer", "clinician_confirmation", "signposted", "other"
]


class Eligibility(Rule):
    """An acceptance or exclusion criterion, checked on every row it applies to."""

    applies_to: Expression | None = Field(
        default=None,
        description="Which rows the criterion is checked on (default: all).",
        examples=["accepted"],
    )
    accept: Expression | None = Field(
        default=None, description="Must be true to accept.", examples=["age_on_referral >= 18"]
    )
    exclude: Expression | None = Field(
        default=None,
        description="If true, the row is excluded.",
        examples=["moved_out_of_area"],
    )
    decision: Expression | None = Field(
        default=None,
        description="True when the provider took the row on, if the data records it: the "
        "verdict then judges the decision (an ineligible row taken on, or an eligible one "
        "turned away, fails). Without it the criterion is reported (monitoring), not judged.",
        examples=["accepted"],
    )
    on_fail: OnFail = Field(
        default="not_accepted",
        description="What happens to a row that fails the criterion.",
        examples=["not_accepted", "passed_back_to_referrer"],
    )
    target: ThresholdValue = Field(
        default="100%",
        description="With `decision`: the share of decisions that must agree with the "
        "criteria (or a list of values in force from dates).",
        examples=["100%", [{"from": "2023-04-01", "value": "100%"}]],
    )

    @model_validator(mode="after")
    def _one_criterion(self) -> Eligibility:
        if (self.accept is None) == (self.exclude is None):
            raise ValueError("write exactly one of `accept` or `exclude`")
        return self


Clock = Literal["calendar_days", "working_days", "hours", "minutes", "seconds"]
# Clocks that run from the start's date and time (the others count whole days).
TIMED_CLOCKS = ("hours", "minutes", "seconds")


class ResponseTime(Rule):
    """A clock from a start event to an end event, a limit, and the share that must meet it."""

    applies_to: Expression | None = Field(
        default=None,
        description="Which rows the standard applies to (default: all).",
        examples=['setting in ["primary care", "community care", "sdf huddle"]'],
    )
    start: Expression = Field(
        description="When the clock starts (a date or date-time).", examples=["received_at"]
    )
    end: Expression = Field(
        description="When it stops; missing means the standard was not met.",
        examples=["first_appointment_on"],
    )
    limit: Expression = Field(
        description="A duration, possibly depending on the row: "
        '`if service = "stop smoking" then 1 week else 2 weeks`.',
        examples=["1 week", "24 hours", "10 working days"],
    )
    clock: Clock = Field(
        default="calendar_days",
        description="How the clock counts: calendar days, working days (England and Wales "
        "bank holidays), or hours, minutes or seconds from the start's date and time.",
        examples=["calendar_days", "hours", "minutes"],
    )
    target: ThresholdValue = Field(
        default="100%",
        description="The share of rows that must meet the limit (or a list of values in force "
        "from dates).",
        examples=["100%", "95%"],
    )


# One condition, or an ordered list of named conditions (`- died: died_on is not missing`):
# the first that applies to a row is its reason.
NamedCondition = Annotated[dict[Identifier, Expression], Field(min_length=1, max_length=1)]
Conditions = Expression | Annotated[list[NamedCondition], Field(min_length=1)]


def condition_words(value: Conditions | None) -> str | None:
    """Conditions as text: one as written, a list as `name: condition; …`."""
    if value is None or isinstance(value, str):
        return value
    return "; ".join(f"{name}: {text}" for item in value for name, text in item.items())


Scoring = Literal["proportion", "count", "ratio", "continuous"]
AggregateName = Literal["mean", "median", "percentile", "sum", "min", "max", "count"]
PercentileMethod = Method  # the two methods dsl/percentiles.py computes


class KPI(Rule):
    """A key performance indicator: populations, a measure and a threshold (HL7 FHIR Measure)."""

    scoring: Scoring = Field(
        description="proportion (a share), count, ratio (of two aggregates) or continuous "
        "(a mean, median, sum, min, max or count of a per-row observation).",
        examples=["proportion", "count"],
    )
    initial_population: Expression | None = Field(
        default=None,
        description="The rows considered at all (default: all rows of the dataset).",
        examples=["accepted"],
    )
    denominator: Expression | None = Field(
        default=None,
        description="For a proportion: the rows counted below the line (default: the "
        "initial population); for a ratio: an aggregate.",
        examples=["first_contact"],
    )
    denominator_exclusions: Conditions | None = Field(
        default=None,
        description="Rows taken out of the denominator whatever happened to them: a condition, "
        "or an ordered list of named conditions (the first that applies is the reason).",
        examples=["moved_out_of_area", [{"died": "died_on is not missing"}, {"moved": "moved"}]],
    )
    denominator_exceptions: Conditions | None = Field(
        default=None,
        description="Rows taken out of the denominator only when they do not meet the "
        "numerator (for instance those who declined): a condition, or an ordered list of "
        "named conditions.",
        examples=["declined", [{"declined": "declined"}, {"unfit": "clinically_unfit"}]],
    )
    numerator: Expression | None = Field(
        default=None,
        description="For a proportion: the denominator rows that meet the measure; for a "
        "ratio: an aggregate.",
        examples=["attended = false"],
    )
    observation: Expression | None = Field(
        default=None,
        description="For continuous scoring: the value measured on each row.",
        examples=["minutes_spent"],
    )
    aggregate: AggregateName | None = Field(
        default=None,
        description="For continuous scoring: how the observations are summed up.",
        examples=["median", "mean", "percentile"],
    )
    percentile: float | None = Field(
        default=None,
        description="With `aggregate: percentile`: the centile, 0 to 100 (90 for the 90th).",
        examples=[90],
        json_schema_extra={"minimum": 0, "maximum": 100},
    )
    percentile_method: PercentileMethod | None = Field(
        default=None,
        description="With `aggregate: percentile`: `linear` interpolation between the two "
        "nearest values (the default; numpy, Excel PERCENTILE.INC, R type 7) or "
        "`nearest_rank` (the smallest value with at least that share of values at or below it).",
        examples=["linear", "nearest_rank"],
    )
    distinct: Identifier | None = Field(
        default=None,
        description="For count scoring: count different values of this field.",
        examples=["individual_id"],
    )
    threshold: ThresholdValue | None = Field(
        default=None,
        description="How the figure is judged; absent means monitoring only. A list of "
        "`{from, until, value}` gives values in force from dates.",
        examples=[
            "at least 60%",
            "at least 3600 per year",
            [
                {"from": "2023-04-01", "until": "2024-03-31", "value": "at least 75%"},
                {"from": "2024-04-01", "value": "at least 77%"},
            ],
        ],
    )
    monitoring_only: bool = Field(
        default=False,
        description="Report the figure (and the threshold, for information) without judging it.",
        examples=[True],
    )
    judged: Literal["pro_rata", "period_end"] = Field(
        default="pro_rata",
        description="A target per year checked part-way through: against its pro-rata share, "
        "or `not due` until the period ends.",
        examples=["pro_rata", "period_end"],
    )

    @field_validator("percentile")
    @classmethod
    def _centile(cls, value: float | None) -> float | None:
        problem = None if value is None else centile_out_of_range(value)
        if problem:
            raise ValueError(f"{problem}; {CENTILE_HINT}")
        return value

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


def figure_text(figure: float | int | str) -> str:
    """An expected figure as shown back: 3 (not 3.0), 75%, 12.5 minutes."""
    return f"{figure:g}" if isinstance(figure, float) else str(figure)


def figure_amount_text(value: str | float | int) -> str:
    """An expected figure as a threshold's amount is written (`75%`, `3.7`, `12 minutes`)."""
    return value if isinstance(value, str) else repr(value)


def expectation_text(expected: str | Expected) -> str:
    """What an example expects of a rule, as one line: `not met` or `met, numerator 3`."""
    return expected if isinstance(expected, str) else expected.text


class Expected(Strict):
    """What a rule must give in a worked example: its status and figures (any of them)."""

    status: str | None = Field(
        default=None,
        description="The verdict: met, not met, monitoring, no data or not due.",
        examples=["met"],
    )
    numerator: float | None = Field(
        default=None, description="The numerator (rows counted above the line).", examples=[3]
    )
    denominator: float | None = Field(
        default=None, description="The denominator (rows counted below it).", examples=[4]
    )
    value: str | int | float | None = Field(
        default=None,
        description="The figure as written: a percentage (75%), a number (3.7) or a length "
        "of time (12.5 minutes); it matches a figure that rounds to it.",
        examples=["75%", 3.7, "12.5 minutes"],
    )

    def figures(self) -> dict[str, float | int | str]:
        """The figures asserted, by name, in the order they are written in results."""
        wanted = {"numerator": self.numerator, "denominator": self.denominator}
        wanted["value"] = self.value
        return {name: figure for name, figure in wanted.items() if figure is not None}

    @property
    def text(self) -> str:
        """`met, numerator 3, denominator 4, value 75%`."""
        parts = [self.status] if self.status else []
        parts += [f"{name} {figure_text(f)}" for name, f in self.figures().items()]
        return ", ".join(parts)


class Example(Strict):
    """A worked example: a few rows and the verdicts they must give (`specrules test`)."""

    name: str = Field(
        description="What the example shows.",
        examples=["an appointment on the 8th day is late"],
    )
    data: dict[Identifier, list[dict[str, object]]] = Field(
        description="Rows by dataset name; a field left out of a row is missing.",
        examples=[{"referrals": [{"referral_id": "r1", "received_at": "2020-01-06T09:00"}]}],
    )
    period: str | None = Field(
        default=None,
        description="The period to evaluate (default: every period the rows cover).",
        examples=["2019/20", "2019/20-Q3"],
    )
    expect: dict[RuleId, str | Expected] = Field(
        description="What each named rule must give: its verdict (met, not met, monitoring, "
        "no data or not due), or its verdict and figures "
        "(`{status: met, numerator: 3, denominator: 4, value: 75%}`, any of them).",
        examples=[
            {"appointment_within_one_week": "not met"},
            {"appointment_within_one_week": {"status": "met", "numerator": 3, "value": "75%"}},
        ],
    )

    @field_validator("expect", mode="before")
    @classmethod
    def _something_expected(cls, value: object) -> object:
        for rule_id, expected in value.items() if isinstance(value, dict) else ():
            if expected is None or expected == {}:
                raise ValueError(
                    f"say what `{rule_id}` must give: a status (met), or some of status, "
                    "numerator, denominator and value"
                )
        return value


class Spec(Strict):
    """A whole service specification."""

    specrules: Literal[1] = Field(description="The spec format version.", examples=[1])
    title: str = Field(
        description="The spec's title.", examples=["Wigan Lot 3 — Community Link Workers"]
    )
    commissioner: str = Field(
        description="Who commissions the service.",
        examples=["Wigan Borough CCG and Wigan Council"],
    )
    provider: str | None = Field(
        default=None, description="Who provides it, if known.", examples=["Provider Ltd"]
    )
    service: str | None = Field(
        default=None, description="The service's name.", examples=["Community Link Workers"]
    )
    source_document: str = Field(
        description="The document the rules come from.",
        examples=["Appendix A, Service Specification Lot 3"],
    )
    contract: Contract = Field(
        description="The contract's term, periods, reporting and money.",
        examples=[{"start": "2019-07-01", "end": "2022-06-30"}],
    )
    timezone: str = Field(
        default=DEFAULT_TIMEZONE,
        description="The time zone of local date-times in the data (an IANA name): a value "
        "with no UTC offset is local time there, and a row's period is its local date.",
        examples=["Europe/London"],
    )

    @field_validator("timezone")
    @classmethod
    def _timezone_known(cls, value: str) -> str:
        return check_timezone(value) or value

    consequences: dict[Identifier, Consequence] = Field(
        default={},
        description="What breaches trigger, by name; rules refer to them by that name.",
        examples=[{"exception_report": {"text": "Exception report to the commissioner"}}],
    )
    datasets: dict[Identifier, Dataset] = Field(
        description="The minimum data set: the tables the provider supplies, by name.",
        examples=[{"referrals": {"key": "referral_id", "fields": {"referral_id": "text"}}}],
    )
    eligibility: list[Eligibility] = Field(
        default=[],
        description="Acceptance and exclusion criteria.",
        examples=[
            [
                {
                    "id": "aged_18_or_over",
                    "title": "Individuals aged 18 or over",
                    "dataset": "referrals",
                    "accept": "age_on_referral >= 18",
                    "source": {"section": "3.4 item 2"},
                }
            ]
        ],
    )
    response_times: list[ResponseTime] = Field(
        default=[],
        description="Response-time standards.",
        examples=[
            [
                {
                    "id": "appointment_within_one_week",
                    "title": "Appointment within one week",
                    "dataset": "referrals",
                    "start": "received_at",
                    "end": "first_appointment_on",
                    "limit": "1 week",
                    "source": {"section": "3.2"},
                }
            ]
        ],
    )
    kpis: list[KPI] = Field(
        default=[],
        description="Key performance indicators.",
        examples=[
            [
                {
                    "id": "new_referrals",
                    "title": "New referrals received",
                    "dataset": "referrals",
                    "scoring": "count",
                    "monitoring_only": True,
                    "source": {"section": "2.4"},
                }
            ]
        ],
    )
    examples: list[Example] = Field(
        default=[],
        description="Worked examples: a few rows and the verdicts they must give "
        "(`specrules test`).",
        examples=[
            [
                {
                    "name": "no rows, no verdict",
                    "data": {"referrals": []},
                    "expect": {"new_referrals": "no data"},
                }
            ]
        ],
    )
    note: str | None = Field(
        default=None,
        description="Anything else a reader should know.",
        examples=["The document has no KPI table (5.1: N/A)."],
    )

    @field_validator("datasets")
    @classmethod
    def _some_dataset(cls, value: dict[str, Dataset]) -> dict[str, Dataset]:
        if not value:
            raise ValueError("declare at least one dataset")
        return value

    def rules(self) -> list[Rule]:
        return [*self.eligibility, *self.response_times, *self.kpis]
