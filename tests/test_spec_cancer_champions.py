"""specs/cancer_champions.yaml against small hand-built fixtures: every rule, worked by hand.

Fixture: tests/fixtures/cancer_champions_rules/. The contract runs 1 October 2017 to
31 March 2019 (18 months, "to 31st March 2019"); periods follow the financial year, so its
quarters are 2017/18-Q3 (Oct-Dec 2017) to 2018/19-Q4 (Jan-Mar 2019). The 12,000-champion
target is also tested on generated registers of thousands of rows, whose sizes are chosen by hand.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

import specrules
from spec_checks import check
from specrules.errors import SpecError

SPEC = Path(__file__).parents[1] / "specs" / "cancer_champions.yaml"
FIXTURE = Path(__file__).parent / "fixtures" / "cancer_champions_rules"
LOCALITIES = ["Barnsley", "Bassetlaw", "Doncaster", "Rotherham", "Sheffield", "North Derbyshire"]

# Fixture rows:
# champions CH1 Barnsley local, cascade, target community, 8 reached; CH2 Barnsley expert
#   patient, local, direct, 10; CH3 Bassetlaw not local, event, 11; CH4 Doncaster local,
#   cascade, 0; CH5 Doncaster local, digital, reach not recorded; CH6 Sheffield not local,
#   cascade, 4; CH7 Sheffield local, direct, 6; CH8 Rotherham expert patient, local,
#   cascade, 3. Target community: CH1 CH3 CH4 CH6 CH7.
# spend Barnsley 50,000 + 42,000; Bassetlaw 43,500.50; Doncaster 100,000; Sheffield
#   200,000 (+ 30,000 and 12,000 co-ordination); North Derbyshire 149,000; Rotherham none.
# providers K1-K3, K5 locality providers, K4 the co-ordinator (not based in the footprint);
#   K3 has not agreed to work with the co-ordinator.


@pytest.fixture(scope="module")
def evaluation() -> specrules.Evaluation:
    return specrules.load(SPEC).evaluate(FIXTURE)


def by_locality(v):
    return {g.group["locality"]: g for g in v.groups}


def test_spec_loads_and_every_rule_has_a_verdict(evaluation):
    spec = specrules.load(SPEC)
    assert len(spec.rule_ids) == 23  # all KPIs: the document has no eligibility or clocks
    assert {v.rule_id for v in evaluation.verdicts} == set(spec.rule_ids)
    assert evaluation.data_issues == []


# ---------------------------------------------------------------- champions


def test_champions_recruited_on_the_small_fixture(evaluation):
    # 8 champions (expert patients count) against 12,000 at the deadline (no as-of date, so
    # the contract period ends on 31 March 2019: the full target). By locality: Barnsley 2,
    # Bassetlaw 1, Doncaster 2, Rotherham 1, Sheffield 2, North Derbyshire 0 (named in the
    # group thresholds, so shown although it has no rows). All not met.
    v = evaluation.verdict("champions_recruited", "contract")
    check(v, "not met", value=8)
    assert v.target == 12000
    groups = by_locality(v)
    assert {k: g.value for k, g in groups.items()} == {
        "Barnsley": 2,
        "Bassetlaw": 1,
        "Doncaster": 2,
        "Rotherham": 1,
        "Sheffield": 2,
        "North Derbyshire": 0,
    }
    assert all(g.status == "not met" for g in groups.values())
    assert groups["Doncaster"].target == 1920  # the finance table's figure, not 1,520


def register(counts: dict[str, int], day: str, start: int = 0) -> pd.DataFrame:
    """A champion register with `counts[locality]` rows, all recruited on `day`."""
    localities = [loc for loc, n in counts.items() for _ in range(n)]
    ids = [f"C{start + i}" for i in range(len(localities))]
    return pd.DataFrame(
        {
            "champion_id": ids,
            "locality": localities,
            "recruited_on": day,
            "champion_type": "cancer champion",
            "local_person": "yes",
            "recruitment_route": "direct",
            "in_target_community": "yes",
            "people_reached": "5",
        }
    )


def test_champions_recruited_at_the_deadline():
    # 1560 + 700 + 1920 + 1700 + 3600 + 2530 = 12,010 >= 12,000: met overall.
    # Bassetlaw 700 < 720: not met; Doncaster 1920 >= 1920 (boundary): met;
    # the others reach or pass their targets (1560, 1680, 3600, 2520).
    counts = {
        "Barnsley": 1560,
        "Bassetlaw": 700,
        "Doncaster": 1920,
        "Rotherham": 1700,
        "Sheffield": 3600,
        "North Derbyshire": 2530,
    }
    # One more Sheffield champion dated 15 Sep 2017, before the contract started (1 Oct):
    # reported as a data issue and not counted.
    early = register({"Sheffield": 1}, "2017-09-15", start=20_000)
    data = {"champions": pd.concat([register(counts, "2018-06-01"), early], ignore_index=True)}
    result = specrules.load(SPEC).evaluate(data)
    issues = [i for i in result.data_issues if i.dataset == "champions"]
    assert [i.row for i in issues] == [12011]
    assert "outside the contract" in issues[0].message
    v = result.verdict("champions_recruited", "contract")
    check(v, "met", value=12010)
    statuses = {k: (g.status, g.value) for k, g in by_locality(v).items()}
    assert statuses == {
        "Barnsley": ("met", 1560),
        "Bassetlaw": ("not met", 700),
        "Doncaster": ("met", 1920),
        "Rotherham": ("met", 1700),
        "Sheffield": ("met", 3600),
        "North Derbyshire": ("met", 2530),
    }


def test_champions_recruited_against_the_trajectory():
    # As of 30 April 2018: 212 days of the contract have run (1 Oct 2017 - 30 Apr 2018:
    # 31 + 30 + 31 + 31 + 28 + 31 + 30) out of 547 (1 Oct 2017 - 31 Mar 2019: 365 to
    # 30 Sep 2018, then 31 + 30 + 31 + 31 + 28 + 31 = 182), so the trajectory is 212/547 of
    # each target: overall 12,000 × 212/547 = 4,650.82; Doncaster 1,920 × 212/547 = 744.13;
    # Sheffield 3,600 × 212/547 = 1,395.25.
    # Recruited by then: Doncaster 600, Sheffield 4,100 = 4,700 (met overall); Doncaster
    # 600 < 744.13 not met; Sheffield met. 100 Doncaster champions recruited on 15 May 2018,
    # after the as-of date, are not counted.
    early = register({"Doncaster": 600, "Sheffield": 4100}, "2018-02-01")
    late = register({"Doncaster": 100}, "2018-05-15", start=10_000)
    data = {"champions": pd.concat([early, late], ignore_index=True)}
    result = specrules.load(SPEC).evaluate(data, as_of=dt.date(2018, 4, 30))
    v = result.verdict("champions_recruited", "contract")
    check(v, "met", value=4700)
    assert v.target == pytest.approx(12000 * 212 / 547)
    groups = by_locality(v)
    check(groups["Doncaster"], "not met", value=600)
    assert groups["Doncaster"].target == pytest.approx(1920 * 212 / 547)
    check(groups["Sheffield"], "met", value=4100)
    check(groups["Barnsley"], "not met", value=0)


def test_doncaster_1520_does_not_add_up(tmp_path):
    # With the first table's 1,520 the localities sum to
    # 1560 + 720 + 1520 + 1680 + 3600 + 2520 = 11,600, not 12,000: E305.
    text = SPEC.read_text(encoding="utf-8")
    wrong = text.replace(
        "Doncaster: at least 1920 by 2019-03-31", "Doncaster: at least 1520 by 2019-03-31"
    )
    assert wrong != text
    path = tmp_path / "cancer_champions_1520.yaml"
    path.write_text(wrong, encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        specrules.load(path)
    codes = [d.code for d in raised.value.diagnostics]
    assert codes == ["E305"]
    assert "11,600" in raised.value.diagnostics[0].message


def test_local_people(evaluation):
    # Local: all but CH3 and CH6 → 6 / 8 = 75% < 90%. Per locality: Barnsley 2/2, Bassetlaw
    # 0/1, Doncaster 2/2, Rotherham 1/1, Sheffield 1/2. North Derbyshire has no champions.
    v = evaluation.verdict("local_people", "contract")
    check(v, "not met", 6, 8)
    groups = by_locality(v)
    assert set(groups) == {"Barnsley", "Bassetlaw", "Doncaster", "Rotherham", "Sheffield"}
    check(groups["Barnsley"], "met", 2, 2)
    check(groups["Bassetlaw"], "not met", 0, 1)
    check(groups["Doncaster"], "met", 2, 2)
    check(groups["Rotherham"], "met", 1, 1)
    check(groups["Sheffield"], "not met", 1, 2)


def test_conversations_up_to_10(evaluation):
    # "up to 10" describes a champion; it is no target (issue 19): monitoring only.
    # <= 10: CH1 8, CH2 10 (boundary), CH4 0, CH6 4, CH7 6, CH8 3 → yes; CH3 11 → no;
    # CH5 not recorded → unknown, not counted as within. 6 / 8, no breach.
    v = evaluation.verdict("conversations_up_to_10", "contract")
    check(v, "monitoring", 6, 8)
    assert v.threshold is None


def test_reach_per_champion(evaluation):
    # Recorded: 8 10 11 0 4 6 3 → 42 / 7 = 6. Barnsley (8 + 10) / 2 = 9; Bassetlaw 11;
    # Doncaster 0 (CH5 not recorded); Rotherham 3; Sheffield (4 + 6) / 2 = 5.
    v = evaluation.verdict("reach_per_champion", "contract")
    check(v, "monitoring", value=6)
    assert {k: g.value for k, g in by_locality(v).items()} == {
        "Barnsley": 9,
        "Bassetlaw": 11,
        "Doncaster": 0,
        "Rotherham": 3,
        "Sheffield": 5,
    }


def test_cascade_training_and_targeting(evaluation):
    # Cascade training: CH1 CH4 CH6 CH8 → 4 / 8; Barnsley 1/2, Rotherham 1/1.
    cascade = evaluation.verdict("cascade_training", "contract")
    check(cascade, "monitoring", 4, 8)
    groups = by_locality(cascade)
    check(groups["Barnsley"], "monitoring", 1, 2)
    check(groups["Rotherham"], "monitoring", 1, 1)
    # Target communities: CH1 CH3 CH4 CH6 CH7 → 5 / 8.
    check(evaluation.verdict("targeting_inequalities", "contract"), "monitoring", 5, 8)


# ---------------------------------------------------------------- money


def test_locality_envelopes(evaluation):
    # Locality spend (co-ordination left out): Barnsley 50,000 + 42,000 = 92,000 <= 92,000
    # (boundary, met); Bassetlaw 43,500.50 > 43,000; Doncaster 100,000 <= 114,000;
    # Sheffield 200,000 <= 213,000; North Derbyshire 149,000 <= 149,000; Rotherham has no
    # spend rows: no data. Total 92,000 + 43,500.50 + 100,000 + 200,000 + 149,000
    # = 584,500.50 <= 710,000.
    v = evaluation.verdict("locality_envelopes", "contract")
    check(v, "met", value=584500.50)
    groups = by_locality(v)
    check(groups["Barnsley"], "met", value=92000)
    check(groups["Bassetlaw"], "not met", value=43500.50)
    assert groups["Bassetlaw"].gap == pytest.approx(500.50)
    check(groups["Doncaster"], "met", value=100000)
    check(groups["Sheffield"], "met", value=200000)
    check(groups["North Derbyshire"], "met", value=149000)
    assert groups["Rotherham"].status == "no data"
    assert groups["Rotherham"].threshold == "at most £99000"


def test_coordinator_funding(evaluation):
    # Co-ordination: 30,000 + 12,000 = 42,000 > 40,000.
    v = evaluation.verdict("coordinator_funding", "contract")
    check(v, "not met", value=42000)
    assert v.gap == pytest.approx(2000)


def test_evaluation_set_aside(evaluation):
    # Shares: K1 13,800 / 92,000 = 15%; K2 5,375 / 43,000 = 12.5% (boundary, in);
    # K3 20,520 / 114,000 = 18% (out); K4 6,800 / 40,000 = 17%; K5 0 / 213,000 = 0% (out).
    v = evaluation.verdict("evaluation_set_aside", "contract")
    check(v, "not met", 3, 5)
    assert sorted(b.key for b in v.breaches) == ["K3", "K5"]


def test_provider_requirements(evaluation):
    # Based in the footprint: K4 is not. 4 / 5.
    check(evaluation.verdict("providers_in_footprint", "contract"), "not met", 4, 5)
    # Locality providers K1 K2 K3 K5; K3 has not agreed to work with the co-ordinator. 3 / 4.
    check(evaluation.verdict("work_with_coordinator", "contract"), "not met", 3, 4)
    # One co-ordinator contract: K4. Exactly 1.
    check(evaluation.verdict("one_coordinator", "contract"), "met", value=1)


# ---------------------------------------------------------------- evidence


def figures(evaluation, rule_id):
    return {v.period: v.value for v in evaluation.verdicts if v.rule_id == rule_id}


def test_quarterly_evidence_counts(evaluation):
    # Quarters inside the contract only: 2017/18-Q1 and -Q2 (Apr-Sep 2017) come before the
    # 1 October 2017 start and 2019/20 after the 31 March 2019 end: no verdict.
    quarters = ["2017/18-Q3", "2017/18-Q4"] + [f"2018/19-Q{q}" for q in (1, 2, 3, 4)]
    # Progress reports: E2 31 Jan 2018 (2017/18-Q4), E4 30 Apr 2018 (2018/19-Q1),
    # E6 31 Jul 2018 (2018/19-Q2).
    assert figures(evaluation, "progress_reporting") == dict(
        zip(quarters, [0, 1, 1, 1, 0, 0], strict=True)
    )
    # Contract monitoring meetings: E3 8 Feb 2018 (2017/18-Q4).
    assert figures(evaluation, "monitoring_meetings_attended") == dict(
        zip(quarters, [0, 1, 0, 0, 0, 0], strict=True)
    )
    # Reference group: E1 14 Dec 2017 (2017/18-Q3), E10 21 Mar 2019 (2018/19-Q4).
    assert figures(evaluation, "reference_group") == dict(
        zip(quarters, [1, 0, 0, 0, 0, 1], strict=True)
    )
    statuses = {
        v.status
        for v in evaluation.verdicts
        if v.rule_id in ("progress_reporting", "monitoring_meetings_attended", "reference_group")
    }
    assert statuses == {"monitoring"}


def test_yearly_evidence_counts(evaluation):
    # Financial years 2017/18 and 2018/19 (the contract ends on 31 March 2019).
    # Regional workshop E7 (Sep 2018), peer judgement E8 (Nov 2018), local adaptation E9
    # (Jan 2019): all in 2018/19. No equality impact assessment.
    years = ["2017/18", "2018/19"]
    for rule_id in ("regional_workshops_attended", "peer_judgement", "local_adaptation"):
        assert figures(evaluation, rule_id) == dict(zip(years, [0, 1], strict=True)), rule_id
    assert figures(evaluation, "equality_impact_assessments") == dict.fromkeys(years, 0)


def test_deliverables_evidenced(evaluation):
    # Outcomes co-designed: E5 → 1 >= 1 met. Target communities identified: none → 0 < 1.
    check(evaluation.verdict("outcomes_codesigned", "contract"), "met", value=1)
    check(evaluation.verdict("target_communities_identified", "contract"), "not met", value=0)


def test_staff(evaluation):
    # DBS checks: S2 has none. 2 / 3. Safeguarding training: all three. 3 / 3.
    vetted = evaluation.verdict("staff_vetted", "contract")
    check(vetted, "not met", 2, 3)
    assert [b.key for b in vetted.breaches] == ["S2"]
    check(evaluation.verdict("safeguarding_training", "contract"), "met", 3, 3)


def test_example_data_gives_a_verdict_for_every_rule():
    spec = specrules.load(SPEC)
    result = spec.evaluate(Path(__file__).parents[1] / "examples" / "cancer_champions")
    statuses = {v.rule_id: v.status for v in result.verdicts}
    assert set(statuses) == set(spec.rule_ids)
    assert {"met", "not met", "monitoring"} <= set(statuses.values())
    assert "no data" not in statuses.values()
    assert set(LOCALITIES) == {
        g.group["locality"] for g in result.verdict("champions_recruited").groups
    }
