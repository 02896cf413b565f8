"""Links, per-row aggregates, clocks, exceptions, ratios, groups — worked out by hand.

Bank holidays used (England and Wales, 2020): Good Friday 10 Apr, Easter Monday 13 Apr,
early May bank holiday moved to Friday 8 May (VE Day), spring bank holiday 25 May.
"""

from __future__ import annotations

import datetime as dt
import textwrap

import pandas as pd
import pytest

import specrules
from specrules import SpecError

SPEC = textwrap.dedent(
    """\
    specrules: 1
    title: Features
    commissioner: Test
    source_document: test
    contract:
      start: 2020-04-01
      end: 2021-03-31
      periods: financial_year
    datasets:
      clients:
        key: client_id
        fields:
          client_id: text
          locality: {type: enumeration, values: [North, South]}
      referrals:
        key: referral_id
        date: received_on
        fields:
          referral_id: text
          client_id: text
          received_on: datetime
          first_contact_at: datetime
          status: {type: enumeration, values: [active, declined]}
        links:
          client: {dataset: clients, field: client_id}
        derived:
          first_appointment: min(appointments.offered_on)
          appointment_count: count(appointments)
          locality: client.locality
      appointments:
        key: appointment_id
        date: offered_on
        fields:
          appointment_id: text
          referral_id: text
          offered_on: date
        links:
          referral: {dataset: referrals, field: referral_id}
      coaches:
        key: coach_id
        fields:
          coach_id: text
          fte: number
    response_times:
      - id: two_working_days
        title: First appointment within 2 working days
        dataset: referrals
        start: received_on
        end: first_appointment
        limit: 2 working days
        clock: working_days
        source: {section: "t"}
      - id: contact_48_hours
        title: Contact within 48 hours
        dataset: referrals
        start: received_on
        end: first_contact_at
        limit: 48 hours
        clock: hours
        source: {section: "t"}
    kpis:
      - id: seen_at_least_once
        title: Referrals with an appointment, declines excepted
        dataset: referrals
        scoring: proportion
        numerator: appointment_count >= 1
        denominator_exceptions: status = "declined"
        threshold: at least 90%
        source: {section: "t"}
      - id: median_wait
        title: Median days to first appointment
        dataset: referrals
        scoring: continuous
        observation: days_between(received_on, first_appointment)
        aggregate: median
        threshold: at most 5
        source: {section: "t"}
      - id: caseload_per_fte
        title: Referrals per full-time coach
        dataset: referrals
        scoring: ratio
        numerator: count(referrals)
        denominator: sum(coaches.fte)
        threshold: between 200 and 250 per year
        source: {section: "t"}
      - id: referrals_by_locality
        title: Referrals by locality
        dataset: referrals
        scoring: count
        breakdowns: [locality]
        threshold: at least 3
        group_thresholds: {North: at least 2, South: at least 1}
        source: {section: "t"}
    """
)


def data() -> dict[str, pd.DataFrame]:
    return {
        "clients": pd.DataFrame(
            {"client_id": ["C1", "C2", "C3"], "locality": ["North", "South", "North"]}
        ),
        "referrals": pd.DataFrame(
            {
                "referral_id": ["R1", "R2", "R3", "R4"],
                "client_id": ["C1", "C2", "C3", "C1"],
                "received_on": [
                    "2020-04-03 10:00",
                    "2020-04-09 12:00",
                    "2020-05-07 09:00",
                    "2020-05-22 09:00",
                ],
                "first_contact_at": [
                    "2020-04-04 09:00",
                    "2020-04-11 13:00",
                    "",
                    "2020-05-23 09:00",
                ],
                "status": ["active", "declined", "active", "declined"],
            }
        ),
        "appointments": pd.DataFrame(
            {
                "appointment_id": ["A1", "A2", "A3", "A4"],
                "referral_id": ["R1", "R1", "R2", "R3"],
                "offered_on": ["2020-04-07", "2020-04-06", "2020-04-14", "2020-05-11"],
            }
        ),
        "coaches": pd.DataFrame({"coach_id": ["K1", "K2"], "fte": [1.0, 0.5]}),
    }


@pytest.fixture(scope="module")
def evaluation() -> specrules.Evaluation:
    return specrules.loads(SPEC).evaluate(data(), period="2020/21")


def test_working_day_clock_skips_bank_holidays(evaluation):
    # R1 Fri 3 Apr -> first appointment Mon 6 Apr (the earlier of A1, A2): 1 working day.
    # R2 Thu 9 Apr -> Tue 14 Apr: Good Friday and Easter Monday skipped: 1 working day.
    # R3 Thu 7 May -> Mon 11 May: Fri 8 May was a bank holiday: 1 working day.
    # R4 has no appointment: the clock never stopped. 3 of 4.
    v = evaluation.verdict("two_working_days")
    assert (v.numerator, v.denominator) == (3, 4)
    assert [b.key for b in v.breaches] == ["R4"]


def test_hours_clock(evaluation):
    # R1 23 h ok; R2 49 h late; R3 no contact; R4 24 h ok. 2 of 4.
    v = evaluation.verdict("contact_48_hours")
    assert (v.numerator, v.denominator) == (2, 4)
    reasons = {b.key: b.reason for b in v.breaches}
    assert reasons["R2"] == "late: 49.0 hours after the start; limit 48.0 hours"
    assert "no end event" in reasons["R3"]


def test_as_of_leaves_running_clocks_out():
    # As of Mon 25 May (a bank holiday), R4 (Fri 22 May) is due by Wed 27 May: still running,
    # so it is left out rather than called late. 3 of 3.
    evaluation = specrules.loads(SPEC).evaluate(
        data(), period="2020/21", as_of=dt.date(2020, 5, 25)
    )
    v = evaluation.verdict("two_working_days")
    assert (v.numerator, v.denominator) == (3, 3)
    assert {e.reason: e.count for e in v.excluded} == {"clock still running at the as-of date": 1}


def test_denominator_exception_only_when_not_met(evaluation):
    # appointment_count: R1 2, R2 1, R3 1, R4 0. R2 declined but was seen, so it stays;
    # R4 declined and was not seen, so it is excepted. 3 of 3.
    v = evaluation.verdict("seen_at_least_once")
    assert (v.numerator, v.denominator) == (3, 3)
    assert v.status == "met"
    assert {e.reason: e.count for e in v.excluded} == {
        'denominator exception: status = "declined"': 1
    }


def test_continuous_median(evaluation):
    # Days to first appointment: R1 3, R2 5, R3 4; R4 has none. Median of 3, 4, 5 is 4.
    v = evaluation.verdict("median_wait")
    assert v.value == 4
    assert v.status == "met"
    assert {e.reason: e.count for e in v.excluded} == {"no value to measure (missing data)": 1}


def test_ratio_across_datasets(evaluation):
    # 4 referrals in the year over 1.5 FTE = 2.67 per FTE, far below 200-250.
    v = evaluation.verdict("caseload_per_fte")
    assert (v.numerator, v.denominator) == (4, 1.5)
    assert v.value == pytest.approx(4 / 1.5)
    assert v.status == "not met"
    assert v.gap == pytest.approx(4 / 1.5 - 200)


def test_group_thresholds(evaluation):
    # Locality through the client link: R1 North, R2 South, R3 North, R4 North.
    v = evaluation.verdict("referrals_by_locality")
    assert (v.value, v.status) == (4, "met")
    groups = {g.group["locality"]: g for g in v.groups}
    assert (groups["North"].value, groups["North"].target, groups["North"].status) == (3, 2, "met")
    assert (groups["South"].value, groups["South"].status) == (1, "met")


def test_group_thresholds_must_add_up():
    broken = SPEC.replace("North: at least 2", "North: at least 5")
    with pytest.raises(SpecError) as caught:
        specrules.loads(broken)
    assert [d.code for d in caught.value.errors] == ["E305"]
    assert "add up to 6" in caught.value.diagnostics[0].message


def test_group_threshold_for_unknown_group():
    broken = SPEC.replace("North: at least 2", "Nroth: at least 2")
    with pytest.raises(SpecError) as caught:
        specrules.loads(broken)
    assert caught.value.diagnostics[0].code == "S208"
    assert caught.value.diagnostics[0].hint == "did you mean `North`?"


def test_mixing_duration_kinds_is_a_type_error():
    broken = SPEC.replace("limit: 2 working days", "limit: 2 days")
    with pytest.raises(SpecError) as caught:
        specrules.loads(broken)
    assert caught.value.diagnostics[0].code == "E207"


def test_aggregate_over_unlinked_dataset_is_refused():
    broken = SPEC.replace("appointment_count: count(appointments)", "n: sum(coaches.fte)")
    with pytest.raises(SpecError) as caught:
        specrules.loads(broken)
    d = caught.value.diagnostics[0]
    assert "no single link" in d.message


def test_breakdown_with_missing_values_forms_its_own_group():
    frames = data()
    frames["clients"].loc[2, "locality"] = ""
    evaluation = specrules.loads(SPEC).evaluate(frames, period="2020/21")
    groups = {
        g.group["locality"]: g.value for g in evaluation.verdict("referrals_by_locality").groups
    }
    # R3's client has no locality: its own group. North R1 R4 = 2; South R2 = 1.
    assert groups == {"(missing)": 1, "North": 2, "South": 1}
