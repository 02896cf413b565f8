"""`specrules validate`: every problem in a spec file at once, never a traceback.

`specrules.loads` stops at the first layer that fails: when the schema check (pydantic)
finds a problem, no expression is parsed. A linter should say more. `lint_text` reports the
schema problems, then sets aside only the parts they were found in (a rule, a dataset, a
field, a consequence, the contract) and compiles the rest, so a misspelt key in one rule
does not hide a type error in another. Problems that only follow from a part set aside
(a rule naming a dataset that was set aside) are not reported twice.

An optional key with a bad value (`percentile: 150`, a dataset's `date: 5`) is set aside on
its own, so the rest of its rule or dataset is still checked; but its absence can itself
look like a mistake (`aggregate: percentile` without a centile, rows with no date). Such a
problem goes away when the key is given a valid value instead, so each key set aside is
tried with a stand-in (a value the same key has elsewhere in the spec, the schema's example,
a field of the dataset): the problems the stand-in removes, without bringing any of its own,
followed from setting the key aside and are not reported.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from specrules.errors import Diagnostic, SpecError
from specrules.spec import models
from specrules.spec.compiler import compile_spec
from specrules.spec.diagnose import diagnostics_from_validation
from specrules.spec.extends import load_spec_yaml
from specrules.spec.yaml_source import Position, SourceMap, read_spec_text

RULE_SECTIONS = ("eligibility", "response_times", "kpis", "examples")
TEXT_KEYS = {"title", "commissioner", "source_document", "section", "text", "name"}
PLACEHOLDER_CONTRACT = {"start": dt.date(1900, 1, 1), "end": dt.date(2999, 12, 31)}
# Reference problems that a part set aside would cause; reported only if they name
# something that was never set aside.
REFERENCE_CODES = {
    "S101",
    "S102",
    "S202",
    "S203",
    "S204",
    "S205",
    "S208",
    "S301",
    "S302",
    "S303",
    "E202",
    "E203",
}
CONTRACT_CODES = {"E304", "E309", "E310", "E321", "S305", "W307"}
MAX_PASSES = 12


@dataclass
class _SetAside:
    names: set[str] = field(default_factory=set)  # datasets, fields, links, consequences
    contract: bool = False
    rules: bool = False  # whether any rule was set aside
    # optional keys with a bad value removed from a rule or a dataset: (that part, its key)
    keys: list[tuple[dict[str, Any], str]] = field(default_factory=list)


class _Remapped(SourceMap):
    """A source map for a copy of the spec from which list items were removed."""

    def __init__(self, base: SourceMap, index_maps: dict[str, list[int]]):
        super().__init__(base.file, base.text, base.values, base.keys, base.texts)
        self.index_maps = index_maps

    def _original(self, path: tuple[str | int, ...]) -> tuple[str | int, ...]:
        path = tuple(path)
        if len(path) >= 2 and path[0] in self.index_maps and isinstance(path[1], int):
            mapping = self.index_maps[str(path[0])]
            if 0 <= path[1] < len(mapping):
                return (path[0], mapping[path[1]], *path[2:])
        return path

    def position(self, path: tuple[str | int, ...]) -> Position:
        return SourceMap.position(self, self._original(path))

    def key_position(self, path: tuple[str | int, ...]) -> Position:
        original = self._original(path)
        return self.keys.get(original) or SourceMap.position(self, original)


def lint_file(path: str | Path) -> list[Diagnostic]:
    """Every problem in the spec file at `path`, errors and warnings, in file order."""
    try:
        text = read_spec_text(path)
    except SpecError as exc:
        return exc.diagnostics
    return lint_text(text, str(path))


def lint_text(text: str, file: str = "<spec>") -> list[Diagnostic]:
    """Every problem in a spec's text. Never raises for bad input."""
    try:
        raw, source = load_spec_yaml(text, file)
    except SpecError as exc:
        return exc.diagnostics
    if not isinstance(raw, dict):
        return [
            Diagnostic(
                "S000",
                "a spec is a mapping of keys (specrules:, title:, contract:, datasets:, …)",
                file,
                1,
                1,
                "start from `specrules new`, which writes a spec with every section",
            )
        ]
    found: list[Diagnostic] = []
    try:
        models.Spec.model_validate(raw)
    except ValidationError as exc:
        found.extend(diagnostics_from_validation(exc, raw, source, models.Spec))
    work = copy.deepcopy(raw)
    index_maps = {
        section: list(range(len(work[section])))
        for section in RULE_SECTIONS
        if isinstance(work.get(section), list)
    }
    aside = _SetAside()
    spec = _salvage(work, index_maps, aside)
    if spec is not None:
        remapped = _Remapped(source, index_maps)
        _, problems = compile_spec(spec, remapped)
        owed = _owed_to_keys_set_aside(work, remapped, set(problems), aside)
        found.extend(p for p in problems if not _follows_from(p, aside) and p not in owed)
    return _in_order(found)


def _in_order(found: list[Diagnostic]) -> list[Diagnostic]:
    unique = list(dict.fromkeys(found))
    return sorted(unique, key=lambda d: (d.file, d.line, d.column, d.code))


def _follows_from(problem: Diagnostic, aside: _SetAside) -> bool:
    if aside.contract and problem.code in CONTRACT_CODES:
        return True
    if problem.code == "W306" and (aside.rules or any(k == "consequence" for _, k in aside.keys)):
        return True  # the rule using it may be the one set aside, or its `consequence` key
    if problem.code not in REFERENCE_CODES:
        return False
    named = set(re.findall(r"`([^`]+)`", problem.message))
    return bool(named & aside.names)


# ------------------------------------------------------------------ salvage
def _salvage(
    work: dict[str, Any], index_maps: dict[str, list[int]], aside: _SetAside
) -> models.Spec | None:
    """Validate `work`, setting aside the parts that fail, until what is left validates."""
    for _ in range(MAX_PASSES):
        try:
            return models.Spec.model_validate(work)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
        except (RecursionError, ValueError, TypeError):  # pragma: no cover - defensive
            return None
        if not _set_aside(work, errors, index_maps, aside):
            return None
        _drop_dangling(work, index_maps, aside)
    return None


def _set_aside(
    work: dict[str, Any],
    errors: list[Any],
    index_maps: dict[str, list[int]],
    aside: _SetAside,
) -> bool:
    """Remove or patch the parts of `work` the errors point at; False if none could be."""
    changed = False
    doomed: dict[str, set[int]] = {}
    for error in errors:
        loc = tuple(error["loc"])
        kind = error["type"]
        if not loc:
            return False
        top = loc[0]
        if kind == "extra_forbidden" and _delete_key(work, loc):
            changed = True
            continue
        if kind == "missing" and str(loc[-1]) in TEXT_KEYS and _fill_text(work, loc):
            changed = True
            continue
        if kind == "missing" and loc[-1] == "source" and _fill_source(work, loc):
            changed = True
            continue
        if top in RULE_SECTIONS:
            if len(loc) >= 3 and _drop_optional_key(work, loc, aside):
                pass  # an optional key with a bad value: check the rest of the rule
            elif len(loc) >= 2 and isinstance(loc[1], int):
                doomed.setdefault(str(top), set()).add(loc[1])
            else:
                work[top] = []
                index_maps[str(top)] = []
                aside.rules = True
            changed = True
        elif top == "datasets":
            if len(loc) < 2 or not isinstance(work.get("datasets"), dict):
                return False
            changed |= _set_aside_in_dataset(work, loc, aside)
        elif top == "consequences":
            if len(loc) >= 3 and _drop_optional_key(work, loc, aside):
                pass  # an optional key with a bad value: the consequence stays
            elif len(loc) >= 2 and isinstance(work.get("consequences"), dict):
                aside.names.add(str(loc[1]))
                work["consequences"].pop(loc[1], None)
            else:
                work["consequences"] = {}
            changed = True
        elif top == "contract":
            work["contract"] = dict(PLACEHOLDER_CONTRACT)
            aside.contract = True
            changed = True
        elif top == "specrules":
            work["specrules"] = 1
            changed = True
        elif top in ("title", "commissioner", "source_document"):
            work[top] = "(set aside)"
            changed = True
        elif top in ("provider", "service", "note"):
            work.pop(top, None)
            changed = True
        else:
            return False
    for section, indexes in doomed.items():
        items = work.get(section)
        if not isinstance(items, list):
            continue
        for index in sorted(indexes, reverse=True):
            if index < len(items):
                _forget_rule(items[index], aside, section)
                del items[index]
                del index_maps[section][index]
    return changed


SECTION_MODELS: dict[str, type[models.BaseModel]] = {
    "eligibility": models.Eligibility,
    "response_times": models.ResponseTime,
    "kpis": models.KPI,
    "examples": models.Example,
}
MAPPING_MODELS: dict[str, type[models.BaseModel]] = {
    "datasets": models.Dataset,
    "consequences": models.Consequence,
}


def _drop_optional_key(work: dict[str, Any], loc: tuple[Any, ...], aside: _SetAside) -> bool:
    """Delete the key of a rule, dataset or consequence whose value is wrong when the key
    may be left out."""
    model = {**SECTION_MODELS, **MAPPING_MODELS}[str(loc[0])]
    info = model.model_fields.get(str(loc[2]))
    part = _walk(work, loc[:2])
    if info is None or info.is_required() or not isinstance(part, dict) or loc[2] not in part:
        return False
    del part[loc[2]]
    aside.keys.append((part, str(loc[2])))
    return True


MAX_STAND_INS = 8  # values tried for one key set aside
MAX_COMPILES = 30  # compiles with stand-ins for one spec: a bound on validate's time
NAMES_OF = {"consequence": "consequences"}  # a key naming an entry of a section
# a rule's keys naming fields of its dataset, and a stand-in made of one field's name
FIELD_KEYS: dict[str, Any] = {"breakdowns": lambda name: [name], "distinct": str, "date": str}


def _owed_to_keys_set_aside(
    work: dict[str, Any], source: SourceMap, problems: set[Diagnostic], aside: _SetAside
) -> set[Diagnostic]:
    """The problems that only arise because a key with a bad value was set aside: each goes
    away when the key is given a valid stand-in that brings no problem of its own."""
    owed: set[Diagnostic] = set()
    compiles = 0
    for part, key in aside.keys:
        model = _model_of(work, part)
        if model is None or key in part or not problems - owed:
            continue  # the part was set aside since, the key is back, or nothing to explain
        for stand_in in _stand_ins(work, part, key, model):
            if compiles >= MAX_COMPILES:
                return owed
            part[key] = stand_in
            try:
                trial = models.Spec.model_validate(work)
            except ValidationError:
                continue
            finally:
                del part[key]
            _, found = compile_spec(trial, source)
            compiles += 1
            if set(found) <= problems:
                owed |= problems - set(found)
                break
    return owed


def _model_of(work: dict[str, Any], part: dict[str, Any]) -> type[models.BaseModel] | None:
    """The model of a rule or dataset still in `work` (found by identity), else None."""
    for section, model in SECTION_MODELS.items():
        if any(item is part for item in work.get(section) or []):
            return model
    for section, model in MAPPING_MODELS.items():
        entries = work.get(section)
        if isinstance(entries, dict) and any(entry is part for entry in entries.values()):
            return model
    return None


def _stand_ins(
    work: dict[str, Any], part: dict[str, Any], key: str, model: type[models.BaseModel]
) -> list[Any]:
    """Valid values to try for `key`, the likeliest first: a dataset's own date fields, the
    names the key may refer to (`consequence`), the values it has elsewhere in the spec,
    the schema's examples."""
    values: list[Any] = []
    fields = part.get("fields")
    if model is models.Dataset and key == "date" and isinstance(fields, dict):
        values += [name for name, kind in fields.items() if _dated(kind)]
    if model in SECTION_MODELS.values() and key in FIELD_KEYS:  # fields of the rule's dataset
        values += [FIELD_KEYS[key](name) for name in _fields_of(work, part.get("dataset"))]
    if key in NAMES_OF and isinstance(work.get(NAMES_OF[key]), dict):
        values += list(work[NAMES_OF[key]])
    values += [
        item[key]
        for section in (*SECTION_MODELS, *MAPPING_MODELS)
        for item in _items(work.get(section))
        if item is not part and key in item
    ]
    values += model.model_fields[key].examples or []
    unique = list({repr(v): v for v in values}.values())
    return [copy.deepcopy(v) for v in unique[:MAX_STAND_INS]]


def _fields_of(work: dict[str, Any], dataset: Any) -> list[str]:
    """A dataset's field names, enumerations first (the likeliest breakdowns)."""
    datasets = work.get("datasets")
    found = (
        datasets.get(dataset) if isinstance(datasets, dict) and isinstance(dataset, str) else None
    )
    fields = found.get("fields") if isinstance(found, dict) else None
    if not isinstance(fields, dict):
        return []
    return sorted(fields, key=lambda name: not _enumeration(fields[name]))


def _enumeration(kind: Any) -> bool:
    return (kind.get("type") if isinstance(kind, dict) else kind) == "enumeration"


def _dated(kind: Any) -> bool:
    kind = kind.get("type") if isinstance(kind, dict) else kind
    return kind in ("date", "datetime")


def _items(section: Any) -> list[dict[str, Any]]:
    items = section.values() if isinstance(section, dict) else section or []
    return [item for item in items if isinstance(item, dict)]


def _forget_rule(rule: Any, aside: _SetAside, section: str) -> None:
    aside.rules = True
    if isinstance(rule, dict) and isinstance(rule.get("id"), str):
        aside.names.add(rule["id"])
    if section == "eligibility":  # other rules' `eligible` may have needed this criterion
        aside.names.add("eligible")


def _fill_source(work: dict[str, Any], loc: tuple[Any, ...]) -> bool:
    parent = _walk(work, loc[:-1])
    if isinstance(parent, dict):
        parent["source"] = {"section": "(missing)"}
        return True
    return False


def _set_aside_in_dataset(work: dict[str, Any], loc: tuple[Any, ...], aside: _SetAside) -> bool:
    datasets = work["datasets"]
    name = loc[1]
    if name not in datasets:
        return False
    dataset = datasets[name]
    part = loc[2] if len(loc) >= 3 else None
    if (
        isinstance(dataset, dict)
        and part in ("fields", "links", "derived")
        and len(loc) >= 4
        and isinstance(dataset.get(part), dict)
    ):
        # One bad field, link or derived field: set aside just that one (a union type
        # reports one error per branch, so it may be gone already).
        if loc[3] in dataset[part]:
            aside.names.add(str(loc[3]))
            del dataset[part][loc[3]]
            return True
        if str(loc[3]) in aside.names:
            return True
    if isinstance(dataset, dict) and part in ("date", "description"):  # a union: maybe gone
        if dataset.pop(part, None) is not None:
            aside.keys.append((dataset, str(part)))
        return True
    if part is not None and _drop_optional_key(work, loc, aside):
        return True  # another optional key with a bad value (`timezone`): the dataset stays
    aside.names.add(str(name))
    del datasets[name]
    return True


def _delete_key(work: dict[str, Any], loc: tuple[Any, ...]) -> bool:
    parent = _walk(work, loc[:-1])
    if isinstance(parent, dict) and loc[-1] in parent:
        del parent[loc[-1]]
        return True
    return False


def _fill_text(work: dict[str, Any], loc: tuple[Any, ...]) -> bool:
    parent = _walk(work, loc[:-1])
    if isinstance(parent, dict):
        parent[loc[-1]] = "(missing)"
        return True
    if loc[-1] == "section":  # `source:` written as a bare text: keep it as the section
        grandparent = _walk(work, loc[:-2])
        if isinstance(grandparent, dict) and isinstance(loc[-2], str):
            grandparent[loc[-2]] = {"section": "(missing)"}
            return True
    return False


def _walk(value: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        in_dict = isinstance(value, dict) and part in value
        in_list = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        if not (in_dict or in_list):
            return None
        value = value[part]
    return value


def _drop_dangling(
    work: dict[str, Any], index_maps: dict[str, list[int]], aside: _SetAside
) -> None:
    """Remove what depends on a part set aside: rules over a dataset, links, consequences."""
    datasets = work.get("datasets")
    if not isinstance(datasets, dict):
        return
    for dataset in datasets.values():
        links = dataset.get("links") if isinstance(dataset, dict) else None
        if isinstance(links, dict):
            for link_name, link in list(links.items()):
                if isinstance(link, dict) and link.get("dataset") in aside.names:
                    aside.names.add(str(link_name))
                    del links[link_name]
    for section in ("eligibility", "response_times", "kpis"):
        items = work.get(section)
        if not isinstance(items, list):
            continue
        for index in range(len(items) - 1, -1, -1):
            rule = items[index]
            if not isinstance(rule, dict):
                continue
            if rule.get("dataset") in aside.names and rule.get("dataset") not in datasets:
                _forget_rule(rule, aside, section)
                del items[index]
                del index_maps[section][index]
        # a rule naming a consequence set aside keeps the name: its S203 (undeclared) names
        # something set aside, so it is not reported, and no W305 (no consequence) is invented
