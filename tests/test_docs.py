"""The docs stay honest: every example in docs/*.md is run.

- A fenced ```yaml block that is a whole spec must validate; a fragment of one (say a
  `kpis:` list) is merged into docs/examples/wigan_lot3.yaml first and must validate too;
  any other YAML must at least parse.
- Every table with *Example* and *Result* columns: each example expression must evaluate to
  its result (aggregates over the reference data spec in docs/reference.md).
- The key tables of docs/reference.md (marked `<!-- keys: Model -->`) list exactly the keys of
  the format, say which are required, and each key's example fits the format.
- Every function, operator, threshold word and diagnostic code appears in the reference,
  and every function's own example (src/specrules/dsl/functions.py) holds.
- The tutorial's spec is the one in docs/examples, and it validates, explains, evaluates and
  passes its examples.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import pytest
import yaml
from pydantic import BaseModel, TypeAdapter

import specrules
from specrules.authoring.explain import explain
from specrules.authoring.lint import lint_file, lint_text
from specrules.authoring.spec_tests import example_frames, run_spec
from specrules.data import load_data
from specrules.dsl.checker import check
from specrules.dsl.functions import FUNCTIONS
from specrules.dsl.parser import parse_expression, parse_threshold
from specrules.engine.pandas.evaluator import _context, add_derived
from specrules.engine.pandas.expressions import evaluate
from specrules.spec import models

ROOT = Path(__file__).parents[1]
DOCS = ROOT / "docs"
REFERENCE = (DOCS / "reference.md").read_text(encoding="utf-8")
TUTORIAL = (DOCS / "tutorial.md").read_text(encoding="utf-8")
PAGES = {"reference.md": REFERENCE, "tutorial.md": TUTORIAL}
BASE_SPEC = DOCS / "examples" / "wigan_lot3.yaml"
SPEC_KEYS = set(models.Spec.model_fields)


# ------------------------------------------------------------------ reading the pages
def fenced_blocks(text: str, language: str) -> list[tuple[int, str]]:
    """(line, body) of every fenced block whose info string starts with `language`."""
    found = []
    for match in re.finditer(r"^```(\S*)[^\n]*\n(.*?)^```", text, flags=re.M | re.S):
        if match.group(1) == language:
            found.append((text.count("\n", 0, match.start()) + 1, match.group(2)))
    return found


def tables(text: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """(the marker comment before it, header, rows) of every Markdown table."""
    found = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            marker = lines[i - 1] if i and lines[i - 1].startswith("<!--") else ""
            header = _cells(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_cells(lines[i]))
                i += 1
            found.append((marker, header, rows))
        else:
            i += 1
    return found


def _cells(line: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]


def code(cell: str) -> str:
    """The text inside the first `backticks` of a table cell."""
    match = re.search(r"`([^`]+)`", cell)
    assert match, f"no `code` in {cell!r}"
    return match.group(1)


# ------------------------------------------------------------------ YAML blocks
def yaml_blocks() -> list[tuple[str, int, str]]:
    return [
        (page, line, body)
        for page, text in PAGES.items()
        for line, body in fenced_blocks(text, "yaml")
    ]


def merge(base: Any, fragment: Any) -> Any:
    """A spec fragment merged into a spec: mappings are merged, a rule (or an example, a
    budget) replaces the one with its id (or name) or is added, other lists replace."""
    if isinstance(base, dict) and isinstance(fragment, dict):
        merged = dict(base)
        for key, value in fragment.items():
            merged[key] = merge(base[key], value) if key in base else value
        return merged
    keyed = isinstance(fragment, list) and all(
        isinstance(i, dict) and ("id" in i or "name" in i) for i in fragment
    )
    if isinstance(base, list) and keyed:
        merged = list(base)
        for item in fragment:
            name = item.get("id", item.get("name")) if isinstance(item, dict) else None
            same = [
                i for i, old in enumerate(merged)
                if isinstance(old, dict) and name is not None
                and old.get("id", old.get("name")) == name
            ]  # fmt: skip
            if same:
                merged[same[0]] = item
            else:
                merged.append(item)
        return merged
    return fragment


def _merged_text(data: dict[str, Any]) -> str:
    base = yaml.safe_load(BASE_SPEC.read_text(encoding="utf-8"))
    return yaml.safe_dump(merge(base, data), sort_keys=False, allow_unicode=True)


@pytest.mark.parametrize(("page", "line", "body"), yaml_blocks(), ids=lambda v: str(v)[:24])
def test_yaml_examples(page: str, line: int, body: str) -> None:
    data = yaml.safe_load(body)
    keys = set(data) if isinstance(data, dict) else set()
    if not keys & SPEC_KEYS:
        return  # configuration for other tools (pre-commit, CI): it parsed, that is all
    if "extends" in keys:  # a spec built on another: shown as the file it is, checked as one
        first, rest = body.split("\n", 1)
        shown = ROOT / first.removeprefix("# ")
        assert shown.is_file() and rest in shown.read_text(encoding="utf-8"), f"{page}:{line}"
        assert [str(d) for d in lint_file(shown)] == [], f"{page}:{line}"
        return
    assert keys <= SPEC_KEYS, f"{page}:{line}: a block mixing spec keys with {keys - SPEC_KEYS}"
    whole = {"specrules", "datasets"} <= keys
    text = body if whole else _merged_text(data)
    found = [d for d in lint_text(text, f"{page}:{line}") if d.severity == "error"]
    mistake = re.match(r"# mistake: ([A-Z0-9, ]+)", body)
    if mistake:  # shown on purpose, with the error it gives
        expected = [c.strip() for c in mistake.group(1).split(",")]
        assert [d.code for d in found] == expected, f"{page}:{line}"
        return
    assert [str(d) for d in found] == [], f"the YAML example at {page}:{line} does not validate"
    if page == "tutorial.md" and not whole:
        # Every step of the tutorial is part of the finished spec, as written there.
        final = yaml.safe_load(BASE_SPEC.read_text(encoding="utf-8"))
        assert merge(final, data) == final, f"{page}:{line} differs from {BASE_SPEC.name}"


def test_there_are_whole_specs_and_fragments_to_check() -> None:
    blocks = [yaml.safe_load(body) for _, _, body in yaml_blocks()]
    whole = [b for b in blocks if isinstance(b, dict) and {"specrules", "datasets"} <= set(b)]
    fragments = [
        b for b in blocks if isinstance(b, dict) and set(b) & SPEC_KEYS and "datasets" not in b
    ]
    assert len(whole) >= 1 and len(fragments) >= 12


# ------------------------------------------------------------------ expressions
@pytest.fixture(scope="module")
def reference_data() -> tuple[Any, Any]:
    """The catalog and evaluation context of the reference data spec in reference.md."""
    (body,) = [b for _, b in fenced_blocks(REFERENCE, "yaml") if b.startswith("# reference data")]
    spec = specrules.loads(body, "reference data")
    frames = example_frames(spec.model, spec.model.examples[0])
    loaded = load_data(spec.model, frames)
    assert not loaded.missing and not [i for i in loaded.issues if i.severity != "info"]
    ready = add_derived(spec.plan, loaded.frames)
    return spec.plan.catalog, _context(spec.plan, ready)


def value_of(text: str, data: tuple[Any, Any]) -> Any:
    catalog, ctx = data
    value = evaluate(check(parse_expression(text), catalog, None), ctx)
    if isinstance(value, pd.Series):
        assert len(value) == 1
        value = value.iloc[0]
    return value


def same(a: Any, b: Any) -> bool:
    a, b = (x.item() if hasattr(x, "item") and not isinstance(x, list) else x for x in (a, b))
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool | str) or isinstance(b, bool | str):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def example_rows() -> list[tuple[str, str, str]]:
    found = []
    for page, text in PAGES.items():
        for _marker, header, rows in tables(text):
            if "Example" in header and "Result" in header:
                e, r = header.index("Example"), header.index("Result")
                found.extend((page, code(row[e]), code(row[r])) for row in rows)
    return found


@pytest.mark.parametrize(("page", "example", "result"), example_rows())
def test_expression_examples(page: str, example: str, result: str, reference_data) -> None:
    got, wanted = value_of(example, reference_data), value_of(result, reference_data)
    assert same(got, wanted), f"{page}: `{example}` gives {got!r}, the docs say `{result}`"


def test_enough_expression_examples_are_checked() -> None:
    assert len(example_rows()) >= 60


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_is_documented_with_an_example(name: str) -> None:
    rows = [
        row
        for _m, header, rows in tables(REFERENCE)
        if "Example" in header and "Result" in header
        for row in rows
        if re.match(rf"`{name}\(", row[0])
        or code(row[header.index("Example")]).startswith(f"{name}(")
    ]
    assert rows, f"docs/reference.md has no example row for `{name}`"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_the_function_examples_in_the_code_hold(name: str, reference_data) -> None:
    example = FUNCTIONS[name].example
    parse_expression(example)  # every example parses
    if FUNCTIONS[name].kind == "row":  # the row functions' examples state their result
        assert " = " in example
        assert value_of(example, reference_data) is True, example


def test_every_operator_and_word_of_the_language_is_in_the_reference() -> None:
    grammar = (ROOT / "src" / "specrules" / "dsl" / "grammar.lark").read_text(encoding="utf-8")
    words = set(re.findall(r'"([a-z]+)"', grammar))
    comparators = re.search(r"^COMPARATOR: (.+)$", grammar, flags=re.M).group(1)
    operators = set(re.findall(r'"([^"]+)"', comparators)) | {"+", "-", "*", "/"}
    units = {"seconds", "minutes", "hours", "days", "weeks", "months", "years", "working days"}
    periods = {"per year", "per annum", "per quarter", "per month", "per week"}
    prose = re.sub(r"^```.*?^```", "", REFERENCE, flags=re.M | re.S)  # inline code only
    documented = set(re.findall(r"`([^`\n]+)`", prose))
    spelled = " ".join(documented)
    missing = [w for w in sorted(words) if not re.search(rf"\b{w}\b", spelled)]
    missing += [o for o in sorted(operators) if not re.search(rf"\d {re.escape(o)} \d", spelled)]
    missing += [u for u in sorted(units | periods) if u not in spelled]
    missing += [m for m in ("£", "k", "m") if not re.search(rf"£\d[\d.]*{m}?\b", spelled)]
    assert missing == [], f"docs/reference.md does not show: {missing}"


def test_every_threshold_in_the_reference_parses() -> None:
    (rows,) = [rows for _m, header, rows in tables(REFERENCE) if header[0] == "Threshold"]
    parsed = [parse_threshold(code(row[0])) for row in rows]
    kinds = {getattr(p, "kind", "reduction") for p in parsed}
    assert kinds == {
        "at least", "at most", "more than", "less than", "exactly", "between", "reduction"
    }  # fmt: skip
    assert {p.per for p in parsed if hasattr(p, "by")} >= {"year", "quarter"}
    assert any(getattr(p, "by", None) for p in parsed)


def test_every_diagnostic_code_is_in_the_reference() -> None:
    source = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "src").rglob("*.py"))
    codes = set(re.findall(r'"([YFSEWX]\d{3})"', source))
    documented = {
        row[0].strip("`")
        for _m, header, rows in tables(REFERENCE)
        if header[:2] == ["code", "severity"]
        for row in rows
    }
    assert codes - documented == set(), "document these codes in docs/reference.md"
    assert documented - codes == set(), "these documented codes no longer exist"


# ------------------------------------------------------------------ the keys of the format
MODELS: dict[str, type[BaseModel]] = {
    m.__name__: m
    for m in (
        models.Spec, models.Contract, models.Extension, models.Reporting, models.Budget,
        models.Consequence, models.Dataset, models.FieldSpec, models.LinkSpec, models.Rule,
        models.Source, models.Eligibility, models.ResponseTime, models.KPI, models.Example,
    )
}  # fmt: skip
EXPRESSION_KEYS = {
    "applies_to", "accept", "exclude", "start", "end", "limit", "initial_population",
    "denominator", "denominator_exclusions", "denominator_exceptions", "numerator",
    "observation",
}  # fmt: skip


def key_tables() -> dict[str, list[list[str]]]:
    found = {}
    for marker, _header, rows in tables(REFERENCE):
        match = re.match(r"<!-- keys: (\w+)(?: - (\w+))? -->", marker)
        if match:
            found[marker] = (match.group(1), match.group(2), rows)
    return found


def test_every_model_has_a_key_table() -> None:
    documented = {model for model, _less, _rows in key_tables().values()}
    assert documented == set(MODELS)


@pytest.mark.parametrize("marker", sorted(key_tables()))
def test_key_table_lists_exactly_the_keys(marker: str) -> None:
    name, less, rows = key_tables()[marker]
    model = MODELS[name]
    expected = set(model.model_fields) - (set(MODELS[less].model_fields) if less else set())
    keys = [code(row[0]) for row in rows]
    assert sorted(keys) == sorted(expected), f"{marker}: the table and the model differ"
    for row in rows:
        key, required = code(row[0]), row[1]
        info = model.model_fields[key]
        assert (required == "yes") == info.is_required(), (
            f"{name}.{key}: required is {info.is_required()}"
        )
        assert row[2], f"{name}.{key} has no description"
        example = yaml.safe_load(code(row[3]))
        assert isinstance(example, dict) and list(example) == [key], f"{name}.{key}: {row[3]}"
        kind = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        adapter = TypeAdapter(kind)
        adapter.validate_python(example[key])
        if key in EXPRESSION_KEYS and name != "Example":
            parse_expression(str(example[key]))
        if key in ("threshold", "target"):
            parse_threshold(str(example[key]))


# ------------------------------------------------------------------ the tutorial
def test_the_tutorial_builds_the_example_spec() -> None:
    # Its steps, merged in order into an empty spec, give the finished file's content.
    built: dict[str, Any] = {}
    for _line, body in fenced_blocks(TUTORIAL, "yaml"):
        data = yaml.safe_load(body)
        if isinstance(data, dict) and set(data) <= SPEC_KEYS and not body.startswith("# mistake"):
            built = merge(built, data)
    final = yaml.safe_load(BASE_SPEC.read_text(encoding="utf-8"))
    assert built == final


def test_the_tutorial_spec_validates_explains_evaluates_and_passes() -> None:
    assert lint_text(BASE_SPEC.read_text(encoding="utf-8"), str(BASE_SPEC)) == []
    spec = specrules.load(BASE_SPEC)
    assert "| **Appointment within one week" in explain(spec, "md")
    evaluation = spec.evaluate(DOCS / "examples" / "wigan_lot3")
    statuses = {v.rule_id: v.status for v in evaluation.verdicts}
    assert statuses["appointment_within_one_week"] == "not met"
    assert not [i for i in evaluation.data_issues if i.severity == "error"]
    assert run_spec(spec).ok


def test_the_tutorial_shows_real_output() -> None:
    # Lines the tutorial quotes from the commands must be what the commands print.
    spec = specrules.load(BASE_SPEC)
    evaluation = spec.evaluate(DOCS / "examples" / "wigan_lot3")
    late = evaluation.verdict("appointment_within_one_week")
    assert f"{late.numerator:.0f}/{late.denominator:.0f}" in TUTORIAL
    for row in late.breaches:
        assert row.reason in TUTORIAL


@pytest.mark.parametrize(
    ("old", "new", "shown"),
    [
        (
            "accept: age_on_referral >= 18",
            'accept: age_on_referral >= "18"',
            "wigan_lot3.yaml:141:32: error: E201 cannot compare number with text\n"
            "    hint: a number is written without quotes",
        ),
        (
            "limit: 24 hours",
            "limit: 24 hrs",
            'error `E101`, with the hint "did you mean\n`hours` (a unit)?"',
        ),
    ],
)
def test_the_mistakes_in_the_tutorial_give_the_messages_it_shows(
    old: str, new: str, shown: str
) -> None:
    text = BASE_SPEC.read_text(encoding="utf-8")
    assert text.count(old) == 1
    (found,) = lint_text(text.replace(old, new), "wigan_lot3.yaml")
    assert shown in TUTORIAL
    if found.code == "E201":
        assert str(found) in TUTORIAL
    else:
        assert found.code == "E101" and found.hint == "did you mean `hours` (a unit)?"
