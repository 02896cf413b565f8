"""Progress of an evaluation: drawn on a terminal, silent anywhere else."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import specrules
from specrules.cli import main
from specrules.progress import TerminalProgress, terminal_progress

ROOT = Path(__file__).parents[1]
LOT3 = ROOT / "docs" / "examples" / "wigan_lot3.yaml"
DATA = ROOT / "docs" / "examples" / "wigan_lot3"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_evaluator_reports_each_rule() -> None:
    spec = specrules.load(LOT3)
    calls: list[tuple[int, int, str]] = []
    spec.evaluate(DATA, progress=lambda done, total, rule: calls.append((done, total, rule)))
    total = len(spec.rule_ids)
    rules = [call for call in calls if call[0] > 0]
    assert rules == [(n, total, rule) for n, rule in enumerate(spec.rule_ids, start=1)]


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_every_engine_shows_the_reading_from_the_start(engine: str) -> None:
    pytest.importorskip("duckdb")
    spec = specrules.load(LOT3)
    calls: list[tuple[int, int, str]] = []
    spec.evaluate(DATA, engine=engine, progress=lambda *call: calls.append(call))
    total = len(spec.rule_ids)
    # the bar appears before a byte is read, then follows each file to its end
    assert calls[0] == (0, total, "reading the data")
    read = [label for done, _, label in calls if done == 0 and label.startswith("reading ")]
    files = sorted(p.name for p in DATA.glob("*.csv"))
    assert {f"reading {name} 100%" for name in files} <= set(read)
    assert calls[-1][:2] == (total, total)


def test_only_a_terminal_gets_progress() -> None:
    assert terminal_progress(io.StringIO()) is None
    assert isinstance(terminal_progress(FakeTerminal()), TerminalProgress)


def test_the_line_is_drawn_then_cleared() -> None:
    stream = FakeTerminal()
    draw = TerminalProgress(stream)
    draw(3, 12, "appointment_within_one_week")
    shown = stream.getvalue()
    assert shown.startswith("\r[######..................] 3/12 rules  0:00  appointment_within")
    draw(12, 12, "case_studies")
    assert stream.getvalue()[len(shown) :].strip() == ""


def test_the_cli_is_quiet_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["evaluate", str(LOT3), "--data", str(DATA)]) == 0
    err = capsys.readouterr().err
    assert "rules" not in err and "\r" not in err


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_the_cli_draws_on_a_terminal(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    pytest.importorskip("duckdb")
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stderr", terminal)
    args = ["evaluate", str(LOT3), "--data", str(DATA), "--format", "json", "--engine", engine]
    assert main(args) == 0
    assert "reading referrals.csv 100%" in terminal.getvalue()
    assert f"/{len(specrules.load(LOT3).rule_ids)} rules" in terminal.getvalue()
