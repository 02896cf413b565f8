"""Worked examples that assert figures: `expect: {rule: {status, numerator, denominator, value}}`.

The rows below are few enough to count by hand; every expected figure is worked in a comment.
"""

from __future__ import annotations

import textwrap

import pytest

import specrules
from specrules import SpecError
from specrules.authoring.spec_tests import format_results, run_spec

SPEC = textwrap.dedent(
    """\
    specrules: 1
    title: Figures in examples
    commissioner: Test ICB
    source_document: tests/test_examples_figures.py
    contract: {start: 2024-04-01, end: 2025-03-31}
    datasets:
      referrals:
        key: referral_id
        date: received_on
        fields: {referral_id: text, received_on: date, seen: boolean, wait_minutes: number}
        derived:
          wait: wait_minutes * 1 minute
    kpis:
      - id: Seen_share
        title: Referrals seen
        dataset: referrals
        scoring: proportion
        numerator: seen
        threshold: at least 70%
        period: contract
        source: {section: test}
      - id: mean_wait
        title: Mean wait
        dataset: referrals
        scoring: continuous
        observation: wait
        aggregate: mean
        threshold: at most 15 minutes
        period: contract
        source: {section: test}
    examples:
      - name: three of four seen
        data:
          referrals:
            - {referral_id: r1, received_on: 2024-05-01, seen: true, wait_minutes: 10}
            - {referral_id: r2, received_on: 2024-05-02, seen: true, wait_minutes: 12}
            - {referral_id: r3, received_on: 2024-05-03, seen: true, wait_minutes: 14}
            - {referral_id: r4, received_on: 2024-05-04, seen: false, wait_minutes: 13}
        expect:
          Seen_share: {status: met, numerator: 3, denominator: 4, value: 75%}
          mean_wait: {status: met, value: 12.25 minutes}
      - name: one of three seen
        data:
          referrals:
            - {referral_id: r1, received_on: 2024-05-01, seen: true, wait_minutes: 30}
            - {referral_id: r2, received_on: 2024-05-02, seen: false, wait_minutes: 20}
            - {referral_id: r3, received_on: 2024-05-03, seen: false, wait_minutes: 10}
        expect:
          Seen_share: {value: 33.3%}
          mean_wait: not met
    """
)
# Worked by hand:
#   example 1: seen 3 of 4 = 75% (at least 70%: met); waits 10, 12, 14, 13 minutes,
#              mean 49 / 4 = 12.25 minutes (at most 15 minutes: met)
#   example 2: seen 1 of 3 = 33.33…%, which rounds to 33.3%; mean wait 60 / 3 = 20 minutes,
#              above 15: not met


def _results(text: str):
    return run_spec(specrules.loads(text, "figures.yaml"))


def test_figures_that_hold_pass() -> None:
    result = _results(SPEC)
    assert [(c.rule_id, c.passed) for c in result.checks] == [
        ("Seen_share", True),
        ("mean_wait", True),
        ("Seen_share", True),
        ("mean_wait", True),
    ]
    assert result.checks[0].expected == "met, numerator 3, denominator 4, value 75%"


@pytest.mark.parametrize(
    ("old", "new", "actual"),
    [
        # 3 are seen, not 2
        (
            "numerator: 3, denominator: 4",
            "numerator: 2, denominator: 4",
            "numerator 3 (expected 2)",
        ),
        # 75% is not 80%
        ("value: 75%}", "value: 80%}", "value 75% (expected 80%)"),
        # 12.25 minutes does not round to 12.4 minutes (it does to 12.2 or 12.3, half way)
        (
            "value: 12.25 minutes",
            "value: 12.4 minutes",
            "value 12.25 minutes (expected 12.4 minutes)",
        ),
        # 1/3 rounds to 33.3%, not to 33.4%
        ("value: 33.3%", "value: 33.4%", "value 33.33% (expected 33.4%)"),
        # the status and a figure wrong at once: both are named
        (
            "{status: met, numerator: 3",
            "{status: not met, numerator: 4",
            "met, numerator 3 (expected 4)",
        ),
    ],
)
def test_figures_that_do_not_hold_fail_with_what_was_found(old, new, actual) -> None:
    assert SPEC.count(old) == 1
    result = _results(SPEC.replace(old, new))
    (failed,) = result.failed
    assert failed.actual == actual
    text = format_results([result])
    assert f"got {actual}" in text
    assert "1 failed" in text


def test_figures_round_to_what_is_written() -> None:
    # 1/3 = 0.3333…: 33% (0 decimals) and 33.33% also match; 33.34% does not
    for written, passes in (("33%", True), ("33.33%", True), ("33.34%", False)):
        result = _results(SPEC.replace("value: 33.3%", f"value: {written}"))
        assert result.checks[2].passed is passes, written


def test_a_value_that_is_not_a_figure_is_located() -> None:
    with pytest.raises(SpecError) as caught:
        specrules.loads(SPEC.replace("value: 33.3%", "value: a third"), "figures.yaml")
    (found,) = [d for d in caught.value.diagnostics if d.severity == "error"]
    # `      Seen_share: {value: a third}` is line 49; the value starts at column 27
    assert (found.code, found.line, found.column) == ("S304", 49, 27)
    assert "12.5 minutes" in (found.hint or "")


def test_an_unknown_figure_or_status_is_located() -> None:
    with pytest.raises(SpecError) as caught:
        specrules.loads(SPEC.replace("{value: 33.3%}", "{valu: 33.3%}"), "figures.yaml")
    errors = [(d.code, d.line, d.column) for d in caught.value.diagnostics if d.severity == "error"]
    assert errors == [("S001", 49, 20)]
    with pytest.raises(SpecError) as caught:
        specrules.loads(SPEC.replace("{status: met, n", "{status: mett, n"), "figures.yaml")
    (found,) = [d for d in caught.value.diagnostics if d.severity == "error"]
    # `      Seen_share: {status: mett, …}` is line 40; `mett` starts at column 28
    assert (found.code, found.line, found.column) == ("S304", 40, 28)
    assert found.hint == "did you mean `met`?"


def test_an_empty_expectation_is_refused() -> None:
    with pytest.raises(SpecError) as caught:
        specrules.loads(SPEC.replace("{value: 33.3%}", "{}"), "figures.yaml")
    (found,) = caught.value.diagnostics
    # located at the rule's line in `expect:` (line 49), naming the rule
    assert (found.code, found.line) == ("S003", 49)
    assert "say what `Seen_share` must give" in found.message


@pytest.mark.parametrize(
    ("got", "name", "unit", "shown"),
    [
        # a count is shown whole, with separators (4 significant digits made it 1.204e+04)
        (12045.0, "numerator", "share", "12,045"),
        (12045.0, "denominator", "share", "12,045"),
        # a share as a percentage, to 4 significant digits: 1/3 → 33.33%
        (1 / 3, "value", "share", "33.33%"),
        # a length of time in its unit, or the smaller one the reports use below 1 of it
        (12.25, "value", "minutes", "12.25 minutes"),
        (0.5, "value", "minutes", "30 seconds"),
        (3.66123, "value", "number", "3.661"),
        (None, "value", "share", "none"),
    ],
)
def test_a_figure_found_is_shown_as_the_reports_show_it(got, name, unit, shown) -> None:
    from specrules.authoring.spec_tests import _figure_shown

    assert _figure_shown(got, name, unit) == shown
