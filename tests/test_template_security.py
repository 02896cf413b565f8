"""A spec must never run code or read files outside its folder through a report template."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import specrules
from specrules.cli import main
from specrules.report import ReportError, render_report
from specrules.spec.confined import OutsideFolder, confined

FIXTURE = Path(__file__).parent / "fixtures" / "wigan_core"
CONSEQUENCE = """consequences:
  exception_report:
    kind: exception_report
    text: The provider shall provide exception report to the commissioner
"""
# A template that, outside a sandbox, reaches `os` through a global and runs a command.
ESCAPE = "{{ cycler.__init__.__globals__.os.system('touch %s') }}\n"


def spec_with_template(folder: Path, template: str) -> Path:
    """A copy of the Wigan core fixture whose consequence names `template`."""
    shutil.copytree(FIXTURE, folder, dirs_exist_ok=True)
    path = folder / "spec.yaml"
    text = path.read_text(encoding="utf-8")
    assert CONSEQUENCE in text
    text = text.replace(CONSEQUENCE, CONSEQUENCE + f"    template: {template}\n")
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "template, words",
    [
        ("/etc/passwd", "absolute path"),
        ("../../../../etc/passwd", "leaves the spec's folder"),
        ("templates/../../secret.md", "leaves the spec's folder"),
        ("C:/Windows/win.ini", "absolute path"),
    ],
)
def test_validate_refuses_a_template_outside_the_spec_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], template: str, words: str
) -> None:
    path = spec_with_template(tmp_path, template)
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    line = path.read_text(encoding="utf-8").splitlines().index(f"    template: {template}") + 1
    assert f"spec.yaml:{line}:" in out
    assert words in out


def test_a_link_out_of_the_spec_folder_is_refused_and_nothing_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secret.md"
    secret.parent.mkdir()
    secret.write_text("TOP SECRET CONTENTS\n", encoding="utf-8")
    path = spec_with_template(tmp_path / "spec", "report.md")
    (tmp_path / "spec" / "report.md").symlink_to(secret)
    spec = specrules.load(path)
    evaluation = spec.evaluate(tmp_path / "spec", period="all")
    with pytest.raises(ReportError, match="outside the spec's folder") as caught:
        render_report(evaluation, "md", spec=spec)
    assert "TOP SECRET" not in str(caught.value)


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_a_spec_template_cannot_run_a_command(tmp_path: Path, fmt: str) -> None:
    marker = tmp_path / "ran"
    path = spec_with_template(tmp_path / "spec", "breach.j2")
    (tmp_path / "spec" / "breach.j2").write_text(ESCAPE % marker, encoding="utf-8")
    spec = specrules.load(path)
    evaluation = spec.evaluate(tmp_path / "spec", period="all")
    assert evaluation.breaches(), "the fixture must have a breach for the template to render"
    with pytest.raises(ReportError, match="unsafe|not safely|access"):
        render_report(evaluation, fmt, spec=spec)
    assert not marker.exists()


def test_a_template_dir_template_renders_in_the_sandbox_too(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "report.md.j2").write_text(ESCAPE % marker, encoding="utf-8")
    spec = specrules.load(FIXTURE / "spec.yaml")
    evaluation = spec.evaluate(FIXTURE, period="all")
    with pytest.raises(ReportError):
        render_report(evaluation, "md", spec=spec, template_dir=tmp_path / "templates")
    assert not marker.exists()


def test_a_spec_template_in_its_folder_still_renders(tmp_path: Path) -> None:
    path = spec_with_template(tmp_path / "spec", "templates/breach.md.j2")
    (tmp_path / "spec" / "templates").mkdir()
    (tmp_path / "spec" / "templates" / "breach.md.j2").write_text(
        "BREACH {{ b.verdict.rule_id }}\n", encoding="utf-8"
    )
    spec = specrules.load(path)
    evaluation = spec.evaluate(tmp_path / "spec", period="all")
    text = render_report(evaluation, "md", spec=spec)
    breached = {v.rule_id for v in evaluation.breaches()}
    assert breached
    for rule_id in breached:
        assert f"BREACH {rule_id}" in text


@pytest.mark.parametrize(
    "name, why",
    [
        ("/etc/passwd", "is an absolute path"),
        ("\\\\server\\share", "is an absolute path"),
        ("C:/Windows/win.ini", "is an absolute path"),
        ("templates/../../secret.md", "leaves the spec's folder (`..`)"),
        ("templates\\..\\x.md", "leaves the spec's folder (`..`)"),
        ("out.md", "leads out of the folder"),  # a link to a file outside
    ],
)
def test_one_confinement_check_for_every_path_a_spec_names(
    tmp_path: Path, name: str, why: str
) -> None:
    # spec/confined.py is the one check `extends:`, a template's text (validate) and the
    # report's reading of a template use.
    (tmp_path / "outside.md").write_text("secret\n", encoding="utf-8")
    folder = tmp_path / "spec"
    folder.mkdir()
    (folder / "out.md").symlink_to(tmp_path / "outside.md")
    with pytest.raises(OutsideFolder, match=re.escape(why)):
        confined(name, folder)


def test_a_path_inside_the_folder_is_given_back_resolved(tmp_path: Path) -> None:
    assert confined("templates/./a.md", tmp_path) == tmp_path.resolve() / "templates" / "a.md"
