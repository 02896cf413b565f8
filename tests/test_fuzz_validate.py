"""Fuzzing `validate`: whatever a person types into a spec file, no crash, no traceback.

Three sources of input: random YAML-ish text; random edits of the lines of a valid spec
(deleted, duplicated, re-indented, truncated, a word replaced); and random changes to the
values of a valid spec's structure, written back as YAML. For each: `lint_text` returns
located diagnostics and raises nothing, `loads` raises nothing but SpecError, the CLI
prints no traceback, and a spec that does load can be explained and its examples run.
"""

from __future__ import annotations

import copy
import datetime as dt
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specrules import SpecError, loads
from specrules.authoring.explain import explain
from specrules.authoring.lint import lint_text
from specrules.authoring.spec_tests import run_spec
from specrules.cli import main
from specrules.spec import yaml_source

ROOT = Path(__file__).parents[1]
VALID = (ROOT / "docs" / "examples" / "wigan_lot3.yaml").read_text(encoding="utf-8")
VALID_LINES = VALID.splitlines()
VALID_DATA = yaml.safe_load(VALID)

WORDS = [
    "specrules",
    "title",
    "contract",
    "start",
    "end",
    "datasets",
    "fields",
    "key",
    "date",
    "kpis",
    "eligibility",
    "response_times",
    "examples",
    "expect",
    "threshold",
    "target",
    "accept",
    "exclude",
    "limit",
    "clock",
    "scoring",
    "numerator",
    "denominator",
    "id",
    "referrals",
    "received_at",
    "age_on_referral",
    "at least",
    "between",
    "and",
    "or",
    "not",
    "100%",
    "120%",
    "1 week",
    "24 hours",
    "2019-07-01",
    "2030-13-45",
    "days_between(",
    ")",
    "count(",
    "where",
    "in",
    "[",
    "]",
    "{",
    "}",
    ":",
    "-",
    "'",
    '"',
    "#",
    "&a",
    "*a",
    "!!str",
    "!!python/object:os.system",
    "\t",
    "  ",
    "\n",
    "null",
    "~",
    "true",
    "yes",
    "0",
    "-1",
    "1e9",
    "%",
    "|",
    ">",
    "---",
    "...",
    "?",
    "=",
    ">=",
    "<",
    "\\",
    "é",
    "\x00",
    "\u2028",
]
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def assert_well_behaved(text: str) -> None:
    """The promises `validate` makes about any text at all."""
    found = lint_text(text, "fuzz.yaml")
    assert isinstance(found, list)
    lines = text.count("\n") + 2
    for diagnostic in found:
        assert diagnostic.file == "fuzz.yaml"
        assert diagnostic.code and diagnostic.message
        assert diagnostic.severity in ("error", "warning")
        assert 1 <= diagnostic.line <= lines, diagnostic
        assert diagnostic.column >= 1, diagnostic
    try:
        spec = loads(text, "fuzz.yaml")
    except SpecError as exc:
        assert exc.diagnostics
        assert any(d.severity == "error" for d in found), "loads failed but lint found no error"
        return
    assert not [d for d in found if d.severity == "error"], "lint found errors loads did not"
    explain(spec, "md")
    explain(spec, "html")
    run_spec(spec)


@SETTINGS
@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=6), max_size=40).map("".join))
def test_random_yamlish_text(text: str) -> None:
    assert_well_behaved(text)


def _edit(lines: list[str], kind: str, index: int, word: str) -> list[str]:
    lines = list(lines)
    index %= len(lines)
    if kind == "delete":
        del lines[index]
    elif kind == "duplicate":
        lines.insert(index, lines[index])
    elif kind == "indent":
        lines[index] = "  " + lines[index]
    elif kind == "dedent":
        lines[index] = lines[index][2:]
    elif kind == "truncate":
        lines = lines[:index]
    elif kind == "swap":
        other = (index * 7 + 3) % len(lines)
        lines[index], lines[other] = lines[other], lines[index]
    elif kind == "replace":
        words = lines[index].split(" ")
        words[index % len(words)] = word
        lines[index] = " ".join(words)
    else:  # insert
        lines[index] = lines[index][: index % 40] + word + lines[index][index % 40 :]
    return lines


EDITS = st.tuples(
    st.sampled_from(
        ["delete", "duplicate", "indent", "dedent", "truncate", "swap", "replace", "insert"]
    ),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(WORDS),
)


@SETTINGS
@given(st.lists(EDITS, min_size=1, max_size=4))
def test_random_edits_of_a_valid_spec(edits: list[tuple[str, int, str]]) -> None:
    lines = VALID_LINES
    for kind, index, word in edits:
        if lines:
            lines = _edit(lines, kind, index, word)
    assert_well_behaved("\n".join(lines) + "\n")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_paths(item, (*prefix, i)))
    return found


PATHS = _paths(VALID_DATA)[1:]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=12),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    st.just([]),
    st.just({}),
    st.lists(st.sampled_from(WORDS), max_size=3),
    st.dictionaries(st.sampled_from(WORDS), st.sampled_from(WORDS), max_size=2),
)


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for part in path[:-1]:
        data = data[part]
    data[path[-1]] = value


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=3))
def test_random_values_in_a_valid_spec(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    data = copy.deepcopy(VALID_DATA)
    for path, value in changes:
        try:
            _set(data, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed the place
    assert_well_behaved(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=st.lists(EDITS, min_size=1, max_size=3))
def test_the_cli_never_prints_a_traceback(
    edits: list[tuple[str, int, str]],
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    lines = VALID_LINES
    for kind, index, word in edits:
        if lines:
            lines = _edit(lines, kind, index, word)
    path = tmp_path_factory.mktemp("fuzz") / "spec.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for command in (["validate", "--format", "json"], ["explain"], ["test"]):
        status = main([*command, str(path)])
        assert status in (0, 1)
        out = capsys.readouterr()
        assert "Traceback" not in out.out + out.err


def test_the_fuzzed_spec_is_valid_to_begin_with() -> None:
    assert lint_text(VALID, "fuzz.yaml") == []


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    # Through the real entry point, in a separate process, on the nastiest inputs found.
    cases = ["a: 2030-13-45\n\x1f", VALID.replace("  ", "\t", 1)]
    for number, text in enumerate(cases):
        path = tmp_path / f"spec{number}.yaml"
        path.write_text(text, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "specrules.cli", "validate", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 1, done
        assert "Traceback" not in done.stdout + done.stderr
        assert f"{path}:" in done.stdout


# ------------------------------------------------------------------ arbitrary YAML
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    st.sampled_from(["yes", "no", "on", "off", "010", "0o17", "0x1f", "1:30", "1_000", "~"]),
    st.sampled_from([".inf", "-.inf", ".nan", "1e400", "2023-02-30", "!!str x", "&a x", "*a"]),
    st.text(max_size=20),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


@SETTINGS
@given(DOCUMENTS, st.booleans())
def test_arbitrary_yaml_documents(document: Any, flow: bool) -> None:
    text = yaml.safe_dump(document, allow_unicode=True, default_flow_style=flow)
    assert_well_behaved(text)


@SETTINGS
@given(
    st.dictionaries(st.sampled_from(sorted(VALID_DATA)), DOCUMENTS, min_size=1, max_size=3),
)
def test_arbitrary_values_under_the_top_level_keys(changes: dict[str, Any]) -> None:
    data = {**copy.deepcopy(VALID_DATA), **changes}
    assert_well_behaved(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@SETTINGS
@given(st.lists(st.sampled_from(WORDS) | st.text(max_size=6), max_size=40).map("".join))
def test_both_yaml_readers_agree_on_any_text(text: str) -> None:
    # libyaml and PyYAML's own parser feed the same builder: the same values and positions,
    # or both refuse the text.
    results = []
    for loader in (yaml.CSafeLoader, yaml.SafeLoader):
        try:
            value, source = yaml_source._load(loader, text, "fuzz.yaml")
            results.append(("ok", repr(value), source.values, source.keys))
        except (SpecError, yaml.YAMLError):
            results.append(("refused",))
    assert results[0] == results[1] or "refused" in (results[0][0], results[1][0])
