"""`specrules list-standards`: the national standards that ship with specrules, and sources.

The library ships inside the package as `specrules/national/*.yaml` (package data, so an
installed wheel has it); in the repository that folder is a link to `specs/national`, the one
copy that is edited. `--folder` lists any other folder. Each spec is loaded and checked as
`specrules validate` would (no data is read); one that is not valid is reported, not listed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from specrules.errors import SpecError
from specrules.library import NATIONAL_LIBRARY

LIBRARY = NATIONAL_LIBRARY  # resolved: in a checkout, specs/national (the path typed there)
RULE_SECTIONS = ("eligibility", "response_times", "kpis")


@dataclass
class RuleEntry:
    id: str
    title: str
    threshold: str  # as written: `at least 85%`, a dated schedule, or `monitoring`
    source: str  # the source's section, and its quote when given


@dataclass
class Standard:
    name: str  # the file's stem: `specrules evaluate specs/national/<name>.yaml`
    path: str
    title: str
    source_document: str
    datasets: dict[str, str] = field(default_factory=dict)  # name -> description
    columns: dict[str, list[str]] = field(default_factory=dict)  # name -> its file's columns
    rules: list[RuleEntry] = field(default_factory=list)


def list_standards(folder: str | Path = LIBRARY) -> tuple[list[Standard], list[SpecError]]:
    """Every valid spec in `folder`, in name order, with its rules' thresholds and sources,
    and the errors of the specs that are not valid (listed apart, never half read)."""
    from specrules.api import load

    found, broken = [], []
    for path in sorted(Path(folder).glob("*.yaml")):
        try:
            spec = load(path).model
        except SpecError as exc:
            broken.append(exc)
            continue
        standard = Standard(
            name=path.stem,
            path=_shown(path),
            title=spec.title,
            source_document=_words(spec.source_document),
            datasets={n: _words(ds.description or "") for n, ds in spec.datasets.items()},
            columns={n: list(ds.fields) for n, ds in spec.datasets.items()},
        )
        for rule in [*spec.eligibility, *spec.response_times, *spec.kpis]:
            standard.rules.append(_rule(rule))
        found.append(standard)
    return found, broken


def _rule(rule: Any) -> RuleEntry:
    text = _words(rule.source.section)
    if rule.source.quote:
        text += f": {_words(rule.source.quote)}"
    return RuleEntry(rule.id, rule.title, _threshold(rule), text)


def _threshold(rule: Any) -> str:
    value = getattr(rule, "threshold", None) or getattr(rule, "target", None)
    if isinstance(value, list):  # values in force from dates, each until the next
        value = "; ".join(f"{item.value} from {item.from_}" for item in value)
    if getattr(rule, "monitoring_only", False) or value is None:
        return f"monitoring ({value})" if value is not None else "monitoring"
    return str(value)


def _shown(path: Path) -> str:
    """The path as a user types it: relative to the current folder when it is below it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _words(text: Any) -> str:
    return " ".join(str(text).split())


def _print_text(standards: list[Standard]) -> None:
    for standard in standards:
        print(f"{standard.name}: {standard.title}")
        print(f"  spec: {standard.path}")
        for name, description in standard.datasets.items():
            print(f"  data: {name}.csv — {description}")
            print(f"      columns: {', '.join(standard.columns.get(name, []))}")
        for rule in standard.rules:
            print(f"  - {rule.id} [{rule.threshold}] {rule.title}")
            print(f"      source: {rule.source}")
        print(f"  sources: {standard.source_document}")
        print()


def _cmd_list_standards(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    if not folder.is_dir():
        print(f"error: no folder of standards at {folder}; pass --folder DIR", file=sys.stderr)
        return 2
    standards, broken = list_standards(folder)
    for exc in broken:  # a spec that is not valid is reported, and the others still listed
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=sys.stderr)
    if args.format == "json":
        print(json.dumps([asdict(s) for s in standards], indent=2, ensure_ascii=False))
    else:
        _print_text(standards)
        print(f"{len(standards)} standard(s) in {folder}", file=sys.stderr)
    return 1 if broken else 0


def register(commands: Any) -> None:
    """Add `specrules list-standards` to the command line."""
    parser = commands.add_parser(
        "list-standards",
        help="list the national standards that ship with specrules, with their sources",
        description="List the specs in the library of national operational standards: each "
        "standard's rules, thresholds, data sets and published sources.",
    )
    parser.add_argument(
        "--folder", default=str(LIBRARY), metavar="DIR", help="the library (default: %(default)s)"
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.set_defaults(run=_cmd_list_standards)
