"""Named, ordered denominator exclusions and exceptions: the first that applies is the reason.

Worked by hand. Contract 2023-04-01 to 2024-03-31, one year; 8 patients, teams A (p1-p4)
and B (p5-p8):

  row  died  moved  declined  unfit  screened  → screening_rate
  p1   no    no     no        no     yes       denominator, numerator
  p2   yes   yes    no        no     no        exclusion `died` (the first that applies)
  p3   no    yes    no        no     no        exclusion `moved_away`
  p4   ?     no     yes       no     no        died unknown is not true; exception `declined`
  p5   no    no     yes       yes    no        exception `declined` (the first)
  p6   no    no     no        yes    no        exception `unfit`
  p7   no    no     yes       no     yes       met the numerator: an exception does not apply
  p8   no    no     no        no     no        denominator, fails

screening_rate: denominator p1, p7, p8 = 3; numerator p1, p7 = 2 → 2/3;
  exclusions {died: 1, moved_away: 1}; exceptions {declined: 2, unfit: 1}
  team A: exclusions {died: 1, moved_away: 1}, exceptions {declined: 1, unfit: 0}
  team B: exclusions {died: 0, moved_away: 0}, exceptions {declined: 1, unfit: 1}
patients_on_list (count): 8 rows less p2 (died) and p3 (moved_away) = 6
"""

from __future__ import annotations

import json
import textwrap

import pandas as pd
import pytest

import specrules
from specrules import SpecError

SPEC = textwrap.dedent(
    """\
    specrules: 1
    title: Named exclusions
    commissioner: Test
    source_document: test
    contract: {start: 2023-04-01, end: 2024-03-31}
    datasets:
      patients:
        key: patient_id
        date: registered_on
        fields:
          patient_id: text
          team: {type: enumeration, values: [A, B]}
          registered_on: date
          died: boolean
          moved: boolean
          declined: boolean
          unfit: boolean
          screened: boolean
    kpis:
      - id: screening_rate
        title: Patients screened
        dataset: patients
        scoring: proportion
        numerator: screened
        denominator_exclusions:
          - died: died
          - moved_away: moved
        denominator_exceptions:
          - declined: declined
          - unfit: unfit
        breakdowns: [team]
        threshold: at least 90%
        source: {section: "t"}
      - id: patients_on_list
        title: Patients on the list
        dataset: patients
        scoring: count
        denominator_exclusions:
          - died: died
          - moved_away: moved
        monitoring_only: true
        source: {section: "t"}
    """
)

ROWS = pd.DataFrame(
    {
        "patient_id": [f"p{i}" for i in range(1, 9)],
        "team": ["A"] * 4 + ["B"] * 4,
        "registered_on": ["2023-06-01"] * 8,
        "died": ["false", "true", "false", "", "false", "false", "false", "false"],
        "moved": ["false", "true", "true", "false", "false", "false", "false", "false"],
        "declined": ["false", "false", "false", "true", "true", "false", "true", "false"],
        "unfit": ["false", "false", "false", "false", "true", "true", "false", "false"],
        "screened": ["true", "false", "false", "false", "false", "false", "true", "false"],
    }
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("exclusions")
    ROWS.to_csv(path / "patients.csv", index=False)
    return path


@pytest.fixture(scope="module", params=["pandas", "duckdb"])
def evaluation(request, folder):
    return specrules.loads(SPEC).evaluate(folder, engine=request.param)


def test_each_row_is_counted_under_the_first_reason_that_applies(evaluation) -> None:
    rate = evaluation.verdict("screening_rate")
    assert (rate.numerator, rate.denominator) == (2, 3)
    assert rate.exclusions == {"died": 1, "moved_away": 1}
    assert rate.exceptions == {"declined": 2, "unfit": 1}
    assert list(rate.exclusions) == ["died", "moved_away"]  # the spec's order
    assert rate.populations["denominator_exclusion"] == 2
    reasons = {e.reason: e.count for e in rate.excluded}
    assert reasons["denominator exclusion: died"] == 1
    assert reasons["denominator exception: declined"] == 2


def test_groups_count_every_name_even_when_none_apply(evaluation) -> None:
    groups = {g.group["team"]: g for g in evaluation.verdict("screening_rate").groups}
    assert groups["A"].exclusions == {"died": 1, "moved_away": 1}
    assert groups["A"].exceptions == {"declined": 1, "unfit": 0}
    assert groups["B"].exclusions == {"died": 0, "moved_away": 0}
    assert groups["B"].exceptions == {"declined": 1, "unfit": 1}


def test_a_count_names_its_exclusions_too(evaluation) -> None:
    count = evaluation.verdict("patients_on_list")
    assert count.value == 6
    assert count.exclusions == {"died": 1, "moved_away": 1}


def test_the_counts_are_in_the_json_and_the_frame(evaluation) -> None:
    verdict = json.loads(evaluation.to_json())["verdicts"][0]
    assert verdict["exclusions"] == {"died": 1, "moved_away": 1}
    assert verdict["exceptions"] == {"declined": 2, "unfit": 1}
    frame = evaluation.to_frame()
    row = frame[(frame.rule_id == "screening_rate") & frame.group.isna()].iloc[0]
    assert row["exclusions"] == "died 1, moved_away 1"
    assert row["exceptions"] == "declined 2, unfit 1"


def test_explain_lists_the_names_in_order() -> None:
    from specrules.authoring.explain import explain

    text = explain(specrules.loads(SPEC))
    assert text.index("died: died") < text.index("moved_away: moved")
    assert "the first that applies" in text


def test_sql_export_names_each_rows_reason() -> None:
    from specrules.engine.sql.rule_rows import spec_sql

    sql = spec_sql(specrules.loads(SPEC).plan)
    assert "exclusion_reason" in sql and "exception_reason" in sql
    assert "'moved_away'" in sql


def test_a_name_used_twice_is_a_located_error() -> None:
    text = SPEC.replace("      - moved_away: moved\n", "      - died: moved\n", 1)
    line = text.index("- died: moved")
    line_number = text[:line].count("\n") + 1
    with pytest.raises(SpecError) as caught:
        specrules.loads(text, "spec.yaml")
    message = str(caught.value)
    assert f"spec.yaml:{line_number}:" in message and "S209" in message
    assert "`died` is used twice" in message


def test_fhir_gives_a_stratum_per_reason(evaluation) -> None:
    from specrules.report.fhir import measure_report

    verdict = evaluation.verdict("screening_rate")
    report = measure_report(verdict, evaluation)
    stratifiers = {s["code"][0]["text"]: s for s in report["group"][0]["stratifier"]}
    strata = stratifiers["denominator exclusion reason"]["stratum"]
    assert [(s["value"]["text"], s["population"][0]["count"]) for s in strata] == [
        ("died", 1),
        ("moved_away", 1),
    ]
    code = strata[0]["population"][0]["code"]["coding"][0]["code"]
    assert code == "denominator-exclusion"
    exceptions = stratifiers["denominator exception reason"]["stratum"]
    assert [(s["value"]["text"], s["population"][0]["count"]) for s in exceptions] == [
        ("declined", 2),
        ("unfit", 1),
    ]
