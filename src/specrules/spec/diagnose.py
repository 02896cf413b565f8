"""Turn pydantic validation errors into located, human diagnostics."""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from specrules.errors import Diagnostic, did_you_mean
from specrules.spec.yaml_source import SourceMap


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation such as `list[KPI] | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _model_in(args[0])
    if origin in (list, tuple) and args:
        return _model_in(args[0])
    if origin is dict and len(args) == 2:
        return _model_in(args[1])
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            found = _model_in(arg)
            if found is not None:
                return found
    return None


def _data_path(raw: Any, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Keep only the parts of a pydantic location that exist in the data (drop union tags)."""
    path: list[str | int] = []
    current = raw
    for part in loc:
        in_dict = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and part < len(current)
        if in_dict or in_list:
            current = current[part]
            path.append(part)
    return tuple(path)


def _model_at(root: type[BaseModel], raw: Any, path: tuple[str | int, ...]) -> type[BaseModel]:
    """The model class that validates the mapping at `path`."""
    model: type[BaseModel] = root
    current_annotation: Any = root
    current = raw
    for part in path:
        if (
            isinstance(current, dict)
            and isinstance(current_annotation, type)
            and issubclass(current_annotation, BaseModel)
        ):
            info = current_annotation.model_fields.get(str(part))
            if info is None:
                return model
            current_annotation = info.annotation
        else:
            current_annotation = _model_in(current_annotation) or current_annotation
        current = current[part] if isinstance(current, dict | list) else None
        found = _model_in(current_annotation)
        if found is not None and isinstance(current, dict):
            model = found
            current_annotation = found
    return model


def _cut_by_a_comma(source: SourceMap, raw: Any, path: tuple[str | int, ...]) -> str | None:
    """A hint when an unknown key is text cut off by a comma: in `{section: 3.2 Care, pathway}`
    the comma ends the value, and `pathway` becomes a key with no value."""
    value: Any = raw
    for part in path:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return None
    position = source.keys.get(path)
    if value is not None or position is None or position.file is not None:
        return None
    lines = source.text.splitlines()
    line = lines[position.line - 1] if 0 < position.line <= len(lines) else ""
    if not line[: position.column - 1].rstrip().endswith(","):
        return None
    return (
        f"inside `{{…}}` a comma starts a new key, so `{path[-1]}` became one: if it belongs "
        'to the text before the comma, put that whole text in quotes ("…, '
        f'{path[-1]}")'
    )


# Keys that mean the same as a key of another kind of rule: a KPI has a `threshold`, a
# response time and an eligibility rule a `target`.
_SAME_MEANING = {"target": "threshold", "threshold": "target", "targets": "threshold"}


def _same_meaning(key: str, model: type[BaseModel]) -> str | None:
    instead = _SAME_MEANING.get(key)
    if instead is None or instead not in model.model_fields:
        return None
    return f"did you mean `{instead}`? (`{key}` is what other kinds of rule call it)"


def _literal_choices(error: dict[str, Any]) -> list[str]:
    expected = str(error.get("ctx", {}).get("expected", ""))
    return [part.strip().strip("'") for part in expected.replace(" or ", ",").split(",") if part]


def diagnostics_from_validation(
    exc: ValidationError, raw: Any, source: SourceMap, root: type[BaseModel]
) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    seen: set[tuple[str | int, ...]] = set()
    errors = exc.errors(include_url=False)
    # A misspelt required key shows up twice: as unknown and as missing. Report it once.
    unknown = {
        (_data_path(raw, tuple(e["loc"]))[:-1], str(e["loc"][-1]))
        for e in errors
        if e["type"] == "extra_forbidden"
    }
    # A union such as `text | {type: ..., values: ...}` (or `text | [dated values]`) reports a
    # mapping or list once as "not one of the words" (or "not text") and once with the real
    # mistake inside it: keep only the one inside.
    inner = {
        _data_path(raw, tuple(e["loc"])) + ((str(e["loc"][-1]),) if e["type"] == "missing" else ())
        for e in errors
    }
    for error in errors:
        here = _data_path(raw, tuple(error["loc"]))
        if (
            error["type"] != "missing"
            and isinstance(error.get("input"), dict | list)
            and any(len(p) > len(here) and p[: len(here)] == here for p in inner)
        ):
            continue
        if error["type"] == "missing":
            parent = _data_path(raw, tuple(error["loc"]))
            typo = [k for p, k in unknown if p == parent]
            if did_you_mean(str(error["loc"][-1]), typo):
                continue
        loc = tuple(error["loc"])
        kind = error["type"]
        path = _data_path(raw, loc)
        if kind == "extra_forbidden":
            key = loc[-1]
            parent = path if path and path[-1] == key else path
            parent = parent[:-1] if parent and parent[-1] == key else parent
            model = _model_at(root, raw, parent)
            hint = (
                _cut_by_a_comma(source, raw, (*parent, key))
                or _same_meaning(str(key), model)
                or did_you_mean(str(key), model.model_fields)
                or ("allowed keys here: " + ", ".join(model.model_fields))
            )
            found.append(
                source.diagnostic((*parent, key), "S001", f"unknown key `{key}`", hint, key=True)
            )
            continue
        if path in seen:
            continue  # one message per place: a union reports each of its branches
        seen.add(path)
        if kind == "missing":
            key = loc[-1]
            found.append(
                source.diagnostic(
                    path, "S002", f"missing required key `{key}`", f"add `{key}:` here"
                )
            )
            continue
        value = error.get("input")
        where = f"`{path[-1]}`" if path and isinstance(path[-1], str) else "this value"
        if kind == "literal_error":
            choices = _literal_choices(error)
            hint = did_you_mean(str(value), choices) or "write one of: " + ", ".join(choices)
            message = f"{where}: `{value}` is not allowed"
        elif kind == "string_pattern_mismatch" and path and path[-1] == "id":
            message = f"rule id `{value}` must be letters, digits and _, starting with a letter"
            hint = f"write `{rule_id_for(str(value))}`"
        elif kind == "string_pattern_mismatch":
            message = f"{where}: `{value}` is not in the expected form"
            hint = str(error.get("msg"))
        elif kind == "value_error":
            message = f"{where}: {str(error['msg']).removeprefix('Value error, ')}"
            hint = None
        elif kind == "model_type" and value is None and path:
            message = f"{where} is empty"
            parent = _model_at(root, raw, path[:-1])
            info = parent.model_fields.get(str(path[-1]))
            section = _model_in(info.annotation) if info else None
            needed = [
                k for k, f in (section.model_fields if section else {}).items() if f.is_required()
            ]
            hint = (
                "write its keys under it: " + ", ".join(f"`{k}:`" for k in needed)
                if needed
                else None
            )
        elif kind == "string_type" and not isinstance(value, dict | list):
            message = f"{where}: `{value}` is not text"
            hint = "an expression or a threshold is text: write a condition, a duration or a target"
        elif kind == "greater_than_equal":
            message = f"{where}: `{value}` is below {error.get('ctx', {}).get('ge')}"
            hint = "lines count from 1" if path and path[-1] == "line" else None
        elif kind == "finite_number":
            message = f"{where}: not a finite number (too large, or .inf or .nan)"
            hint = "write an ordinary number, for instance 510000"
        else:
            message = f"{where}: {error['msg']}"
            hint = None
        found.append(source.diagnostic(path, "S003", message, hint))
    return found


def rule_id_for(text: str) -> str:
    """The id to write for `text`: `C1-mean` → C1_mean, `1a` → r_1a, `90th centile` →
    r_90th_centile."""
    words = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_") or "rule"
    return words if words[0].isalpha() else f"r_{words}"
