"""A corpus of broken specs, one mistake each: the exact code, line and column, and a hint.

Each file in tests/broken_specs/ is a small valid spec with one mistake a person could
make (its first line says which). `specrules validate` must report that mistake, and only
it, where it is, with a hint saying what to write instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from specrules import SpecError, loads
from specrules.authoring.lint import lint_file, lint_text
from specrules.cli import main

CORPUS = Path(__file__).parent / "broken_specs"

# file: (code, line, column, words the message contains, words the hint contains)
EXPECTED = {
    "typo_in_key": ("S001", 28, 5, "unknown key `datset`", "did you mean `dataset`?"),
    "typo_in_field": ("E202", 29, 13, "unknown field `agee`", "did you mean `age`?"),
    "typo_in_function": ("E204", 29, 13, "unknown function `days_betwen`", "`days_between`"),
    "typo_in_unit": ("E101", 40, 14, "unexpected `weak`", "did you mean `week` (a unit)?"),
    "typo_in_value": ("E205", 37, 27, '"primary cate"', "did you mean `primary care`?"),
    "typo_in_choice": ("S003", 41, 12, "`calender_days`", "did you mean `calendar_days`?"),
    "wrong_indentation": ("Y001", 35, 12, "mapping values", "line the key up"),
    "tab": ("Y007", 29, 1, "tab character", "spaces"),
    "duplicate_rule_id": ("S201", 46, 9, "duplicate rule id `aged_18_or_over`", "own id"),
    "duplicate_yaml_key": ("Y002", 41, 5, "duplicate key `limit`", "once in a mapping"),
    "yaml_tag": ("Y003", 3, 8, "python/object/apply:os.system", "remove the tag"),
    "yaml_alias": ("Y009", 44, 16, "anchors and aliases", "write the value out"),
    "impossible_threshold": ("E302", 41, 13, "above 100%", "between 0% and 100%"),
    "minimum_above_maximum": ("E303", 50, 16, "minimum is above the maximum", "smaller"),
    "between_reversed": ("E307", 29, 25, "never true", "between 18 and 120"),
    "date_outside_contract": ("E304", 50, 16, "2025-03-31 lies outside", "check the date"),
    "extension_before_end": ("E309", 10, 14, "2021-06-30", "in order"),
    "breakdown_undeclared_field": ("S204", 51, 18, "`settings`", "did you mean `setting`?"),
    "undeclared_consequence": ("S203", 52, 18, "`contract_meting`", "`contract_meeting`"),
    "undeclared_dataset": ("S202", 48, 14, "`referral`", "did you mean `referrals`?"),
    "quoted_number": ("E201", 29, 20, "cannot compare number with text", "without quotes"),
    "unit_mismatch": ("E308", 50, 16, "length of time", "scoring: continuous"),
    "missing_source": ("S002", 26, 5, "missing required key `source`", "add `source:`"),
    "example_unknown_rule": ("S303", 61, 7, "`aged_18_or_ovr`", "`aged_18_or_over`"),
    "example_unknown_column": ("S302", 59, 29, "`recieved_on`", "`received_on`"),
    "empty": ("Y008", 1, 1, "empty", "specrules new"),
    "not_a_mapping": ("S000", 1, 1, "mapping of keys", "specrules new"),
}


def test_every_broken_spec_has_an_expectation() -> None:
    files = {p.stem for p in CORPUS.glob("*.yaml")}
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_spec_is_reported_where_it_is(name: str) -> None:
    code, line, column, message, hint = EXPECTED[name]
    path = CORPUS / f"{name}.yaml"
    found = lint_file(path)
    assert [(d.code, d.line, d.column) for d in found] == [(code, line, column)], found
    (diagnostic,) = found
    assert diagnostic.severity == "error"
    assert diagnostic.file == str(path)
    assert message in diagnostic.message
    assert diagnostic.hint and hint in diagnostic.hint


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loading_a_broken_spec_raises_spec_error(name: str) -> None:
    path = CORPUS / f"{name}.yaml"
    with pytest.raises(SpecError) as caught:
        loads(path.read_text(encoding="utf-8"), str(path))
    assert caught.value.errors[0].code == EXPECTED[name][0]


def test_the_base_spec_of_the_corpus_is_valid() -> None:
    # The corpus files are one edit away from this spec, which must be clean.
    text = (CORPUS / "typo_in_key.yaml").read_text(encoding="utf-8")
    fixed = text.replace("datset:", "dataset:")
    assert lint_text(fixed, "fixed.yaml") == []


def test_cli_prints_file_line_column_code_and_hint(capsys: pytest.CaptureFixture[str]) -> None:
    path = CORPUS / "typo_in_field.yaml"
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr()
    assert out.out.splitlines() == [
        f"{path}:29:13: error: E202 unknown field `agee` in dataset `referrals`",
        "    hint: did you mean `age`?",
    ]
    assert "0 of 1 spec(s) valid; 1 error(s), 0 warning(s)" in out.err


def test_cli_reports_all_files_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(CORPUS / f"{name}.yaml") for name in ("tab", "yaml_tag", "unit_mismatch")]
    assert main(["validate", *paths]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if ": error: " in line]
    assert [line.split(": error: ")[1].split()[0] for line in lines] == ["Y007", "Y003", "E308"]
