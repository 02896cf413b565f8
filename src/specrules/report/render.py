"""Rendering an Evaluation to an HTML page or Markdown with jinja2 templates.

Templates are looked up first in `template_dir` (a user's overrides, same file names as the
built-in ones), then among the built-in templates shipped in `report/templates/`. A spec's
`consequences.<id>.template` names a file (relative to the spec) that renders the breaches
of the rules with that consequence, in place of the built-in `breach` template.
"""

from __future__ import annotations

import csv
import os
import re
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from specrules.errors import SpecificationError
from specrules.report.disclosure import Disclosure
from specrules.report.formulas import csv_text
from specrules.report.view import FOLD_AFTER, build_view, rows_file_name, spec_dir
from specrules.results import Evaluation, Verdict
from specrules.spec.confined import OutsideFolder, confined

if TYPE_CHECKING:
    from specrules.api import Spec

ReportFormat = Literal["html", "md"]
BUILTIN = Path(__file__).parent / "templates"
# The page's and the breach section's template for each format.
MAIN = {"html": "report.html.j2", "md": "report.md.j2"}
BREACH = {"html": "breach.html.j2", "md": "breach.md.j2"}


class ReportError(SpecificationError):
    """A report cannot be written: a template is missing or fails to render."""


# ------------------------------------------------------------------ filters
_CODE_SPAN = re.compile(r"(`[^`]*`)")


def md_escape(value: object) -> str:
    """Text made safe for a Markdown table cell or paragraph.

    `|` would end a table cell (GFM needs `\\|` even inside code spans); `<` outside a code
    span could start raw HTML; a line break would end the table row.
    """
    text = " ".join(str(value).split())
    parts = _CODE_SPAN.split(text)
    for i, part in enumerate(parts):
        if not part.startswith("`"):
            part = part.replace("<", "&lt;").replace("*", "\\*")
        parts[i] = part.replace("|", "\\|")
    return "".join(parts)


def md_quote(value: object) -> str:
    """A block quote: every line starts with `> `."""
    return "\n".join(f"> {md_escape(line)}" for line in str(value).splitlines() or [""])


def _filters() -> dict[str, Callable[..., str]]:
    return {"md": md_escape, "md_quote": md_quote}


# ------------------------------------------------------------------ loaders
class _NamedFiles(jinja2.BaseLoader):
    """Templates given as files by name (a spec's consequence templates)."""

    def __init__(self, files: dict[str, Path]):
        self.files = files

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        path = self.files.get(template)
        if path is None:
            raise jinja2.TemplateNotFound(template)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ReportError(f"cannot read template {path}: {exc}") from None
        mtime = path.stat().st_mtime
        return text, str(path), lambda: path.exists() and path.stat().st_mtime == mtime

    def list_templates(self) -> list[str]:
        return sorted(self.files)


def _format_of(path: Path) -> ReportFormat | None:
    """The format a consequence template is for, from its suffixes (`x.md.j2` is Markdown)."""
    suffixes = [s.lower() for s in path.suffixes]
    if {".html", ".htm"} & set(suffixes):
        return "html"
    if {".md", ".markdown"} & set(suffixes):
        return "md"
    return None  # used for both formats; the template can look at `format`


def consequence_templates(
    spec: Spec | None, fmt: ReportFormat, template_dir: str | Path | None = None
) -> dict[str, Path]:
    """consequence id → its template file, for the consequences whose template fits `fmt`.
    A template is looked for in the folder of the spec file that names it (a base spec's
    consequence: the base's folder), then in `template_dir`."""
    if spec is None:
        return {}
    extra = [Path(template_dir).resolve()] if template_dir is not None else []
    found = {}
    for cid, consequence in spec.model.consequences.items():
        if not consequence.template:
            continue
        named_in = spec_dir(spec, ("consequences", cid, "template")) or Path.cwd().resolve()
        path = _template_file(consequence.template, [named_in, *extra], cid)
        if _format_of(path) not in (None, fmt):
            continue
        found[cid] = path
    return found


def _template_file(name: str, folders: list[Path], cid: str) -> Path:
    """The template file `name` inside one of `folders`; anything else is refused: a spec
    must never make a report show a file from elsewhere on the machine."""
    for folder in folders:
        try:
            path = confined(name, folder)
        except OutsideFolder as why:
            raise ReportError(
                f"consequence `{cid}` names template {name!r}, which is outside the spec's "
                f"folder: it {why}; keep templates in the spec's folder or --template-dir"
            ) from None
        if path.is_file():
            return path
    raise ReportError(
        f"consequence `{cid}` names template {name!r}, but there is no such file in "
        + " or ".join(str(f) for f in folders)
        + "; the path is relative to the spec file's folder (or --template-dir)"
    )


def environment(
    fmt: ReportFormat,
    template_dir: str | Path | None = None,
    named: dict[str, Path] | None = None,
) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if named:
        loaders.append(_NamedFiles(named))
    if template_dir is not None:
        folder = Path(template_dir)
        if not folder.is_dir():
            raise ReportError(f"--template-dir {template_dir}: no such folder")
        loaders.append(jinja2.FileSystemLoader(folder))
    loaders.append(jinja2.FileSystemLoader(BUILTIN))
    # The sandbox: a template (a spec's, or a user's) can format values but never reach
    # Python internals (`cycler.__init__.__globals__` and the like raise SecurityError).
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=fmt == "html",
        undefined=jinja2.StrictUndefined,  # a misspelt name in a template is an error
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(_filters())
    return env


# ------------------------------------------------------------------ errors
def _template_frame(exc: BaseException) -> tuple[str, int] | None:
    """The innermost template file and line in a rendering error's traceback.

    jinja2 rewrites tracebacks so that template code shows with the template's file name
    and line; Python files are the library's own frames.
    """
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not frame.filename.endswith(".py") and frame.lineno:
            return frame.filename, frame.lineno
    return None


def _render(env: jinja2.Environment, name: str, **context: object) -> str:
    try:
        return env.get_template(name).render(**context)
    except ReportError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or exc.name or name
        raise ReportError(f"{where}:{exc.lineno}: template error: {exc.message}") from None
    except jinja2.TemplateNotFound as exc:
        raise ReportError(
            f"template {exc.name!r} not found (asked for while rendering {name!r})"
        ) from None
    except Exception as exc:  # anything raised inside a template is the template's fault
        found = _template_frame(exc)
        where = f"{found[0]}:{found[1]}" if found else name
        message = str(exc) or type(exc).__name__
        raise ReportError(f"{where}: template {name!r} failed to render: {message}") from None


# ------------------------------------------------------------------ rows files
def breached_verdicts(evaluation: Evaluation) -> list[Verdict]:
    found = []
    for verdict in evaluation.verdicts:
        found.extend(v for v in [verdict, *verdict.groups] if v.status == "not met")
    return found


def write_rows(evaluation: Evaluation, rows_dir: str | Path) -> dict[int, Path]:
    """Write every breach's rows in full, one CSV per breach; id(verdict) → the file.

    Breaches with no rows behind them (counts and levels judged as a whole) get no file.
    A rule breached overall is `<rule_id>_<period>.csv`; a breakdown group adds `_<group>`.
    Disclosure control does not apply here: these files are the detail a provider and a
    commissioner work through, not a shared summary.
    """
    folder = Path(rows_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"--rows-dir {rows_dir}: cannot create the folder: {exc}") from None
    written: dict[int, Path] = {}
    used: set[str] = set()
    for verdict in breached_verdicts(evaluation):
        if not verdict.breaches:  # a count or a level judged as a whole: no rows to list
            continue
        name = rows_file_name(verdict)
        stem, n = name[:-4], 2
        while name in used:
            name, n = f"{stem}_{n}.csv", n + 1
        used.add(name)
        path = folder / name
        group = "; ".join(f"{k}={v}" for k, v in (verdict.group or {}).items())
        try:
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["rule_id", "period", "group", "key", "row", "reason"])
                for row in verdict.breaches:
                    cells = [verdict.rule_id, verdict.period, group, row.key, row.row, row.reason]
                    writer.writerow([csv_text(cell) for cell in cells])
        except OSError as exc:
            raise ReportError(f"cannot write {path}: {exc}") from None
        written[id(verdict)] = path
    return written


# ------------------------------------------------------------------ the report
def render_report(
    evaluation: Evaluation,
    fmt: ReportFormat = "html",
    *,
    spec: Spec | None = None,
    suppress_below: int | None = None,
    template_dir: str | Path | None = None,
    rows_files: dict[int, Path] | None = None,
    link_base: str | Path | None = None,
    fold_after: int = FOLD_AFTER,
) -> str:
    """An exception report for `evaluation` as an HTML page or Markdown.

    `spec` supplies each rule's consequence (id and kind) and the spec's own templates.
    `rows_files` (from `write_rows`) are linked from each breach, relative to `link_base`
    (the folder the report is written to).
    """
    if fmt not in MAIN:
        raise ReportError(f"unknown report format {fmt!r}; use html or md")
    try:
        disclosure = Disclosure(suppress_below)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    templates = consequence_templates(spec, fmt, template_dir)
    named = {f"consequence:{cid}": path for cid, path in templates.items()}
    env = environment(fmt, template_dir, named)
    links = {}
    for key, path in (rows_files or {}).items():
        target = Path(path)
        if link_base is not None:
            target = Path(os.path.relpath(target.resolve(), Path(link_base).resolve()))
        links[key] = target.as_posix()
    view = build_view(
        evaluation,
        spec=spec,
        disclosure=disclosure,
        breach_templates={name.split(":", 1)[1]: name for name in named},
        default_breach_template=BREACH[fmt],
        rows_files=links,
        fold_after=fold_after,
    )
    return _render(env, MAIN[fmt], r=view, format=fmt)
