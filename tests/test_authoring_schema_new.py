"""`specrules schema` (JSON Schema for editors) and `specrules new` (a starting spec)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from specrules import loads
from specrules.authoring.lint import lint_text
from specrules.authoring.new import new_spec
from specrules.authoring.schema import schema_text, spec_schema
from specrules.authoring.spec_tests import run_spec
from specrules.cli import main
from specrules.spec.extends import load_spec_yaml

ROOT = Path(__file__).parents[1]
COMMITTED = ROOT / "docs" / "spec.schema.json"


def test_the_committed_schema_is_up_to_date() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_text(), (
        "docs/spec.schema.json is out of date: run "
        "`specrules schema --output docs/spec.schema.json` and commit it"
    )


def _properties(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = [("Spec", k, v) for k, v in schema["properties"].items()]
    for name, definition in schema["$defs"].items():
        found.extend((name, k, v) for k, v in definition.get("properties", {}).items())
    return found


def test_every_key_has_a_description_and_an_example() -> None:
    missing = [
        f"{model}.{key}"
        for model, key, value in _properties(spec_schema())
        if not value.get("description") or not value.get("examples")
    ]
    assert missing == [], "add description= and examples= to these fields in spec/models.py"


def test_the_schema_is_valid_and_its_examples_fit_it() -> None:
    schema = spec_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for model, key, value in _properties(schema):
        checker = jsonschema.Draft202012Validator({**value, "$defs": schema["$defs"]})
        for example in value["examples"]:
            errors = [e.message for e in checker.iter_errors(example)]
            assert errors == [], f"{model}.{key}: example {example!r}: {errors}"


def _plain(value: Any) -> Any:
    """YAML values as an editor's YAML 1.2 language server sees them (dates are text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


@pytest.mark.parametrize(
    "path",
    [
        ROOT / "docs" / "examples" / "wigan_lot3.yaml",
        *sorted((ROOT / "specs").glob("*.yaml")),
        *sorted((ROOT / "specs" / "national").glob("*.yaml")),
    ],
    ids=lambda p: p.name,
)
def test_valid_specs_pass_the_schema(path: Path) -> None:
    validator = jsonschema.Draft202012Validator(spec_schema())
    data = _plain(yaml.safe_load(path.read_text(encoding="utf-8")))
    if "extends" in data:  # a part of a spec: checked merged with its base (test_extends.py)
        data = _plain(load_spec_yaml(path.read_text(encoding="utf-8"), str(path))[0])
    assert [e.message for e in validator.iter_errors(data)] == []


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("typo_in_key", "'datset' was unexpected"),
        ("typo_in_choice", "'calender_days' is not one of"),
        ("missing_source", "'source' is a required property"),
    ],
)
def test_the_schema_flags_what_an_editor_can_see(name: str, fragment: str) -> None:
    validator = jsonschema.Draft202012Validator(spec_schema())
    text = (ROOT / "tests" / "broken_specs" / f"{name}.yaml").read_text(encoding="utf-8")
    messages = [e.message for e in validator.iter_errors(_plain(yaml.safe_load(text)))]
    assert any(fragment in m for m in messages), messages


def test_schema_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "specrules spec, format 1"
    out = tmp_path / "spec.schema.json"
    assert main(["schema", "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == schema_text()


# ------------------------------------------------------------------ new
def test_a_new_spec_validates_without_warnings_and_its_example_passes() -> None:
    text = new_spec()
    assert lint_text(text, "new.yaml") == []
    result = run_spec(loads(text, "new.yaml"))
    assert result.ok and len(result.checks) == 4


def test_a_new_spec_has_every_section() -> None:
    data = yaml.safe_load(new_spec())
    assert set(data) == {
        "specrules", "title", "commissioner", "provider", "service", "source_document",
        "contract", "consequences", "datasets", "eligibility", "response_times", "kpis",
        "examples", "note",
    }  # fmt: skip
    assert set(data["contract"]) == {
        "start", "end", "extensions", "periods", "reporting", "budgets"
    }  # fmt: skip


def test_a_new_spec_is_commented_and_wired_to_the_schema() -> None:
    lines = new_spec(schema="../docs/spec.schema.json").splitlines()
    assert lines[0] == "# yaml-language-server: $schema=../docs/spec.schema.json"
    comments = [line for line in lines if "#" in line]
    assert len(comments) > 40


@pytest.mark.parametrize("title", ['Lot 3: "Community" Link Workers', "- a list?", "#1 spec", "é"])
def test_any_title_is_safe(title: str) -> None:
    text = new_spec(title=title)
    assert yaml.safe_load(text)["title"] == title
    assert lint_text(text, "new.yaml") == []


def test_new_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lot3.yaml"
    assert main(["new", "--output", str(out), "--title", "Wigan Lot 3"]) == 0
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["title"] == "Wigan Lot 3"
    assert main(["validate", "--strict", str(out)]) == 0
    assert main(["new", "--output", str(out)]) == 2
    assert "exists; use --force" in capsys.readouterr().err
    assert main(["new", "--output", str(out), "--force"]) == 0
