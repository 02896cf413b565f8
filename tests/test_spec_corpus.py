"""A generated corpus of broken specs: every one is refused with located messages, exit 1.

Each case is one mutation of a shipped spec (specs/*.yaml) or of the spec `specrules new`
writes, made in code: every required key removed in turn; a typo in every key of the format
(in `specrules new`'s spec, and in a sample of each shipped spec's keys); typos in the
fields, functions and units of expressions; dates that do not exist; wrong types; deep
nesting; huge inputs; YAML tricks (anchors, tags, merge keys, duplicate keys, tabs, a BOM
or a NUL byte mid-file, a second document, bytes that are not UTF-8).

Each goes through the real command, in-process (`main(["validate", "--format", "json",
FILE])`): no traceback, exit code 1, every diagnostic located at a line and column inside the
file, and the mistake reported where it was made (the line of the edit, and for most cases
the code and column too). `specrules.load` must refuse it as well.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from specrules import SpecError, loads
from specrules.authoring.new import new_spec
from specrules.cli import main
from specrules.spec import models
from specrules.spec.yaml_source import MAX_BYTES, load_yaml

ROOT = Path(__file__).parents[1]
# The six specs grown from local documents (a spec that `extends:` another needs its folder).
SHIPPED = [p for p in sorted((ROOT / "specs").glob("*.yaml")) if "extends:" not in p.read_text()]
BASES: dict[str, str] = {"new": new_spec()} | {
    path.stem: path.read_text(encoding="utf-8") for path in SHIPPED
}
KEY_TYPOS_PER_SHIPPED_SPEC = 8
REMOVALS_PER_SHIPPED_SPEC = 15  # of several hundred each: all of them would take a minute
DATES_PER_BASE = 4


@dataclass(frozen=True)
class Case:
    name: str
    text: str | bytes
    line: int | None = None  # the line the mistake is on (None: anywhere)
    codes: tuple[str, ...] = ()  # one of these codes must be reported (at `line`)
    column: int | None = None
    words: str = ""  # in the message or hint of the diagnostic at `line`

    def __repr__(self) -> str:  # short ids in pytest's output
        return self.name


# ------------------------------------------------------------------ walking the format
def _choose(annotation: Any, value: Any) -> Any:
    """The branch of a union annotation that `value` (a mapping or a list) is read by."""
    for arg in typing.get_args(annotation):
        origin = typing.get_origin(arg)
        if isinstance(value, dict) and (
            origin is dict or (isinstance(arg, type) and issubclass(arg, BaseModel))
        ):
            return arg
        if isinstance(value, list) and origin is list:
            return arg
    return None


def _mappings(
    value: Any, annotation: Any, path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], type[BaseModel]]]:
    """Every mapping of a spec that a model reads, with its path and model."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _mappings(value, typing.get_args(annotation)[0], path)
    elif origin in (typing.Union, types.UnionType):
        chosen = _choose(annotation, value)
        if chosen is not None:
            yield from _mappings(value, chosen, path)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if isinstance(value, dict):
            yield path, annotation
            for key, info in _keys(annotation).items():
                if key in value:
                    yield from _mappings(value[key], info.annotation, (*path, key))
    elif origin is dict and isinstance(value, dict):
        for key, item in value.items():
            yield from _mappings(item, typing.get_args(annotation)[1], (*path, key))
    elif origin is list and isinstance(value, list):
        for index, item in enumerate(value):
            yield from _mappings(item, typing.get_args(annotation)[0], (*path, index))


def _keys(model: type[BaseModel]) -> dict[str, Any]:
    return {info.alias or name: info for name, info in model.model_fields.items()}


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        value = value[part]
    return value


def _own_line(text: str, line: int, key: str) -> bool:
    """Whether `key:` starts its line (not `- key:` nor inside `{...}`)."""
    return text.split("\n")[line - 1].lstrip(" ").startswith(f"{key}:")


def _remove_key(text: str, line: int) -> str:
    """`text` without the key on `line` and the lines of its value (indented further)."""
    lines = text.split("\n")
    indent = len(lines[line - 1]) - len(lines[line - 1].lstrip(" "))
    end = line
    while end < len(lines):
        stripped = lines[end].strip()
        if stripped and len(lines[end]) - len(lines[end].lstrip(" ")) <= indent:
            break
        end += 1
    return "\n".join(lines[: line - 1] + lines[end:])


def _typo(word: str) -> str:
    """The word with its 2nd and 3rd letters swapped (`dataset` → `dtaaset`), or doubled."""
    if len(word) >= 4 and word[1] != word[2]:
        return word[0] + word[2] + word[1] + word[3:]
    return word + word[-1]


def _replace_on_line(text: str, line: int, old: str, new: str) -> str:
    lines = text.split("\n")
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    return "\n".join(lines)


def _sample(items: list[Any], count: int) -> list[Any]:
    """`count` items spread evenly over `items`, always the same ones."""
    if len(items) <= count:
        return items
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]


# ------------------------------------------------------------------ the mutations
def removed_required_keys(base: str, text: str, limit: int | None) -> Iterator[Case]:
    found = list(_required_keys(base, text))
    yield from found if limit is None else _sample(found, limit)


def _required_keys(base: str, text: str) -> Iterator[Case]:
    raw, source = load_yaml(text, base)
    for path, model in _mappings(raw, models.Spec):
        mapping = _at(raw, path)
        for key, info in _keys(model).items():
            position = source.keys.get((*path, key))
            if not info.is_required() or key not in mapping or position is None:
                continue
            if not _own_line(text, position.line, key):
                continue
            where = "/".join(str(p) for p in (*path, key))
            yield Case(
                f"{base}:remove:{where}",
                _remove_key(text, position.line),
                codes=("S002", "S000", "S003"),
                words=f"`{key}",
            )


def key_typos(base: str, text: str, limit: int | None) -> Iterator[Case]:
    raw, source = load_yaml(text, base)
    found = []
    for path, model in _mappings(raw, models.Spec):
        known = _keys(model)
        for key in _at(raw, path):
            position = source.keys.get((*path, key))
            typo = _typo(key)
            if position is None or typo in known or not _own_line(text, position.line, key):
                continue
            found.append((path, key, typo, position))
    for path, key, typo, position in found if limit is None else _sample(found, limit):
        where = "/".join(str(p) for p in (*path, key))
        yield Case(
            f"{base}:typo-key:{where}",
            _replace_on_line(text, position.line, f"{key}:", f"{typo}:"),
            position.line,
            ("S001",),
            position.column,
            f"`{typo}`",
        )


_EXPRESSION_KEYS = {"accept", "exclude", "applies_to", "numerator", "denominator", "limit"}
_EXPRESSION_KEYS |= {"observation", "initial_population", "start", "end"}
_UNIT = re.compile(r"\b\d+ (working days?|weeks?|days?|hours?|months?)\b")


def expression_typos(base: str, text: str) -> Iterator[Case]:
    """In one-line expressions of rules: a field, a function and a unit misspelt."""
    raw, source = load_yaml(text, base)
    fields = {
        name
        for dataset in raw.get("datasets", {}).values()
        for name in (*dataset.get("fields", {}), *dataset.get("derived", {}))
    }
    seen: set[str] = set()
    for section in ("eligibility", "response_times", "kpis"):
        for index, rule in enumerate(raw.get(section) or []):
            for key in sorted(_EXPRESSION_KEYS & set(rule)):
                value, position = rule[key], source.values.get((section, index, key))
                if not isinstance(value, str) or position is None or position.style:
                    continue
                if position.line != position.end_line:
                    continue
                line = position.line
                call = re.search(r"\b([a-z_]+)\(", value)
                if call and "function" not in seen:
                    seen.add("function")
                    name = call.group(1)
                    yield Case(
                        f"{base}:typo-function:{section}/{index}/{key}",
                        _replace_on_line(text, line, f"{name}(", f"{_typo(name)}("),
                        line,
                        ("E204",),
                        words=f"`{_typo(name)}`",
                    )
                unit = _UNIT.search(value)
                if unit and "unit" not in seen:
                    seen.add("unit")
                    yield Case(
                        f"{base}:typo-unit:{section}/{index}/{key}",
                        _sub_in_value(
                            text, position, re.escape(unit.group(0)), unit.group(0) + "z"
                        ),
                        line,
                        ("E101",),
                        words=unit.group(1)[:3],
                    )
                names = [w for w in re.findall(r"\b[a-z_][a-z0-9_]*\b", value) if w in fields]
                if names and len(seen) < 6:
                    seen.add(f"field{len(seen)}")
                    typo = _typo(names[0])
                    yield Case(
                        f"{base}:typo-field:{section}/{index}/{key}",
                        _sub_in_value(text, position, rf"\b{names[0]}\b", typo),
                        line,
                        ("E202", "E203"),
                        words=f"`{typo}`",
                    )


def _sub_in_value(text: str, position: Any, pattern: str, new: str) -> str:
    """`text` with the first match of `pattern` in the one-line value at `position` replaced."""
    lines = text.split("\n")
    line, start = lines[position.line - 1], position.column - 1
    lines[position.line - 1] = line[:start] + re.sub(pattern, new, line[start:], count=1)
    return "\n".join(lines)


def impossible_dates(base: str, text: str) -> Iterator[Case]:
    """Plain dates of the spec (contract, extensions, examples), each made 31 February."""
    _, source = load_yaml(text, base)
    lines = text.split("\n")
    found = []
    for path, position in source.values.items():
        line = lines[position.line - 1]
        written = line[position.column - 1 : position.column + 9]
        if position.style is None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", written):
            found.append((path, position, written))
    for path, position, written in _sample(found, DATES_PER_BASE):
        yield Case(
            f"{base}:date:{'/'.join(map(str, path))}",
            _replace_on_line(text, position.line, written, written[:4] + "-02-31"),
            position.line,
            ("Y010",),
            position.column,
            "not a real date",
        )


def _line_of(text: str, needle: str) -> int:
    return text.count("\n", 0, text.index(needle)) + 1


def yaml_tricks(base: str, text: str) -> Iterator[Case]:
    """The same tricks on every base, each at a known line."""
    lines = text.split("\n")
    title = _line_of(text, "\ntitle:") + 1
    contract = _line_of(text, "\ncontract:") + 1
    tricks: list[tuple[str, str | bytes, int | None, tuple[str, ...]]] = [
        ("tab", text.replace("\ncontract:\n  ", "\ncontract:\n\t", 1), contract + 1, ("Y007",)),
        ("str-tag", _replace_on_line(text, title, "title: ", "title: !!str "), title, ("Y003",)),
        (
            "python-tag",
            _replace_on_line(text, title, "title: ", "title: !!python/object/apply:os.system "),
            title,
            ("Y003",),
        ),
        ("local-tag", _replace_on_line(text, title, "title: ", "title: !note "), title, ("Y003",)),
        ("anchor", _replace_on_line(text, title, "title: ", "title: &t "), title, ("Y009",)),
        (
            "merge-key",
            text.replace("\ncontract:\n", "\ncontract:\n  <<: *defaults\n", 1),
            contract + 1,
            ("Y009",),
        ),
        (
            "duplicate-key",
            text.replace("\ntitle:", "\ntitle: again\ntitle:", 1),
            title + 1,
            ("Y002",),
        ),
        ("second-document", text + "\n---\nspecrules: 1\n", len(lines) + 1, ("Y012",)),
        ("nul", _replace_on_line(text, title, "title: ", "title: \x00"), title, ("Y011",)),
        (
            "bom-mid-file",
            _replace_on_line(text, title, "title: ", "\ufefftitle: "),
            title,
            ("S001",),
        ),
        (
            "not-utf8",
            _replace_on_line(text, title, "title: ", "title: \udce9").encode(
                "utf-8", "surrogateescape"
            ),
            title,
            ("F002",),
        ),
        (
            "deep-yaml",
            _replace_on_line(text, title, "title: ", "title: " + "[" * 100_000),
            title,
            ("Y004",),
        ),
        ("huge", text + "\n#" + "x" * MAX_BYTES + "\n", 1, ("Y006",)),
        ("not-a-mapping", "- " + text.replace("\n", "\n  "), None, ("S000", "Y001")),
        ("wrong-version", text.replace("specrules: 1", "specrules: 2", 1), None, ("S003",)),
        (
            "contract-list",
            text.replace("\ncontract:\n", "\ncontract: []\nx_contract:\n", 1),
            None,
            (),
        ),
    ]
    for name, mutated, line, codes in tricks:
        if mutated != text:
            yield Case(f"{base}:yaml:{name}", mutated, line, codes)


# By hand, on the spec `specrules new` writes: wrong types, values, nesting, sizes.
NEW_EDITS = [
    ("accept: age >= 18", 'accept: age >= "18"', ("E201",), "without quotes"),
    ("accept: age >= 18", "accept: 18", ("S003",), "not text"),
    ("accept: age >= 18", "accept: [age]", ("E101", "S003"), ""),
    ("accept: age >= 18", "accept: {age: 18}", ("S003",), ""),
    ("accept: age >= 18", 'accept: source = "GPP"', ("E205",), "did you mean `GP`?"),
    ("accept: age >= 18", "accept: source == GPX", ("E202",), 'write "GPX"'),
    ("accept: age >= 18", "accept: ended_on != null", ("E202",), ""),
    ("accept: age >= 18", "accept: isnull(age)", ("E204",), "is missing"),
    ("accept: age >= 18", "accept: age >= 18 and", ("E101",), "ends too soon"),
    ("accept: age >= 18", "accept: age >= (((18)", ("E101",), ""),
    ("accept: age >= 18", "accept: age >= " + "(" * 80 + "18" + ")" * 80, ("E101",), "nested"),
    ("accept: age >= 18", "accept: " + "not " * 300 + "age >= 18", ("E101",), "nested"),
    ("accept: age >= 18", "accept: age >= " + "- " * 1000 + "18", ("E101",), "nested"),
    ("accept: age >= 18", "accept: age >= " + "1 + " * 1500 + "1", ("E101", "S003"), ""),
    ("accept: age >= 18", "accept: age >= 123456789012345678", ("E101",), "too large"),
    ("accept: age >= 18", "accept: age / 0 >= 1", ("E210",), "always 0"),
    ("accept: age >= 18", "accept: age / (age - age) >= 1", ("E210",), "always 0"),
    ("accept: age >= 18", "accept: received_on < 2023-02-30", ("E101",), "not a real date"),
    ("accept: age >= 18", "accept: received_on < 2024-01-15T25:61", ("E101",), "not a real"),
    ("accept: age >= 18", "accept: received_on < 2024-10-27T01:30+01:00", ("E101",), "offset"),
    ("accept: age >= 18", "accept: age >= 18 && age < 99", ("E101",), "`and`"),
    ("accept: age >= 18", "accept: age => 18", ("E101",), ""),
    ("limit: 2 weeks", "limit: 2 mnths", ("E101",), "did you mean `months` (a unit)?"),
    ("limit: 2 weeks", "limit: 9999999999999999 weeks", ("E211",), "200 years"),
    ("accept: age >= 18", "accept: received_on + 9999 years > 2024-01-01", ("E211",), ""),
    ("threshold: at least 80%", "threshold: at most 99999 years", ("E211", "E308"), ""),
    ("limit: 2 weeks", "limit: 2", ("S003",), "not text"),
    ("limit: 2 weeks", "limit: 10 working days", ("E207",), "working_days"),
    ("clock: calendar_days", "clock: calender_days", ("S003",), "calendar_days"),
    ("target: 100%", "target: 150%", ("E302",), ""),
    ("target: 100%", "target: 1", ("S003",), "not text"),
    ("target: 100%", "target: 1 day", ("E301",), ""),
    ("limit: 2 weeks", "limit: 2 + 2", ("E206",), "duration"),
    ("threshold: at least 80%", "threshold: at least 0.8", ("E301",), "at least 80%"),
    ("threshold: at least 80%", "threshold: at least 80% by 2025-02-30", ("E102",), "real date"),
    ("threshold: at least 80%", "threshold: at lest 80%", ("E102",), ""),
    ("threshold: at least 80%", "threshold: between 90% and 80%", ("E303",), ""),
    ("threshold: at least 80%", "threshold: at least 80%\n    amber: 250%", ("E320",), ""),
    ("threshold: at least 80%", "threshold: [80%]", ("S003",), ""),
    ("threshold: at least 80%", "target: at least 80%", ("S001",), "`threshold`"),
    ("scoring: proportion", "scoring: proportional", ("S003",), "proportion"),
    ("scoring: count", "scoring: 7", ("S003",), ""),
    ("period: quarter", "period: mnths", ("S003",), "month"),
    ("monitoring_only: true", "monitoring_only: 2", ("S003",), ""),
    ("amount: 100000", "amount: 1e400", ("S003",), "finite"),
    ("amount: 100000", "amount: .nan", ("S003",), "finite"),
    ("amount: 100000", "amount: -5", ("S003",), ""),
    ("amount: 100000", "amount: £100,000", ("S003",), ""),
    ("per: year", "per: yaer", ("S003",), "year"),
    ("start: 2024-04-01", "start: 2024-04-31", ("Y010",), "real date"),
    ("start: 2024-04-01", "start: 01/04/2024", ("S003",), ""),
    ("start: 2024-04-01", "start: 2027-04-01", ("E309", "S003", "E304", "S305"), ""),
    ("end: 2027-03-31", "end: tomorrow", ("S003",), ""),
    ("until: 2028-03-31", "until: 2026-03-31", ("E309",), ""),
    ("until: 2028-03-31", "until: 9999-12-31", ("E321",), "2199-12-31"),
    ("start: 2024-04-01", "start: 0001-04-01", ("E321",), "1900-01-01"),
    ("periods: financial_year", "periods: fiscal_year", ("S003",), ""),
    ("monitoring: monthly", "monitoring: montly", ("S003",), "monthly"),
    ("kind: exception_report", "kind: exception", ("S003",), "exception_report"),
    ("key: referral_id", "key: referal_id", ("S101",), "referral_id"),
    ("date: received_on", "date: recieved_on", ("E202",), "received_on"),
    ("age: integer", "age: integr", ("S003",), "integer"),
    ("age: integer", "age: [integer]", ("S003",), ""),
    ("values: [GP, self, other]", "values: [GP, GP, self]", ("S003",), "repeated"),
    ("values: [GP, self, other]", "values: []", ("S003",), ""),
    ("values: [GP, self, other]", "values: GP", ("S003",), ""),
    ("type: enumeration", "type: enumerattion", ("S003",), "enumeration"),
    ("dataset: referrals", "dataset: referral", ("S202",), "referrals"),
    ("consequence: exception_report", "consequence: exception_reprot", ("S203",), ""),
    ("breakdowns: [source]", "breakdowns: [sources]", ("S204",), "source"),
    ("breakdowns: [source]", "breakdowns: source", ("S003",), ""),
    ("id: aged_18_or_over", "id: aged 18 or over", ("S003",), ""),
    ("id: referrals_received", "id: aged_18_or_over", ("S201",), ""),
    ('section: "3.2 Care pathway"', 'section: "3.2"\n      line: -3', ("S003",), "below 1"),
    ('section: "3.2 Care pathway"', "section: [3.2]", ("S003",), ""),
    ("aged_18_or_over: monitoring", "aged_18_or_ovr: monitoring", ("S303",), "aged_18_or_over"),
    ("aged_18_or_over: monitoring", "aged_18_or_over: failed", ("S304",), ""),
    ("{referral_id: r1,", "{referal_id: r1,", ("S302",), "referral_id"),
    ("specrules: 1  ", "specrules: one", ("S003",), ""),
    ("title: ", "title: \n  - a list\ntitlx: ", ("S003", "S001"), ""),
    ("datasets:\n", "datasets: 3\nx_datasets:\n", ("S003", "S001"), ""),
    ("kpis:\n", "kpis: {}\nx_kpis:\n", ("S003", "S001"), ""),
    ("eligibility:\n", "eligibility:\n  - 42\nx_eligibility:\n", ("S003", "S001"), ""),
]


def new_spec_edits() -> Iterator[Case]:
    text = BASES["new"]
    for number, (old, new, codes, words) in enumerate(NEW_EDITS):
        assert old in text, old
        index = text.index(old)
        line = text.count("\n", 0, index) + 1
        yield Case(
            f"new:edit:{number}:{new[:30]}", text.replace(old, new, 1), None, codes, None, words
        )
        del line  # the mistake may be reported on the key, its value or the next line


def corpus() -> list[Case]:
    cases: list[Case] = []
    for base, text in BASES.items():
        shipped = base != "new"
        cases.extend(
            removed_required_keys(base, text, REMOVALS_PER_SHIPPED_SPEC if shipped else None)
        )
        cases.extend(key_typos(base, text, KEY_TYPOS_PER_SHIPPED_SPEC if shipped else None))
        cases.extend(expression_typos(base, text))
        cases.extend(impossible_dates(base, text))
        cases.extend(yaml_tricks(base, text))
    cases.extend(new_spec_edits())
    return cases


CORPUS = corpus()


def test_the_corpus_is_large_and_its_bases_are_valid() -> None:
    assert len(CORPUS) >= 300, len(CORPUS)
    assert len({case.name for case in CORPUS}) == len(CORPUS)
    for base, text in BASES.items():
        loads(text, base)  # each mutation is one edit away from a valid spec


@pytest.mark.parametrize("case", CORPUS, ids=repr)
def test_a_broken_spec_is_refused_where_it_is_broken(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spec.yaml"
    if isinstance(case.text, bytes):
        path.write_bytes(case.text)
    else:
        path.write_text(case.text, encoding="utf-8")
    status = main(["validate", "--format", "json", str(path)])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    found = json.loads(out.out)
    errors = [d for d in found if d["severity"] == "error"]
    assert status == 1 and errors, found
    size = len(case.text) if isinstance(case.text, bytes) else len(case.text.encode())
    last_line = (case.text.count(b"\n" if isinstance(case.text, bytes) else "\n")) + 2
    for diagnostic in found:
        assert diagnostic["file"] == str(path)
        assert 1 <= diagnostic["line"] <= last_line and diagnostic["column"] >= 1, diagnostic
        assert diagnostic["message"]
    here = [d for d in errors if case.line is None or d["line"] == case.line]
    if case.codes:
        here = [d for d in here if d["code"] in case.codes]
    assert here, (case.line, case.codes, errors)
    if case.column is not None:
        assert any(d["column"] == case.column for d in here), (case.column, here)
    if case.words:
        assert any(case.words in d["message"] + (d["hint"] or "") for d in here), here
    if size <= MAX_BYTES and not isinstance(case.text, bytes):
        with pytest.raises(SpecError):
            loads(case.text, str(path))
