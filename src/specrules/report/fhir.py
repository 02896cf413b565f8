"""Verdicts as HL7 FHIR R4 MeasureReport resources, gathered in a Bundle of type collection.

One MeasureReport per verdict (rule × period): status `complete`, type `summary`, the
populations counted (coded with the standard measure-population CodeSystem), the measure
score, and one stratifier per breakdown whose strata are the breakdown's groups. FHIR has no
element for "met / not met", so the verdict travels in an extension beside the figures.

Only elements that are the same in R4 and R4B are used, so the output is valid R4.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

from specrules.results import Evaluation, Verdict

FHIR_VERSION = "4.0.1"
POPULATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-population"
IMPROVEMENT_SYSTEM = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
UCUM = "http://unitsofmeasure.org"
# The canonical URLs built here name measures, they are not fetched: `.invalid` is reserved
# (RFC 2606) so no one mistakes them for a live server. Pass `base` for a real one.
DEFAULT_BASE = "https://specrules.invalid/fhir"
EXTENSION_BASE = "https://specrules.invalid/fhir/StructureDefinition"

# Verdict.populations name → the measure-population code, in the order FHIR lists them.
POPULATION_CODES = {
    "initial_population": ("initial-population", "Initial Population"),
    "denominator": ("denominator", "Denominator"),
    "denominator_exclusion": ("denominator-exclusion", "Denominator Exclusion"),
    "denominator_exception": ("denominator-exception", "Denominator Exception"),
    "numerator": ("numerator", "Numerator"),
    "numerator_exclusion": ("numerator-exclusion", "Numerator Exclusion"),
    "measure_population": ("measure-population", "Measure Population"),
    "measure_population_exclusion": (
        "measure-population-exclusion",
        "Measure Population Exclusion",
    ),
}
_UNITS = {
    "share": {"unit": "proportion", "system": UCUM, "code": "1"},
    "ratio": {"unit": "ratio", "system": UCUM, "code": "1"},
    "count": {"unit": "count", "system": UCUM, "code": "1"},
    "days": {"unit": "days", "system": UCUM, "code": "d"},
    "hours": {"unit": "hours", "system": UCUM, "code": "h"},
    "minutes": {"unit": "minutes", "system": UCUM, "code": "min"},
    "seconds": {"unit": "seconds", "system": UCUM, "code": "s"},
    "working days": {"unit": "working days"},  # no UCUM unit for a working day
}
# Namespace for stable ids: the same evaluation always gives the same resource ids.
_NAMESPACE = uuid.UUID("5b0e5f7e-3c1a-4f55-9a57-2f4c8f1d6a10")


def slug(text: str) -> str:
    """Lower-case letters, digits and hyphens: fit for a FHIR id and a URL path."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "spec"


def measure_url(spec_title: str, rule_id: str, base: str = DEFAULT_BASE) -> str:
    """The canonical URL of the Measure a rule stands for: `{base}/Measure/{title}-{rule}`."""
    return f"{base.rstrip('/')}/Measure/{slug(spec_title)}-{slug(rule_id)}"


def _instant(moment: dt.datetime) -> str:
    """FHIR needs a time zone on a time; results made here are UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.isoformat().replace("+00:00", "Z")


def _improvement(threshold: str | None) -> str | None:
    text = (threshold or "").strip().lower()
    if text.startswith(("at least", "more than")):
        return "increase"
    if text.startswith(("at most", "less than", "reduction", "fewer than")):
        return "decrease"
    return None


def _populations(verdict: Verdict) -> list[dict[str, Any]]:
    found = []
    known = [name for name in POPULATION_CODES if name in verdict.populations]
    others = [
        name
        for name in verdict.populations
        if name not in POPULATION_CODES and name != "not_eligible"  # an extension instead
    ]
    for name in known:
        code, display = POPULATION_CODES[name]
        found.append(
            {
                "code": {
                    "coding": [{"system": POPULATION_SYSTEM, "code": code, "display": display}]
                },
                "count": int(verdict.populations[name]),
            }
        )
    for name in others:  # a population the standard does not name: described in words
        found.append(
            {
                "code": {"text": name.replace("_", " ")},
                "count": int(verdict.populations[name]),
            }
        )
    return found


def _score(verdict: Verdict) -> dict[str, Any] | None:
    if verdict.value is None:
        return None
    unit = _UNITS.get(verdict.unit, {"unit": verdict.unit})
    value = verdict.value
    if verdict.unit == "count" and float(value).is_integer():
        value = int(value)
    return {"value": value, **unit}


def _verdict_extensions(verdict: Verdict) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {"url": f"{EXTENSION_BASE}/verdict-status", "valueCode": verdict.status}
    ]
    if verdict.threshold:
        found.append({"url": f"{EXTENSION_BASE}/threshold", "valueString": verdict.threshold})
    if verdict.target is not None:
        found.append({"url": f"{EXTENSION_BASE}/target", "valueDecimal": verdict.target})
    if verdict.measure:  # a continuous score: mean, or "90th centile (linear interpolation)"
        found.append({"url": f"{EXTENSION_BASE}/measure", "valueString": verdict.measure})
    if verdict.due is not None:  # when a breach's consequence is due
        # a moment is local time, and FHIR's dateTime needs an offset: given as text
        kind = "valueString" if isinstance(verdict.due, dt.datetime) else "valueDate"
        found.append({"url": f"{EXTENSION_BASE}/due", kind: verdict.due.isoformat()})
    if verdict.reason:
        found.append({"url": f"{EXTENSION_BASE}/no-verdict-reason", "valueString": verdict.reason})
    if "not_eligible" in verdict.populations:  # not a measure population: FHIR has no code
        count = int(verdict.populations["not_eligible"])
        found.append({"url": f"{EXTENSION_BASE}/not-eligible", "valueInteger": count})
    return found


def _stratum(group: Verdict) -> dict[str, Any]:
    values = group.group or {}
    stratum: dict[str, Any] = {}
    if len(values) == 1:
        stratum["value"] = {"text": next(iter(values.values()))}
    else:  # a cross of several fields: one component per field
        stratum["component"] = [
            {"code": {"text": field}, "value": {"text": value}} for field, value in values.items()
        ]
    stratum["extension"] = _verdict_extensions(group)
    populations = _populations(group)
    if populations:
        stratum["population"] = populations
    score = _score(group)
    if score is not None:
        stratum["measureScore"] = score
    return stratum


def _stratifiers(verdict: Verdict) -> list[dict[str, Any]]:
    """One stratifier per breakdown (one set of fields), holding a stratum per group."""
    by_fields: dict[tuple[str, ...], list[Verdict]] = {}
    for group in verdict.groups:
        by_fields.setdefault(tuple((group.group or {}).keys()), []).append(group)
    return [
        {"code": [{"text": ", ".join(fields)}], "stratum": [_stratum(g) for g in groups]}
        for fields, groups in by_fields.items()
    ]


def _reason_stratifiers(verdict: Verdict) -> list[dict[str, Any]]:
    """Named exclusions and exceptions as stratifiers: one stratum per name (the reason a row
    was taken out; a row counts under the first that applies), whose one population is the
    denominator exclusion (or exception) count. FHIR has no element for a population's
    reasons; a stratifier by reason is the standard's own way to split a count."""
    found = []
    for counts, name in (
        (verdict.exclusions, "denominator_exclusion"),
        (verdict.exceptions, "denominator_exception"),
    ):
        if not counts:
            continue
        code, display = POPULATION_CODES[name]
        coding = {"coding": [{"system": POPULATION_SYSTEM, "code": code, "display": display}]}
        strata = [
            {"value": {"text": reason}, "population": [{"code": coding, "count": int(n)}]}
            for reason, n in counts.items()
        ]
        found.append({"code": [{"text": f"{display.lower()} reason"}], "stratum": strata})
    return found


def measure_report(
    verdict: Verdict, evaluation: Evaluation, base: str = DEFAULT_BASE
) -> dict[str, Any]:
    """One verdict as a MeasureReport (a plain dict, ready for JSON)."""
    key = f"{evaluation.provenance.spec_sha256}|{verdict.rule_id}|{verdict.period}"
    group: dict[str, Any] = {
        "code": {"text": verdict.title},
        "extension": _verdict_extensions(verdict),
    }
    populations = _populations(verdict)
    if populations:
        group["population"] = populations
    score = _score(verdict)
    if score is not None:
        group["measureScore"] = score
    stratifiers = _stratifiers(verdict) + _reason_stratifiers(verdict)
    if stratifiers:
        group["stratifier"] = stratifiers
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": str(uuid.uuid5(_NAMESPACE, key)),
        "status": "complete",
        "type": "summary",
        "measure": measure_url(evaluation.spec_title, verdict.rule_id, base),
        "date": _instant(evaluation.provenance.evaluated_at),
        "period": {
            "start": verdict.period_start.isoformat(),
            "end": verdict.period_end.isoformat(),
        },
        "group": [group],
    }
    notation = _improvement(verdict.threshold)
    if notation:
        report["improvementNotation"] = {
            "coding": [{"system": IMPROVEMENT_SYSTEM, "code": notation}]
        }
    return report


def to_bundle(evaluation: Evaluation, base: str = DEFAULT_BASE) -> dict[str, Any]:
    """A FHIR R4 Bundle (type collection) with one MeasureReport per verdict."""
    provenance = evaluation.provenance
    entries = []
    for verdict in evaluation.verdicts:
        report = measure_report(verdict, evaluation, base)
        entries.append({"fullUrl": f"urn:uuid:{report['id']}", "resource": report})
    bundle_key = f"{provenance.spec_sha256}|{provenance.period}|{provenance.evaluated_at}"
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NAMESPACE, bundle_key)),
        "type": "collection",
        "timestamp": _instant(provenance.evaluated_at),
        "entry": entries,
    }


def to_fhir_json(evaluation: Evaluation, base: str = DEFAULT_BASE, indent: int = 2) -> str:
    return json.dumps(to_bundle(evaluation, base), indent=indent, ensure_ascii=False)
