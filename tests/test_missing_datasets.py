"""A dataset not supplied gives `no data`, never a crash, on every engine (issue 19).

The rule below reads `measurements` only through derived fields of `programmes` (one of them
built on two others), which is how wigan_lot2's `weight_and_outcome_measures` crashed with
`boolean value of NA is ambiguous` when only `programmes` rows were given.
"""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

import specrules
from specrules.cli import main

SPEC = textwrap.dedent(
    """\
    specrules: 1
    title: Missing datasets
    commissioner: Test
    source_document: test
    contract: {start: 2020-04-01, end: 2021-03-31, periods: financial_year}
    consequences:
      report: {text: An exception report}
    datasets:
      programmes:
        key: programme_id
        date: started_on
        fields: {programme_id: text, started_on: date, sessions: integer}
        derived:
          baseline: min(measurements.weight_kg where measurements.timepoint = "baseline")
          final: min(measurements.weight_kg where measurements.timepoint = "final")
          kept_weight: final <= baseline
      measurements:
        key: measurement_id
        fields: {measurement_id: text, programme_id: text, timepoint: text, weight_kg: number}
        links:
          programme: {dataset: programmes, field: programme_id}
    kpis:
      - id: kept_weight_share
        title: Programmes ending at or below their starting weight
        dataset: programmes
        scoring: proportion
        numerator: kept_weight and sessions >= 1
        threshold: at least 50%
        consequence: report
        source: {section: test}
      - id: kept_weight_per_programme
        title: Programmes at or below their starting weight, per programme
        dataset: programmes
        scoring: ratio
        numerator: count(programmes where programmes.kept_weight)
        denominator: count(programmes)
        consequence: report
        source: {section: test}
      - id: programmes_started
        title: Programmes started
        dataset: programmes
        scoring: count
        threshold: at least 1
        consequence: report
        source: {section: test}
    examples:
      - name: programmes without their measurements
        data:
          programmes:
            - {programme_id: P1, started_on: 2020-05-01, sessions: 3}
        expect:
          kept_weight_share: no data
          programmes_started: met
    """
)

PROGRAMMES = pd.DataFrame(
    {
        "programme_id": ["P1", "P2"],
        "started_on": ["2020-05-01", "2020-06-01"],
        "sessions": ["3", "4"],
    }
)
MEASUREMENTS = pd.DataFrame(
    {
        "measurement_id": ["M1", "M2", "M3", "M4"],
        "programme_id": ["P1", "P1", "P2", "P2"],
        "timepoint": ["baseline", "final", "baseline", "final"],
        "weight_kg": ["100", "95", "80", "82"],
    }
)
YEAR = "2020/21"


@pytest.fixture
def spec(tmp_path) -> specrules.Spec:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    return specrules.load(path)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_rule_reading_an_absent_dataset_through_derived_fields_has_no_data(
    spec, tmp_path, engine
):
    folder = tmp_path / "data"
    folder.mkdir()
    PROGRAMMES.to_csv(folder / "programmes.csv", index=False)
    evaluation = spec.evaluate(str(folder), period=YEAR, engine=engine)
    for rule in ("kept_weight_share", "kept_weight_per_programme"):  # a ratio too
        kept = evaluation.verdict(rule, YEAR)
        assert kept.status == "no data", rule
        assert kept.reason == "dataset `measurements`: no data supplied for this dataset"
    # the rule over programmes alone still counts them: P1 and P2 started in 2020/21
    started = evaluation.verdict("programmes_started", YEAR)
    assert (started.status, started.value) == ("met", 2)


def test_with_the_dataset_supplied_the_same_rule_is_judged(spec):
    frames = {"programmes": PROGRAMMES, "measurements": MEASUREMENTS}
    evaluation = spec.evaluate(frames, period=YEAR)
    kept = evaluation.verdict("kept_weight_share", YEAR)
    # P1: 95 <= 100 kept; P2: 82 > 80 not kept: 1 of 2 = 50%, at least 50%: met
    assert (kept.status, kept.numerator, kept.denominator) == ("met", 1, 2)
    ratio = evaluation.verdict("kept_weight_per_programme", YEAR)
    assert (ratio.status, ratio.value) == ("monitoring", 0.5)  # 1 kept ÷ 2 programmes


def test_spec_test_with_rows_for_one_dataset_passes(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC)
    assert main(["test", str(path)]) == 0
