"""Errors a user can cause, and the diagnostics that explain them.

Every mistake in a spec becomes a `Diagnostic` (file, line, column, code, message, hint).
Problems are collected and raised together as one `SpecError`, so a commissioner sees
all of them at once, as `ruff` and pydantic do. Bad data is a `DataError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


# Control characters a message may quote from a spec (a key holding NUL), shown escaped so
# that the terminal neither hides nor obeys them.
_CONTROLS = {
    c: f"\\u{c:04x}"
    for c in [*range(0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    if chr(c) not in "\n\t"
}  # C0 and C1 controls, and the marks that reverse the direction of text


def visible(text: str) -> str:
    """`text` with control characters (other than line breaks and tabs) written as \\uXXXX."""
    return text.translate(_CONTROLS)


@dataclass(frozen=True)
class Diagnostic:
    """One problem, located in a file. Lines and columns count from 1."""

    code: str
    message: str
    file: str = "<spec>"
    line: int = 0
    column: int = 0
    hint: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        file = visible(self.file)
        where = f"{file}:{self.line}:{self.column}" if self.line else file
        text = f"{where}: {self.severity}: {self.code} {visible(self.message)}"
        if self.hint:
            text += f"\n    hint: {visible(self.hint)}"
        return text

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class SpecificationError(Exception):
    """Base class of the errors specrules raises for bad input."""


# The code of a spec file that could not be read at all (missing, a folder, a device).
UNREADABLE_FILE = "F001"


def exit_code(diagnostics: Iterable[Diagnostic]) -> int:
    """The command-line exit code these problems call for: 2 (usage) when a file could not
    be read at all, 1 (invalid) for any other error, 0 when there are only warnings."""
    found = list(diagnostics)
    if any(d.code == UNREADABLE_FILE for d in found):
        return 2
    return 1 if any(d.severity == "error" for d in found) else 0


class SpecError(SpecificationError):
    """A spec file (or an expression in it) is wrong. Carries every problem found."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def exit_code(self) -> int:
        """2 when the spec file could not be read at all, else 1 (an invalid spec)."""
        return max(exit_code(self.diagnostics), 1)


class DataError(SpecificationError):
    """Input data cannot be evaluated at all (for instance a required column is absent)."""

    def __init__(self, message: str, *, dataset: str | None = None, hint: str | None = None):
        self.dataset = dataset
        self.hint = hint
        text = f"dataset {dataset!r}: {message}" if dataset else message
        if hint:
            text += f"\n    hint: {hint}"
        super().__init__(text)


class PeriodError(SpecificationError):
    """A requested period does not exist or lies outside the contract."""


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest valid choice, or None when nothing is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean `{matches[0]}`?" if matches else None
