"""The published JSON Schema of the results (docs/results.schema.json)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

import specrules
from specrules.cli import main
from specrules.report.schema import results_schema, schema_text
from specrules.results import RESULT_SCHEMA_VERSION, Evaluation

ROOT = Path(__file__).parent.parent
SCHEMA_FILE = ROOT / "docs" / "results.schema.json"
FIXTURE = Path(__file__).parent / "fixtures" / "wigan_core"
SPEC = FIXTURE / "spec.yaml"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def test_committed_schema_is_the_generated_one() -> None:
    committed = SCHEMA_FILE.read_text(encoding="utf-8")
    assert committed == schema_text(), (
        "docs/results.schema.json is out of date: run "
        "`python -m specrules.report.schema docs/results.schema.json`"
    )
    generated = results_schema()
    for key, value in Evaluation.model_json_schema().items():
        assert generated[key] == value
    assert RESULT_SCHEMA_VERSION in generated["$comment"]


def test_docs_state_the_version() -> None:
    text = (ROOT / "docs" / "results.md").read_text(encoding="utf-8")
    assert f"**{RESULT_SCHEMA_VERSION}**" in text
    assert "results.schema.json" in text


def test_cli_json_output_validates(
    tmp_path: Path, validator: Draft202012Validator, capsys: pytest.CaptureFixture[str]
) -> None:
    for period in ("all", "2019/20-Q2"):
        out = tmp_path / "results.json"
        args = ["evaluate", str(SPEC), "--data", str(FIXTURE), "--format", "json"]
        code = main([*args, "--period", period, "--output", str(out)])
        assert code == 0
        document = json.loads(out.read_text(encoding="utf-8"))
        validator.validate(document)
        assert document["provenance"]["result_schema"] == RESULT_SCHEMA_VERSION
        assert document["provenance"]["period"] == period
        assert document["verdicts"]


def test_breakdown_groups_validate(tmp_path: Path, validator: Draft202012Validator) -> None:
    text = SPEC.read_text(encoding="utf-8")
    anchor = "    numerator: most_deprived_20pct\n    threshold: at least 60%\n"
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace(anchor, anchor + "    breakdowns: [intervention_type]\n"))
    document = json.loads(specrules.load(path).evaluate(FIXTURE).to_json())
    assert any(v["groups"] for v in document["verdicts"])
    validator.validate(document)


def test_schema_rejects_what_the_model_would(validator: Draft202012Validator) -> None:
    document = json.loads(specrules.load(SPEC).evaluate(FIXTURE).to_json())
    validator.validate(document)
    bad_status = copy.deepcopy(document)
    bad_status["verdicts"][0]["status"] = "passed"
    extra = copy.deepcopy(document)
    extra["verdicts"][0]["colour"] = "red"
    missing = copy.deepcopy(document)
    del missing["provenance"]["spec_sha256"]
    bad_date = copy.deepcopy(document)
    bad_date["verdicts"][0]["period_start"] = "2019-13-45"
    for broken in (bad_status, extra, missing, bad_date):
        with pytest.raises(ValidationError):
            validator.validate(broken)
