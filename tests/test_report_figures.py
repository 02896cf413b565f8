"""The one figure formatter and the one count every renderer uses (specrules.report)."""

from __future__ import annotations

import datetime as dt

import pytest

from specrules.report.figures import display_unit, format_gap, format_value
from specrules.report.summary import summarise
from specrules.report.words import reason_in_words
from specrules.results import Evaluation, Provenance, SourceRef, Verdict


def verdict(**fields: object) -> Verdict:
    base = dict(
        rule_id="r",
        kind="kpi",
        title="A rule",
        period="2019/20",
        period_start=dt.date(2019, 4, 1),
        period_end=dt.date(2020, 3, 31),
        status="met",
        scoring="proportion",
        unit="share",
        source=SourceRef(section="1"),
    )
    return Verdict(**{**base, **fields})


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0.149, "percent", "14.9%"),
        (710000, "money", "£710,000"),
        (1250.5, "money", "£1,250.50"),
        (3600, "count", "3,600"),
        (3.5, "days", "3.5 days"),
        (1, "days", "1 day"),
        (45, "minutes", "45 minutes"),
        (None, "count", "-"),
    ],
)
def test_figures_in_their_unit(value: float | None, unit: str, shown: str) -> None:
    assert format_value(value, unit) == shown


def test_gaps_in_their_unit() -> None:
    assert format_gap(-0.25, "percent") == "-25.0 percentage points"
    assert format_gap(-0.25, "percent", short=True) == "-25.0 pp"
    assert format_gap(-300, "money") == "-£300"
    assert format_gap(-3595, "count") == "-3,595"
    assert format_gap(2.5, "days") == "+2.5 days"


def test_the_threshold_decides_the_unit_a_ratio_or_level_is_shown_in() -> None:
    assert display_unit(verdict(unit="ratio", threshold="at least 60%")) == "percent"
    reduction = "reduction of at least 1 percentage point per year from 15.6%"
    assert display_unit(verdict(unit="number", threshold=reduction)) == "percent"
    assert display_unit(verdict(unit="number", threshold="at most £710000")) == "money"
    assert display_unit(verdict(unit="number", threshold="at most 2.5")) == "number"
    assert display_unit(verdict(unit="count", threshold="at least 3600 per year")) == "count"


def test_one_count_of_verdict_lines() -> None:
    # a rule overall (not met) with two groups (met, not met), and a monitoring rule:
    # 4 lines of 2 rules
    grouped = verdict(
        status="not met",
        groups=[
            verdict(status="met", group={"area": "North"}),
            verdict(status="not met", group={"area": "South"}),
        ],
    )
    evaluation = Evaluation(
        spec_title="t",
        provenance=Provenance(
            library_version="0",
            spec_sha256="0",
            period="all",
            evaluated_at=dt.datetime(2020, 1, 1),
        ),
        verdicts=[grouped, verdict(rule_id="m", status="monitoring")],
    )
    summary = summarise(evaluation)
    assert summary.counts == {"not met": 2, "met": 1, "monitoring": 1}
    assert summary.headline() == (
        "2 not met, 1 met, 1 monitoring (4 verdicts of 2 rules; "
        "verdicts: one per rule, period and breakdown group)"
    )
    assert [line.label for line in summary.of("not met")] == ["r", "r [area=South]"]
    assert "2 not met, 1 met, 1 monitoring (4 verdicts" in repr(evaluation)


def test_reasons_read_in_words() -> None:
    assert reason_in_words("does not meet `weight_loss_pct > 5%`") == (
        "does not meet “weight loss pct is more than 5%”"
    )
    assert reason_in_words("fails `age >= 16 or (age >= 12 and consent)` → not accepted") == (
        "fails “age is at least 16 or (age is at least 12 and consent)” → not accepted"
    )
    assert reason_in_words("late: 10 days after the start; limit 7 days") == (
        "late: 10 days after the start; limit 7 days"
    )
    assert reason_in_words("odd `not ( valid`") == "odd `not ( valid`"  # left as it is
