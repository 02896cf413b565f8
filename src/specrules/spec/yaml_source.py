"""Safe YAML loading that remembers where every value came from.

The document is read as a stream of parser events (PyYAML's parser, or libyaml's when it is
there) and built here into plain Python values, without PyYAML's composer and constructor:

- values are read the YAML 1.2 way, as editors do: only `true`/`false` are booleans (`yes`,
  `no`, `on`, `off` stay text), `010` is ten, `1:30` and `1_000` are text, `1e3` is a number,
  `0o17` and `0x1f` are octal and hex. Dates written YYYY-MM-DD (and date-times) are dates,
  an extension of 1.2's core schema that every spec relies on;
- any explicit tag (`!!python/object`, `!!str`, `!x`), any anchor or alias (no "billion
  laughs"), a duplicate key and a key that is not a scalar are refused at their position;
- nesting deeper than MAX_DEPTH is refused as soon as it is met, without recursion, so
  100,000 nested `[` cost nothing; documents over MAX_BYTES are refused before parsing.

It builds a table from each value's path (``("kpis", 3, "threshold")``) to its position, so
later layers can point at the exact line and column of a mistake.
"""

from __future__ import annotations

import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from specrules.errors import UNREADABLE_FILE, Diagnostic, SpecError

MAX_BYTES = 2_000_000
MAX_DEPTH = 40

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 1-based
    end_line: int
    end_column: int
    style: str | None = None  # YAML scalar style: None (plain), "'", '"', "|", ">"
    file: str | None = None  # the file the value came from, when not the spec itself (extends)


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a YAML document stands in its file."""

    file: str
    text: str
    values: dict[Path_, Position] = field(default_factory=dict)
    keys: dict[Path_, Position] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # other files' text (extends)

    def combined_text(self) -> str:
        """This spec's text and that of every spec merged into it (`extends:`): its digest
        in the results changes when a base spec changes."""
        return self.text + "".join(f"\n{name}\n{text}" for name, text in sorted(self.texts.items()))

    def file_at(self, path: Path_) -> str:
        """The file the value at `path` came from (a spec it extends, or this one)."""
        return self.place(path)[0]

    def place(self, path: Path_, key: bool = False) -> tuple[str, int, int]:
        """File, line and column of the value (or of the key) at `path`; a value merged in
        from a spec this one extends is placed in that spec's file."""
        pos = self.key_position(path) if key else self.position(path)
        return pos.file or self.file, pos.line, pos.column

    def diagnostic(
        self,
        path: Path_,
        code: str,
        message: str,
        hint: str | None = None,
        severity: Literal["error", "warning"] = "error",
        key: bool = False,
    ) -> Diagnostic:
        """A problem with the value (or the key) at `path`, placed in its file."""
        return Diagnostic(code, message, *self.place(path, key), hint, severity)

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

    def expression_diagnostic(
        self, path: Path_, offset: int, snippet: str, code: str, message: str, hint: str | None
    ) -> Diagnostic:
        """A problem at character `offset` of the expression at `path` (`snippet` is the text
        there), placed in its file."""
        line, column = self.expression_position(path, offset, snippet)
        return Diagnostic(code, message, self.file_at(path), line, column, hint)

    def expression_position(self, path: Path_, offset: int, snippet: str = "") -> tuple[int, int]:
        """Line and column in the file of character `offset` of the expression at `path`."""
        pos = self.position(path)
        if pos.style in (None, "'", '"') and pos.line == pos.end_line:
            quote = 1 if pos.style in ("'", '"') else 0
            return pos.line, pos.column + quote + offset
        # Block or folded scalars: find the offending text in the lines the scalar spans.
        lines = self.texts.get(self.file_at(path), self.text).splitlines()
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


# ------------------------------------------------------------------ YAML 1.2 scalars
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False}
_BOOL["FALSE"] = False
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCTAL = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INFINITY = re.compile(r"^([-+]?)\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")
_TIMESTAMP = yaml.constructor.SafeConstructor.timestamp_regexp
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _plain_scalar(text: str) -> Any:
    """The value of an untagged plain scalar, by YAML 1.2's core schema plus dates."""
    if _NULL.match(text):
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        return int(text)
    if _OCTAL.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if infinity := _INFINITY.match(text):
        return -math.inf if infinity.group(1) == "-" else math.inf
    if _NAN.match(text):
        return math.nan
    if _TIMESTAMP.match(text):
        node = yaml.ScalarNode("tag:yaml.org,2002:timestamp", text)
        value = _CONSTRUCTOR.construct_yaml_timestamp(node)  # ValueError: not a real date
        return value
    return text


@dataclass
class _Open:
    """A mapping or sequence being read: its value so far and where it stands."""

    value: dict[str, Any] | list[Any]
    path: Path_
    start: Any  # the start mark
    key: str | None = None  # a mapping's key awaiting its value


class _Builder:
    """Plain values and a SourceMap from a stream of parser events, without recursion."""

    def __init__(self, file: str, text: str, loader: yaml.SafeLoader):
        self.loader = loader
        self.file = file
        self.source = SourceMap(file, text)
        self.stack: list[_Open] = []
        self.root: Any = None

    def _here(self) -> tuple[Path_, bool]:
        """The path of the next value, and whether it is a mapping key."""
        if not self.stack:
            return (), False
        top = self.stack[-1]
        if isinstance(top.value, list):
            return (*top.path, len(top.value)), False
        if top.key is None:
            return top.path, True
        return (*top.path, top.key), False

    def _position(self, start: Any, end: Any, style: str | None = None) -> Position:
        return Position(start.line + 1, start.column + 1, end.line + 1, end.column + 1, style)

    def _refuse_decoration(self, event: Any) -> None:
        """Refuse an anchor (`&name`), an alias (`*name`) or a tag (`!!str`) on `event`."""
        if isinstance(event, yaml.AliasEvent) or event.anchor is not None:
            raise _error(
                self.file,
                event.start_mark,
                "Y009",
                "YAML anchors and aliases (`&name`, `*name`) are not allowed in a spec",
                "write the value out in full where it is needed",
            )
        if event.tag is not None:
            raise _error(
                self.file,
                event.start_mark,
                "Y003",
                f"YAML tag `{_as_written(event.tag)}` is not allowed in a spec",
                "remove the tag; specs hold plain text, numbers, dates, lists and mappings "
                'only (put text in quotes: "yes")',
            )

    def _place(self, value: Any) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        if isinstance(top.value, list):
            top.value.append(value)
        else:
            top.value[str(top.key)] = value
            top.key = None

    def build(self) -> Any:
        """Read events to the end of the stream; the single document's value."""
        loader = self.loader
        event = loader.get_event()  # StreamStart
        event = loader.get_event()
        if isinstance(event, yaml.StreamEndEvent):
            return _EMPTY
        result = self.document()
        event = loader.get_event()
        if not isinstance(event, yaml.StreamEndEvent):
            raise _error(
                self.file,
                event.start_mark,
                "Y012",
                "a second YAML document starts here; a spec is one document",
                "remove the `---` line (or split the file in two)",
            )
        return result

    def document(self) -> Any:
        loader = self.loader
        while True:
            event = loader.get_event()
            if isinstance(event, yaml.DocumentEndEvent):
                raise AssertionError("a document holds a value")  # pragma: no cover
            if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                done = self.stack.pop()
                # A collection stands where it starts: where one ends, libyaml and PyYAML disagree.
                self.source.values[done.path] = self._position(done.start, done.start)
                self._place(done.value)
                if not self.stack:
                    break
                continue
            self._refuse_decoration(event)
            path, is_key = self._here()
            if len(path) > MAX_DEPTH:
                raise _error(
                    self.file, event.start_mark, "Y004", f"nesting deeper than {MAX_DEPTH} levels"
                )
            if is_key:
                if not isinstance(event, yaml.ScalarEvent):
                    raise _error(
                        self.file, event.start_mark, "Y005", "a mapping key must be a word"
                    )
                self.key(event, path)
                continue
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                empty: dict[str, Any] | list[Any] = (
                    {} if isinstance(event, yaml.MappingStartEvent) else []
                )
                self.stack.append(_Open(empty, path, event.start_mark))
                continue
            if event.value == "" and not event.style:
                # Nothing written (`key:` with no value): libyaml and PyYAML place the empty
                # scalar differently, so it stands where its key does (else its parent's).
                if path in self.source.keys:
                    self.source.values[path] = self.source.keys[path]
            else:
                self.source.values[path] = self._position(
                    event.start_mark,
                    event.end_mark,
                    event.style or None,  # libyaml: plain is ""
                )
            self._place(self.scalar(event))
            if not self.stack:
                break
        end = loader.get_event()
        assert isinstance(end, yaml.DocumentEndEvent)
        return self.root

    def key(self, event: Any, parent: Path_) -> None:
        top = self.stack[-1]
        assert isinstance(top.value, dict)
        # Keys stay the text written: a key is a name, never a number or a boolean.
        key = str(event.value)
        if key in top.value:
            raise _error(
                self.file,
                event.start_mark,
                "Y002",
                f"duplicate key `{key}`",
                "each key may appear once in a mapping; merge or rename the two entries",
            )
        self.source.keys[(*parent, key)] = self._position(event.start_mark, event.end_mark)
        top.key = key

    def scalar(self, event: Any) -> Any:
        if event.style:  # quoted or block text is text
            return event.value
        try:
            return _plain_scalar(event.value)
        except (ValueError, OverflowError):  # 2019-13-45 looks like a date, but is not one
            raise _error(
                self.file,
                event.start_mark,
                "Y010",
                f"`{event.value}` is not a real date",
                "write a date as YYYY-MM-DD (2019-07-01), or put text in quotes",
            ) from None


_EMPTY = object()


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
        builder = _Builder(file, text, loader)
        value = builder.build()
        if value is _EMPTY:
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


def read_spec_text(path: str | Path) -> str:
    """Read a spec file as UTF-8 text, turning I/O problems into a `SpecError`.

    Only a regular file is read, and never more than MAX_BYTES of it: `/dev/zero`, a pipe or
    a folder is refused before reading (a device reports size 0 and never ends)."""
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
        if stat.S_ISDIR(mode):
            raise _unreadable(p, "is a directory, not a spec file")
        if not stat.S_ISREG(mode):  # checked before opening: opening a pipe would block
            raise _unreadable(p, "is not a regular file (a device, a pipe or a socket)")
        with open(p, "rb") as handle:  # checked again once open: the file read is a file
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise _unreadable(p, "is not a regular file (a device, a pipe or a socket)")
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise _unreadable(p, "no such file") from None
    except IsADirectoryError:
        raise _unreadable(p, "is a directory, not a spec file") from None
    except PermissionError:
        raise _unreadable(p, "permission denied") from None
    except OSError as exc:
        raise _unreadable(p, f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:
        raise SpecError(
            [Diagnostic("Y006", f"spec file is larger than {MAX_BYTES:,} bytes", str(p), 1, 1)]
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(
            data[data.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8", "replace")
        )
        raise SpecError(
            [
                Diagnostic(
                    "F002",
                    f"not UTF-8 text (byte 0x{data[exc.start]:02X}: {exc.reason})",
                    str(p),
                    line,
                    column + 1,
                    'save the file as UTF-8 (most editors offer it under "Save as" or "Encoding")',
                )
            ]
        ) from None


def _unreadable(path: Path, why: str) -> SpecError:
    return SpecError([Diagnostic(UNREADABLE_FILE, why, str(path), 0, 0)])


_STANDARD_TAGS = "tag:yaml.org,2002:"


def _as_written(tag: str) -> str:
    """A tag as an author writes it (`!!str`), not as YAML resolves it (`tag:yaml.org,2002:str`)."""
    return "!!" + tag.removeprefix(_STANDARD_TAGS) if tag.startswith(_STANDARD_TAGS) else tag
