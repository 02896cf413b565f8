"""`--format fhir`: a FHIR R4 Bundle of MeasureReports, validated with `fhir.resources`.

fhir.resources 8 (pydantic 2, like specrules) ships R5 as its default models, plus R4B and
STU3; it has no plain R4 package. R4B changed no element of MeasureReport or Bundle from R4
(R4B's changes are to medication definitions, subscriptions and evidence resources), while R5
reshaped MeasureReport (e.g. `group.subject`, `stratifier.stratum.value` of several types,
`type` codes), so the R4B models are the ones that check R4 output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.measurereport import MeasureReport
from pydantic import ValidationError

import specrules
from specrules.cli import main
from specrules.report.fhir import POPULATION_SYSTEM, measure_url, to_bundle
from specrules.results import Evaluation

FIXTURE = Path(__file__).parent / "fixtures" / "wigan_core"
SPEC = FIXTURE / "spec.yaml"


@pytest.fixture(scope="module")
def evaluation() -> Evaluation:
    return specrules.load(SPEC).evaluate(FIXTURE, period="all")


def breakdown_evaluation(tmp_path: Path) -> Evaluation:
    text = SPEC.read_text(encoding="utf-8")
    anchor = "    numerator: most_deprived_20pct\n    threshold: at least 60%\n"
    assert text.count(anchor) == 1
    text = text.replace(
        anchor, anchor + "    breakdowns: [intervention_type]\n    per_group: true\n"
    )
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return specrules.load(path).evaluate(FIXTURE, period="all")


def reports(bundle: dict) -> list[dict]:
    return [entry["resource"] for entry in bundle["entry"]]


def test_bundle_validates_as_r4_measure_reports(evaluation: Evaluation) -> None:
    bundle = to_bundle(evaluation)
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection"
    assert len(parsed.entry) == len(evaluation.verdicts) == 14
    for entry in parsed.entry:
        assert isinstance(entry.resource, MeasureReport)
        assert entry.fullUrl == f"urn:uuid:{entry.resource.id}"
    assert len({e["resource"]["id"] for e in bundle["entry"]}) == 14  # ids are distinct
    # and the same evaluation gives the same ids
    assert [r["id"] for r in reports(to_bundle(evaluation))] == [r["id"] for r in reports(bundle)]


def test_each_report_carries_the_verdict_figures(evaluation: Evaluation) -> None:
    for verdict, report in zip(evaluation.verdicts, reports(to_bundle(evaluation)), strict=True):
        MeasureReport.model_validate(report)
        assert report["status"] == "complete" and report["type"] == "summary"
        assert report["measure"] == measure_url(evaluation.spec_title, verdict.rule_id)
        assert report["period"] == {
            "start": verdict.period_start.isoformat(),
            "end": verdict.period_end.isoformat(),
        }
        (group,) = report["group"]
        counts = {
            p["code"]["coding"][0]["code"]: p["count"]
            for p in group.get("population", [])
            if "coding" in p["code"]
        }
        populations = dict(verdict.populations)
        not_eligible = populations.pop("not_eligible", None)  # no FHIR code: an extension
        assert counts == {k.replace("_", "-"): n for k, n in populations.items()}
        if not_eligible is not None:
            (extension,) = [e for e in group["extension"] if e["url"].endswith("/not-eligible")]
            assert extension["valueInteger"] == not_eligible
        for population in group.get("population", []):
            assert population["code"]["coding"][0]["system"] == POPULATION_SYSTEM
        if verdict.value is None:
            assert "measureScore" not in group
        else:
            assert group["measureScore"]["value"] == pytest.approx(verdict.value)
        status = [e for e in group["extension"] if e["url"].endswith("/verdict-status")]
        assert status[0]["valueCode"] == verdict.status


def test_a_proportion_and_a_count(evaluation: Evaluation) -> None:
    by_id = {r["measure"].rsplit("-", 1)[0]: r for r in reports(to_bundle(evaluation))}
    assert by_id  # the URLs are all built the same way
    found = {(r["measure"], r["period"]["start"]): r for r in reports(to_bundle(evaluation))}
    share = found[(measure_url(evaluation.spec_title, "quits_co_validated"), "2019-07-01")]
    (group,) = share["group"]
    codes = [p["code"]["coding"][0]["code"] for p in group["population"]]
    assert codes == ["initial-population", "denominator", "denominator-exclusion", "numerator"]
    assert [p["count"] for p in group["population"]] == [4, 2, 0, 1]
    assert group["measureScore"] == {
        "value": 0.5,
        "unit": "proportion",
        "system": "http://unitsofmeasure.org",
        "code": "1",
    }
    assert share["improvementNotation"]["coding"][0]["code"] == "increase"

    count = found[(measure_url(evaluation.spec_title, "clients_commencing"), "2019-07-01")]
    (group,) = count["group"]
    assert group["measureScore"]["value"] == 5 and isinstance(group["measureScore"]["value"], int)
    assert [p["code"]["coding"][0]["code"] for p in group["population"]] == [
        "initial-population",
        "measure-population",
    ]


def test_measure_url_is_a_canonical_from_title_and_rule() -> None:
    url = measure_url("Wigan Lot 1 — Health Improvement Service", "quits_co_validated")
    assert url == (
        "https://specrules.invalid/fhir/Measure/"
        "wigan-lot-1-health-improvement-service-quits-co-validated"
    )
    assert measure_url("T", "r", base="https://fhir.example.nhs.uk/") == (
        "https://fhir.example.nhs.uk/Measure/t-r"
    )


def test_one_stratifier_per_breakdown(tmp_path: Path) -> None:
    evaluation = breakdown_evaluation(tmp_path)
    bundle = to_bundle(evaluation)
    Bundle.model_validate(bundle)
    verdict = evaluation.verdict("most_deprived_share")
    report = next(
        r
        for r in reports(bundle)
        if r["measure"] == measure_url(evaluation.spec_title, "most_deprived_share")
    )
    (stratifier,) = report["group"][0]["stratifier"]
    assert stratifier["code"] == [{"text": "intervention_type"}]
    strata = {s["value"]["text"]: s for s in stratifier["stratum"]}
    assert set(strata) == {g.group["intervention_type"] for g in verdict.groups}
    assert len(strata) == 4
    for group in verdict.groups:
        stratum = strata[group.group["intervention_type"]]
        counts = {p["code"]["coding"][0]["code"]: p["count"] for p in stratum["population"]}
        assert counts["numerator"] == group.populations["numerator"]
        assert counts["denominator"] == group.populations["denominator"]
        assert stratum["measureScore"]["value"] == pytest.approx(group.value)
        status = [e for e in stratum["extension"] if e["url"].endswith("/verdict-status")]
        assert status[0]["valueCode"] == group.status
    # rules without a breakdown have no stratifier
    others = [r for r in reports(bundle) if r is not report]
    assert all("stratifier" not in r["group"][0] for r in others)


def test_the_validator_would_catch_a_bad_report(evaluation: Evaluation) -> None:
    report = reports(to_bundle(evaluation))[0]
    MeasureReport.model_validate(report)
    # fhir.resources checks structure, cardinality and datatypes ...
    for key, bad in [("period", "2019"), ("date", "yesterday"), ("colour", "red")]:
        with pytest.raises(ValidationError):
            MeasureReport.model_validate({**report, key: bad})
    for required in ("status", "type", "measure", "period"):
        with pytest.raises(ValidationError):
            MeasureReport.model_validate({k: v for k, v in report.items() if k != required})
    broken = json.loads(json.dumps(report))
    broken["group"][0]["population"][0]["count"] = "many"
    with pytest.raises(ValidationError):
        MeasureReport.model_validate(broken)


def test_codes_come_from_the_required_value_sets(evaluation: Evaluation) -> None:
    # ... but not required bindings (it accepts status "finished"), so those are checked here
    measure_population = {
        "initial-population",
        "numerator",
        "numerator-exclusion",
        "denominator",
        "denominator-exclusion",
        "denominator-exception",
        "measure-population",
        "measure-population-exclusion",
        "measure-observation",
    }
    for report in reports(to_bundle(evaluation)):
        assert report["status"] in {"complete", "pending", "error"}
        assert report["type"] in {"individual", "subject-list", "summary", "data-collection"}
        for population in report["group"][0].get("population", []):
            (coding,) = population["code"]["coding"]
            assert coding["system"] == POPULATION_SYSTEM
            assert coding["code"] in measure_population


def test_cli_writes_fhir(tmp_path: Path) -> None:
    out = tmp_path / "bundle.json"
    code = main(
        ["evaluate", str(SPEC), "--data", str(FIXTURE), "--format", "fhir", "--output", str(out)]
    )
    assert code == 0
    bundle = json.loads(out.read_text(encoding="utf-8"))
    parsed = Bundle.model_validate(bundle)
    assert bundle["resourceType"] == "Bundle" and len(parsed.entry) == 14
    code = main(
        ["evaluate", str(SPEC), "--data", str(FIXTURE), "--format", "fhir", "--fail-on-breach"]
    )
    assert code == 1
