"""Safe YAML loading that remembers where every value came from.

PyYAML's safe loader already refuses object-constructing tags; on top of it this module
rejects any explicit tag, anchors and aliases (no "billion laughs"), duplicate keys, documents
over a size limit and nesting beyond a depth limit. It builds plain Python values and a table
from each value's path (``("kpis", 3, "threshold")``) to its position, so later layers can
point at the exact line and column of a mistake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from specrules.errors import Diagnostic, SpecError

MAX_BYTES = 2_000_000
MAX_DEPTH = 40

Path_ = tuple[str | int, ...]

_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based
    end_line: int
    end_column: int
    style: str | None = None  # YAML scalar style: None (plain), "'", '"', "|", ">"


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a YAML document stands in its file."""

    file: str
    text: str
    values: dict[Path_, Position] = field(default_factory=dict)
    keys: dict[Path_, Position] = field(default_factory=dict)

    def position(self, path: Path_) -> Position:
        """The position of the value at `path`, or of its closest located ancestor."""
        path = tuple(path)
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), Position(1, 1, 1, 1))

    def key_position(self, path: Path_) -> Position:
        """The position of the key naming `path` (falls back to the value's position)."""
        return self.keys.get(tuple(path)) or self.position(path)

    def expression_position(self, path: Path_, offset: int, snippet: str = "") -> tuple[int, int]:
        """Line and column in the file of character `offset` of the expression at `path`."""
        pos = self.position(path)
        if pos.style in (None, "'", '"') and pos.line == pos.end_line:
            quote = 1 if pos.style in ("'", '"') else 0
            return pos.line, pos.column + quote + offset
        # Block or folded scalars: find the offending text in the lines the scalar spans.
        lines = self.text.splitlines()
        if snippet:
            for number in range(pos.line - 1, min(pos.end_line, len(lines))):
                found = lines[number].find(snippet)
                if found >= 0:
                    return number + 1, found + 1
        return pos.line, pos.column


def _error(file: str, mark: Any, code: str, message: str, hint: str | None = None) -> SpecError:
    line = mark.line + 1 if mark is not None else 0
    column = mark.column + 1 if mark is not None else 0
    return SpecError([Diagnostic(code, message, file, line, column, hint)])


class _Builder:
    def __init__(self, file: str, text: str, loader: yaml.SafeLoader):
        self.loader = loader
        self.source = SourceMap(file, text)

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        file = self.source.file
        if depth > MAX_DEPTH:
            raise _error(file, node.start_mark, "Y004", f"nesting deeper than {MAX_DEPTH} levels")
        if node.tag not in _PLAIN_TAGS:
            raise _error(
                file,
                node.start_mark,
                "Y003",
                f"YAML tag `{node.tag}` is not allowed in a spec",
                "remove the tag; specs hold plain text, numbers, dates, lists and mappings only",
            )
        self.source.values[path] = Position(
            node.start_mark.line + 1,
            node.start_mark.column + 1,
            node.end_mark.line + 1,
            node.end_mark.column + 1,
            getattr(node, "style", None) or None,  # libyaml writes plain as ""
        )
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise _error(file, key_node.start_mark, "Y005", "a mapping key must be a word")
                # Keys stay text: YAML 1.1 would otherwise read `on:` or `no:` as booleans.
                key = str(key_node.value)
                if key in result:
                    raise _error(
                        file,
                        key_node.start_mark,
                        "Y002",
                        f"duplicate key `{key}`",
                        "each key may appear once in a mapping; merge or rename the two entries",
                    )
                self.source.keys[(*path, key)] = Position(
                    key_node.start_mark.line + 1,
                    key_node.start_mark.column + 1,
                    key_node.end_mark.line + 1,
                    key_node.end_mark.column + 1,
                )
                result[key] = self.build(value_node, (*path, key), depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError):  # 2019-13-45 looks like a date, but is not one
            raise _error(
                file,
                node.start_mark,
                "Y010",
                f"`{node.value}` is not a real date",
                "write a date as YYYY-MM-DD (2019-07-01), or put text in quotes",
            ) from None


def load_yaml(text: str, file: str = "<spec>") -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain values plus a `SourceMap`; raise `SpecError`."""
    if len(text.encode("utf-8", errors="replace")) > MAX_BYTES:
        raise SpecError(
            [Diagnostic("Y006", f"spec file is larger than {MAX_BYTES:,} bytes", file, 1, 1)]
        )
    if "\t" in text:
        index = text.index("\t")
        line = text.count("\n", 0, index) + 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        raise SpecError(
            [
                Diagnostic(
                    "Y007",
                    "tab character in the spec",
                    file,
                    line,
                    column,
                    "YAML indents with spaces only: replace the tab with spaces",
                )
            ]
        )
    if _FastLoader is not None:
        try:
            return _load(_FastLoader, text, file)
        except (yaml.YAMLError, SpecError):
            pass  # read again by the pure-Python loader below, whose messages we explain
    return _load(yaml.SafeLoader, text, file)


# libyaml (C) reads a spec ten times faster than PyYAML's own reader, with the same node
# positions; a document it refuses is read again by PyYAML so that errors keep its wording.
_FastLoader: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)


def _load(loader_class: type[yaml.SafeLoader], text: str, file: str) -> tuple[Any, SourceMap]:
    try:
        loader = loader_class(text)
    except yaml.reader.ReaderError as exc:  # a control character PyYAML refuses to read
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise SpecError(
            [
                Diagnostic(
                    "Y011",
                    f"character {_codepoint(exc.character)} cannot appear in a spec",
                    file,
                    line,
                    column,
                    "delete it (it is invisible in most editors; it often comes from copying "
                    "text out of a PDF or a spreadsheet)",
                )
            ]
        ) from None
    try:
        loader.anchors = {}
        node = loader.get_single_node()
        if node is None:
            raise SpecError(
                [
                    Diagnostic(
                        "Y008",
                        "the spec file is empty",
                        file,
                        1,
                        1,
                        "`specrules new --output FILE` writes a spec to start from",
                    )
                ]
            )
        _reject_aliases(node, file)
        builder = _Builder(file, text, loader)
        value = builder.build(node, (), 0)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if problem == "could not find expected ':'" and exc.context_mark is not None:
            mark = exc.context_mark  # the line without a colon, not the one after it
        context = f" {exc.context}" if exc.context else ""
        raise _error(
            file,
            mark,
            "Y001",
            f"YAML syntax: {problem}{context}",
            _YAML_HINTS.get(
                problem,
                "check the indentation and that every `key: value` pair has a space after the "
                "colon",
            ),
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - PyYAML always marks its errors
        raise SpecError([Diagnostic("Y001", f"YAML syntax: {exc}", file, 1, 1)]) from None
    finally:
        loader.dispose()
    return value, builder.source


# Hints for PyYAML's commonest complaints, in the words of someone who just typed them.
_YAML_HINTS = {
    "mapping values are not allowed here": "this key is indented further than the keys beside "
    "it, or a value contains `: `: line the key up with its neighbours, or put the value "
    'in quotes ("like: this")',
    "could not find expected ':'": "a line has no `key:`; write `key: value`, or continue the "
    "text of the line above with the same indentation",
    "found character '\\t' that cannot start any token": "YAML indents with spaces only",
}


def _codepoint(character: object) -> str:
    return f"U+{character:04X}" if isinstance(character, int) else repr(character)


def _reject_aliases(root: yaml.Node, file: str) -> None:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            raise _error(
                file,
                node.start_mark,
                "Y009",
                "YAML anchors and aliases (`&name`, `*name`) are not allowed in a spec",
                "write the value out in full where it is needed",
            )
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def read_spec_text(path: str | Path) -> str:
    """Read a spec file as UTF-8 text, turning I/O problems into a `SpecError`."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise SpecError(
                [Diagnostic("Y006", f"spec file is larger than {MAX_BYTES:,} bytes", str(p), 1, 1)]
            )
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Diagnostic("F001", "no such file", str(p), 0, 0)]) from None
    except IsADirectoryError:
        raise SpecError([Diagnostic("F001", "is a directory, not a spec file", str(p))]) from None
    except UnicodeDecodeError as exc:
        raise SpecError(
            [Diagnostic("F002", f"not UTF-8 text ({exc.reason})", str(p), 1, 1)]
        ) from None
