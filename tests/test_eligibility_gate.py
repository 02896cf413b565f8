"""Eligibility that gates the standards: `eligible` in any rule, and `decision` judged.

Worked by hand. One year (2023/24); criteria on `referrals`:
  adult    accept: age >= 18              decision: accepted  (judged)
  in_area  exclude: area = "out"           decision: accepted  (judged)
  has_gp   accept: gp_code is not missing  no decision         (monitoring: counts only)

  r   age  area  gp  accepted  seen   eligible (passes all three)
  r1  30   in    G1  true      true   yes
  r2  16   in    G1  true      false  no (not adult)
  r3  40   out   G2  false     false  no (out of area)
  r4  50   in    -   true      true   no (no GP)
  r5  25   in    G3  false     false  yes
  r6  -    in    G4  true      true   no (age unknown: a criterion that cannot be told is not met)
  r7  20   in    G5  -         false  yes

adult: r2 fails age, taken on; r5 eligible, turned away; r6 cannot tell, taken on; r7 no
  decision recorded → 4 fail, r1 r3 r4 agree → 3/7, not met (target 100%)
in_area: r5 turned away; r7 no decision → 5/7, not met (r2, r6: pass the area, taken on
  though not eligible elsewhere: not this criterion's failure)
has_gp: passes r1 r2 r3 r5 r6 r7 → 6/7, monitoring (no decision: never a breach)
not_eligible (every criterion's verdict): r2 r3 r4 r6 → 4
seen_rate (initial_population: eligible): r1 r5 r7 → numerator r1 → 1/3
"""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

import specrules
from specrules import SpecError

SPEC = textwrap.dedent(
    """\
    specrules: 1
    title: Eligibility gate
    commissioner: Test
    source_document: test
    contract: {start: 2023-04-01, end: 2024-03-31}
    datasets:
      referrals:
        key: referral_id
        date: received_on
        fields:
          referral_id: text
          received_on: date
          age: integer
          area: {type: enumeration, values: [in, out]}
          gp_code: text
          accepted: boolean
          seen: boolean
      contacts:
        key: contact_id
        date: contact_on
        fields:
          contact_id: text
          contact_on: date
    eligibility:
      - id: adult
        title: Aged 18 or over
        dataset: referrals
        accept: age >= 18
        decision: accepted
        source: {section: "t"}
      - id: in_area
        title: Lives in the area
        dataset: referrals
        exclude: area = "out"
        decision: accepted
        source: {section: "t"}
      - id: has_gp
        title: Registered with a GP
        dataset: referrals
        accept: gp_code is not missing
        source: {section: "t"}
    kpis:
      - id: seen_rate
        title: Eligible referrals seen
        dataset: referrals
        scoring: proportion
        initial_population: eligible
        numerator: seen
        monitoring_only: true
        source: {section: "t"}
    """
)

ROWS = pd.DataFrame(
    {
        "referral_id": [f"r{i}" for i in range(1, 8)],
        "received_on": ["2023-06-01"] * 7,
        "age": ["30", "16", "40", "50", "25", "", "20"],
        "area": ["in", "in", "out", "in", "in", "in", "in"],
        "gp_code": ["G1", "G1", "G2", "", "G3", "G4", "G5"],
        "accepted": ["true", "true", "false", "true", "false", "true", ""],
        "seen": ["true", "false", "false", "true", "false", "true", "false"],
    }
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("eligibility")
    ROWS.to_csv(path / "referrals.csv", index=False)
    pd.DataFrame({"contact_id": ["c1"], "contact_on": ["2023-06-02"]}).to_csv(
        path / "contacts.csv", index=False
    )
    return path


@pytest.fixture(scope="module", params=["pandas", "duckdb"])
def evaluation(request, folder):
    return specrules.loads(SPEC).evaluate(folder, engine=request.param)


def test_a_recorded_decision_is_judged(evaluation) -> None:
    adult = evaluation.verdict("adult")
    assert (adult.numerator, adult.denominator, adult.status) == (3, 7, "not met")
    assert {r.key: r.reason for r in adult.breaches} == {
        "r2": "fails `age >= 18` → not accepted",
        "r5": "eligible on every criterion, but turned away",
        "r6": "cannot tell (missing data) → not accepted",
        "r7": "no decision recorded (missing data)",
    }
    area = evaluation.verdict("in_area")
    assert (area.numerator, area.denominator, area.status) == (5, 7, "not met")
    assert sorted(r.key for r in area.breaches) == ["r5", "r7"]


def test_without_a_decision_eligibility_is_counted_not_judged(evaluation) -> None:
    gp = evaluation.verdict("has_gp")
    assert (gp.numerator, gp.denominator) == (6, 7)
    assert gp.status == "monitoring" and gp.threshold is None
    assert [r.key for r in gp.breaches] == ["r4"]


def test_every_criterion_gives_the_combined_not_eligible_count(evaluation) -> None:
    for rule_id in ("adult", "in_area", "has_gp"):
        assert evaluation.verdict(rule_id).populations["not_eligible"] == 4


def test_a_rule_over_the_eligible_population(evaluation) -> None:
    seen = evaluation.verdict("seen_rate")
    assert (seen.numerator, seen.denominator) == (1, 3)


def _error(text: str) -> str:
    with pytest.raises(SpecError) as caught:
        specrules.loads(text, "spec.yaml")
    return str(caught.value)


def test_eligible_on_a_dataset_without_criteria_is_a_located_error() -> None:
    text = SPEC + textwrap.indent(
        textwrap.dedent(
            """\
            - id: contacts_counted
              title: Contacts
              dataset: contacts
              scoring: count
              initial_population: eligible
              monitoring_only: true
              source: {section: "t"}
            """
        ),
        "  ",
    )
    message = _error(text)
    line = text[: text.index("initial_population: eligible", text.index("contacts_counted"))]
    assert f"spec.yaml:{line.count(chr(10)) + 1}:" in message and "E202" in message
    assert "`eligible` needs eligibility criteria on dataset `contacts`" in message


def test_eligible_inside_a_criterion_is_refused() -> None:
    text = SPEC.replace("accept: gp_code is not missing", "accept: eligible", 1)
    message = _error(text)
    assert "cannot be used in an eligibility criterion" in message


def test_a_target_without_a_decision_is_warned_about() -> None:
    text = SPEC.replace(
        "accept: gp_code is not missing\n", "accept: gp_code is not missing\n    target: 95%\n", 1
    )
    spec = specrules.loads(text, "spec.yaml")
    (warning,) = [w for w in spec.warnings if w.code == "W308"]
    line = text[: text.index("target: 95%")].count("\n") + 1
    assert (warning.line, warning.severity) == (line, "warning")
    assert "no `decision`" in warning.message
