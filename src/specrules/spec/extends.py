"""`extends:` — a spec built on another (a local spec on a national standard), without copying.

A spec says `extends: national/rtt_incomplete.yaml` (relative to its own folder and inside it,
like a consequence's template; `national/<name>.yaml` with no such file there is the library
that ships with specrules), may change the base's rules by id under `overrides:`, and may
add rules, datasets and fields of its own. The two files are merged as plain YAML values,
before the model is built, and each value keeps its position in the file it came from, so a
mistake in either is reported at its own file:line:col.

- Mappings (contract, datasets, a dataset's fields, consequences …) merge key by key, the
  extending spec winning; any other value it gives replaces the base's.
- Rule lists (eligibility, response_times, kpis): the base's rules, then the extending
  spec's; a rule id the base already has is refused (change it under `overrides:`).
- The base's worked `examples` are not carried over: they check the base's own figures,
  which overrides may change; the extending spec writes its own.
- `overrides: {rule_id: {key: value}}` replaces those keys of that rule (a mapping merges key
  by key); `{add: [...]}` as the value of a list key appends to the base's list (a local
  breakdown, a local exclusion).
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any, NoReturn

from specrules.errors import SpecError, did_you_mean
from specrules.library import NATIONAL_LIBRARY
from specrules.spec.confined import OutsideFolder, confined
from specrules.spec.yaml_source import Path_, SourceMap, load_yaml, read_spec_text

RULE_LISTS = ("eligibility", "response_times", "kpis")
MAX_CHAIN = 5  # a spec extending a spec extending …: more than this is surely a mistake


def load_spec_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """`load_yaml`, then the base spec merged in when the spec says `extends:`."""
    raw, source = load_yaml(text, file)
    return _resolve(raw, source, [_identity(file)])


def _resolve(raw: Any, source: SourceMap, chain: list[Path]) -> tuple[Any, SourceMap]:
    if not isinstance(raw, dict):
        return raw, source
    if "extends" not in raw:
        if "overrides" in raw:
            _fail(
                source,
                ("overrides",),
                "X005",
                "`overrides:` changes the rules of the spec this one extends, but there is no "
                "`extends:`",
                "add `extends: <path of the base spec>` or remove `overrides:`",
                key=True,
            )
        return raw, source
    base_file = _base_path(raw["extends"], source)
    if base_file in chain:
        _fail(
            source,
            ("extends",),
            "X003",
            "`extends:` goes round in a circle: " + " → ".join(p.name for p in [*chain, base_file]),
            "a spec cannot extend itself, directly or through another spec",
        )
    if len(chain) > MAX_CHAIN:
        _fail(source, ("extends",), "X003", f"more than {MAX_CHAIN} specs extend one another")
    base_raw, base_source = load_yaml(read_spec_text(base_file), str(base_file))
    base_raw, base_source = _resolve(base_raw, base_source, [*chain, base_file])
    if not isinstance(base_raw, dict):
        _fail(source, ("extends",), "X002", f"{raw['extends']} is not a spec (not a mapping)")
    return _merge(base_raw, base_source, raw, source)


def _identity(file: str) -> Path:
    return Path(file).resolve()


def _base_path(value: Any, source: SourceMap) -> Path:
    """The base spec's file: relative to the spec's folder and inside it, never elsewhere."""
    where = ("extends",)
    if not isinstance(value, str) or not value.strip():
        _fail(source, where, "X001", "`extends:` takes the path of a spec file", _EXAMPLE)
    if source.file.startswith("<"):  # text with no file: no folder to stay inside
        _fail(
            source,
            where,
            "X001",
            "a spec given as text cannot extend another: it has no folder",
            "load the spec from its file (specrules.load(path)) so `extends:` has a folder",
        )
    try:
        path = confined(value, Path(source.file).parent)
    except OutsideFolder as why:
        hint = "a spec extends specs in its own folder or a folder below it; " + _EXAMPLE
        _fail(source, where, "X001", f"`extends: {value}` {why}", hint)
    parts = value.replace("\\", "/").split("/")
    shipped = NATIONAL_LIBRARY / parts[-1]
    if not path.is_file() and len(parts) == 2 and parts[0] == "national" and shipped.is_file():
        return shipped  # the library that ships with specrules, when the folder has no copy
    if not path.is_file():
        _fail(
            source,
            where,
            "X002",
            f"`extends: {value}`: no such spec file ({path})",
            "the path is relative to the folder of this spec file",
        )
    return path


_EXAMPLE = "write a path relative to this spec's folder, such as national/rtt_incomplete.yaml"


def _merge(
    base: dict[str, Any], base_source: SourceMap, local: dict[str, Any], source: SourceMap
) -> tuple[dict[str, Any], SourceMap]:
    merged = SourceMap(source.file, source.text)
    merged.texts = {**base_source.texts, base_source.file: base_source.text, **source.texts}
    _copy(base_source, (), merged, (), base_source.file)
    if () in source.values:
        merged.values[()] = source.values[()]
    result = copy.deepcopy(base)
    if result.pop("examples", None) is not None:
        _drop(merged, ("examples",))
        merged.values.pop(("examples",), None)
        merged.keys.pop(("examples",), None)
    base_ids = _rule_ids(result)
    for key, value in local.items():
        if key in ("extends", "overrides"):
            continue
        if key in RULE_LISTS and isinstance(value, list) and isinstance(result.get(key), list):
            start = len(result[key])
            for index, item in enumerate(value):
                rule_id = item.get("id") if isinstance(item, dict) else None
                if isinstance(rule_id, str) and rule_id in base_ids:
                    _fail(
                        source,
                        (key, index, "id"),
                        "X004",
                        f"rule `{rule_id}` is already in the spec this one extends",
                        f"change it under `overrides: {{{rule_id}: {{…}}}}`, or give this "
                        "rule another id",
                    )
                _copy(source, (key, index), merged, (key, start + index), None)
            result[key] = [*result[key], *copy.deepcopy(value)]
            _copy_key(source, (key,), merged, (key,))
        else:
            result[key] = _merge_value(result.get(key), value, (key,), (key,), source, merged)
    if "overrides" in local:
        _override(result, local["overrides"], source, merged)
    return result, merged


def _rule_ids(spec: dict[str, Any]) -> dict[str, tuple[str, int]]:
    found: dict[str, tuple[str, int]] = {}
    for section in RULE_LISTS:
        items = spec.get(section)
        for index, rule in enumerate(items if isinstance(items, list) else []):
            if isinstance(rule, dict) and isinstance(rule.get("id"), str):
                found.setdefault(rule["id"], (section, index))
    return found


def _override(result: dict[str, Any], overrides: Any, source: SourceMap, merged: SourceMap):
    where = ("overrides",)
    if not isinstance(overrides, dict):
        _fail(source, where, "X005", "`overrides:` is a mapping from rule id to changes", _OVR)
    rules = _rule_ids(result)
    for rule_id, changes in overrides.items():
        if rule_id not in rules:
            _fail(
                source,
                (*where, rule_id),
                "X006",
                f"`overrides:` names rule `{rule_id}`, which the specs do not have",
                did_you_mean(rule_id, rules) or "rules: " + ", ".join(rules),
                key=True,
            )
        if not isinstance(changes, dict):
            _fail(source, (*where, rule_id), "X005", f"the changes to `{rule_id}`", _OVR)
        section, index = rules[rule_id]
        rule = result[section][index]
        for key, value in changes.items():
            origin, target = (*where, rule_id, key), (section, index, key)
            if key == "id":
                _fail(source, origin, "X005", "an override cannot change a rule's id", key=True)
            if isinstance(value, dict) and list(value) == ["add"]:
                rule[key] = _append(rule.get(key), value["add"], origin, target, source, merged)
            else:
                rule[key] = _merge_value(rule.get(key), value, origin, target, source, merged)
            _copy_key(source, origin, merged, target)


_OVR = "write for instance `overrides: {rtt_within_18_weeks: {breakdowns: [site]}}`"


def _append(
    existing: Any, added: Any, origin: Path_, target: Path_, source: SourceMap, merged: SourceMap
) -> list[Any]:
    if not isinstance(added, list):
        _fail(source, (*origin, "add"), "X005", "`add:` takes a list of items to append")
    if existing is None:
        existing = []
    if not isinstance(existing, list):
        _fail(
            source,
            origin,
            "X005",
            f"`{origin[-1]}` of the base rule is one value, not a list: nothing to add to",
            "write the whole value instead of `add:`",
            key=True,
        )
    for offset in range(len(added)):
        _copy(source, (*origin, "add", offset), merged, (*target, len(existing) + offset), None)
    return [*existing, *copy.deepcopy(added)]


def _merge_value(
    base: Any, local: Any, origin: Path_, target: Path_, source: SourceMap, merged: SourceMap
) -> Any:
    """`local` over `base`: mappings key by key, anything else replaced (positions too)."""
    if isinstance(base, dict) and isinstance(local, dict):
        out = dict(base)
        if origin in source.values:
            merged.values[target] = source.values[origin]
        for key, value in local.items():
            _copy_key(source, (*origin, key), merged, (*target, key))
            out[key] = _merge_value(
                base.get(key), value, (*origin, key), (*target, key), source, merged
            )
        return out
    _drop(merged, target)
    _copy(source, origin, merged, target, None)
    return copy.deepcopy(local)


def _copy(src: SourceMap, origin: Path_, dst: SourceMap, target: Path_, file: str | None) -> None:
    """Positions of the values under `origin` in `src`, as those under `target` in `dst`;
    `file` marks them as another file's (values of the spec being extended)."""
    n = len(origin)
    for table, into in ((src.values, dst.values), (src.keys, dst.keys)):
        for path, pos in table.items():
            if path[:n] == origin:
                moved = dataclasses.replace(pos, file=pos.file or file) if file else pos
                into[(*target, *path[n:])] = moved


def _copy_key(src: SourceMap, origin: Path_, dst: SourceMap, target: Path_) -> None:
    if origin in src.keys:
        dst.keys[target] = src.keys[origin]


def _drop(dst: SourceMap, target: Path_) -> None:
    n = len(target)
    for table in (dst.values, dst.keys):
        for path in [p for p in table if p[:n] == target and len(p) > n]:
            del table[path]


def _fail(
    source: SourceMap,
    path: Path_,
    code: str,
    message: str,
    hint: str | None = None,
    key: bool = False,
) -> NoReturn:
    raise SpecError([source.diagnostic(path, code, message, hint, key=key)])
