"""Progress of a long evaluation on a terminal: one line, redrawn, on stderr.

`terminal_progress()` gives a callback for `Spec.evaluate(progress=...)` when stderr is a
terminal, and None otherwise, so logs, pipes and CI output stay clean.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import TextIO

Progress = Callable[[int, int, str], None]  # (rules done, rules in all, rule just done)
ReadProgress = Callable[[int, int, str], None]  # (bytes read, bytes in all, file name)


def reading(progress: Progress | None, rules: int) -> ReadProgress | None:
    """A callback for bytes read that shows them on `progress` as "reading FILE 35%" with no
    rule done yet, so the bar is there from the start of a long read (on every engine)."""
    if progress is None:
        return None
    shown: dict[str, int] = {}

    def tell(done: int, total: int, name: str) -> None:
        percent = 100 * done // total if total else 100
        if shown.get(name) != percent:  # once per percent, not once per block
            shown[name] = percent
            progress(0, rules, f"reading {name} {percent}%")

    return tell


class TerminalProgress:
    """Draws `[#####.....] 12/40 rules  0:03  quit_at_4_weeks` on one line, then clears it."""

    def __init__(self, stream: TextIO, width: int = 24):
        self.stream = stream
        self.width = width
        self.started = time.monotonic()

    def __call__(self, done: int, total: int, label: str) -> None:
        columns = shutil.get_terminal_size((80, 20)).columns
        if done >= total and done:
            self.stream.write("\r" + " " * (columns - 1) + "\r")
            self.stream.flush()
            return
        filled = int(self.width * done / total) if total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        seconds = int(time.monotonic() - self.started)
        text = f"[{bar}] {done}/{total} rules  {seconds // 60}:{seconds % 60:02d}  {label}"
        self.stream.write("\r" + text[: columns - 1].ljust(columns - 1))
        self.stream.flush()


def terminal_progress(stream: TextIO | None = None) -> Progress | None:
    """A progress callback drawing on `stream` (stderr) if it is a terminal, else None."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return TerminalProgress(stream) if isatty is not None and isatty() else None
