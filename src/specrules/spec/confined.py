"""Files a spec names (`extends:`, a consequence's `template:`) stay inside its folder.

A spec must never make specrules read a file from elsewhere on the machine (a report would
show it): such a path is relative to the folder of the spec file that names it, has no `..`,
and, with links followed, still lies inside that folder.
"""

from __future__ import annotations

import re
from pathlib import Path


class OutsideFolder(ValueError):
    """A path a spec names that is not inside its folder; the message says why."""


def path_problem(value: str) -> str | None:
    """Why `value` cannot name a file inside a folder, from its text alone (None: it can)."""
    if value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value):
        return "is an absolute path"
    if ".." in value.replace("\\", "/").split("/"):
        return "leaves the spec's folder (`..`)"
    return None


def confined(value: str, folder: Path) -> Path:
    """`value` inside `folder`, links followed; OutsideFolder when it is absolute, goes up
    (`..`) or leads out of the folder through a link."""
    problem = path_problem(value)
    if problem:
        raise OutsideFolder(problem)
    folder = folder.resolve()
    path = (folder / value).resolve()
    if not path.is_relative_to(folder):
        raise OutsideFolder(f"leads out of the folder {folder} (a link)")
    return path
