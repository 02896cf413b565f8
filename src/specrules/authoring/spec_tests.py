"""`specrules test`: run the worked examples inside spec files, like unit tests.

A spec's `examples:` each give a few rows and the verdict some rules must give them:

    examples:
      - name: an appointment on the 8th day is late
        data:
          referrals:
            - {referral_id: r1, received_at: 2020-01-06T09:00, first_appointment_on: 2020-01-14}
        expect:
          appointment_within_one_week: not met

Rows are read exactly as a CSV file would be (every value as text, then checked against the
dataset's declared types), and a field left out of a row is missing. Datasets the example
does not mention are not supplied. Each expectation is one check: it passes when the rule's
verdict has the expected status in every period the example's rows fall in (periods where
the rule has nothing to measure, `no data`, are skipped unless every period is `no data`).
A failure names the rule and points at the rows behind it, by their line in the spec file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from specrules.api import Spec, load
from specrules.authoring.lint import lint_file
from specrules.dsl import ir
from specrules.dsl.parser import parse_threshold
from specrules.errors import DataError, Diagnostic, PeriodError, SpecError
from specrules.render_text import format_figure
from specrules.results import Evaluation, Verdict
from specrules.spec import models
from specrules.verdicts import amount_value

MAX_ROWS_SHOWN = 10


@dataclass
class Check:
    """One expectation of one example: a rule and the verdict it must give."""

    file: str
    example: str
    rule_id: str
    expected: str
    actual: str
    passed: bool
    line: int = 0
    column: int = 0
    details: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    @property
    def summary(self) -> str:
        return f"example `{self.example}` › {self.rule_id}: expected {self.expected}, " + (
            f"got {self.actual}" if not self.passed else "and so it is"
        )


@dataclass
class SpecResult:
    """The checks of one spec file, or the problems that stopped it from running."""

    file: str
    title: str | None = None
    checks: list[Check] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def errors(self) -> list[Diagnostic]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.failed


# ------------------------------------------------------------------ running
def run_files(paths: list[str | Path]) -> list[SpecResult]:
    """Load each spec file and run its examples; an invalid spec is a result with problems."""
    results = []
    for path in paths:
        started = time.perf_counter()
        try:
            spec = load(path)
        except SpecError as exc:
            # The linter reports every problem, not only those of the first layer that failed.
            problems = [d for d in lint_file(path) if d.severity == "error"]
            result = SpecResult(str(path), problems=problems or exc.diagnostics)
        else:
            result = run_spec(spec)
        result.seconds = time.perf_counter() - started
        results.append(result)
    return results


def run_spec(spec: Spec) -> SpecResult:
    """Run every example of a loaded spec."""
    result = SpecResult(spec.path or "<spec>", spec.title)
    for index, example in enumerate(spec.model.examples):
        result.checks.extend(run_example(spec, index, example))
    return result


def example_frames(spec: models.Spec, example: models.Example) -> dict[str, pd.DataFrame]:
    """The example's rows as data frames of text, one column per declared field."""
    frames = {}
    for name, rows in example.data.items():
        declared = spec.datasets.get(name)
        if declared is None:
            continue  # `validate` reports it (S301)
        columns = list(declared.fields)
        columns += [c for row in rows for c in row if c not in columns]
        records = [{c: _as_text(row.get(c)) for c in columns} for row in rows]
        frames[name] = pd.DataFrame.from_records(records, columns=columns).astype(object)
    return frames


def _as_text(value: object) -> str:
    """A YAML value as it would appear in a CSV file."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def run_example(spec: Spec, index: int, example: models.Example) -> list[Check]:
    started = time.perf_counter()
    try:
        evaluation = spec.evaluate(example_frames(spec.model, example), period=example.period)
        failure = None
    except (DataError, PeriodError) as exc:
        evaluation, failure = None, str(exc)
    checks = []
    for rule_id, expected in example.expect.items():
        file, line, column = spec.source.place(("examples", index, "expect", rule_id), key=True)
        wanted = models.expectation_text(expected)
        check = Check(file, example.name, rule_id, wanted, "", False, line, column)
        if evaluation is None:
            check.actual = "an error"
            check.details.append(f"the example could not be evaluated: {failure}")
        else:
            _judge(spec, index, example, evaluation, check, expected)
        checks.append(check)
    elapsed = time.perf_counter() - started
    for check in checks:
        check.seconds = elapsed / max(1, len(checks))
    return checks


def _judge(
    spec: Spec,
    index: int,
    example: models.Example,
    evaluation: Evaluation,
    check: Check,
    expected: str | models.Expected,
) -> None:
    verdicts = [v for v in evaluation.verdicts if v.rule_id == check.rule_id]
    if not verdicts:
        check.actual = "no verdict"
        check.details.append(f"rule `{check.rule_id}` gave no verdict")
        return
    measured = [v for v in verdicts if v.status != "no data"] or verdicts
    statuses = sorted({v.status for v in measured})
    check.actual = " / ".join(statuses)
    if isinstance(expected, str):
        check.passed = statuses == [expected]
    else:
        check.passed = _figures_match(expected, measured, check)
    if check.passed:
        return
    for verdict in measured:
        check.details.append(_describe(verdict))
        check.details.extend(_rows_behind(spec, index, example, verdict))
    issues = [i for i in evaluation.data_issues if i.severity != "info" and i.row is not None]
    for issue in issues[:MAX_ROWS_SHOWN]:
        where = _row_location(spec, index, example, issue.dataset, issue.row)
        value = f" `{issue.value}`" if issue.value else ""
        check.details.append(
            f"data issue: {where} {issue.dataset} row {issue.row}, {issue.column}{value}: "
            f"{issue.message}"
        )


def _figures_match(expected: models.Expected, verdicts: list[Verdict], check: Check) -> bool:
    """Whether every verdict checked has the expected status and figures; `check.actual` says
    what they had instead (`not met, numerator 2 (expected 3)`)."""
    wrong: list[str] = []
    statuses = sorted({v.status for v in verdicts})
    if expected.status is not None and statuses != [expected.status]:
        wrong.append(" / ".join(statuses))
    for name, figure in expected.figures().items():
        for verdict in verdicts:
            got = getattr(verdict, name)
            if not _same_figure(figure, got, name, verdict.unit):
                shown = _figure_shown(got, name, verdict.unit)
                where = f" in {verdict.period}" if len(verdicts) > 1 else ""
                wanted = models.figure_text(figure)
                wrong.append(f"{name} {shown}{where} (expected {wanted})")
    check.actual = ", ".join(wrong) if wrong else check.expected
    return not wrong


def _same_figure(figure: float | int | str, got: float | None, name: str, unit: str) -> bool:
    """A count matches exactly; a value matches when it rounds to the figure as written
    (75% matches 0.7512 but not 0.76; 3.7 matches 3.66 but not 3.64)."""
    if got is None:
        return False
    if name != "value":
        return abs(got - float(figure)) < 1e-9
    text = models.figure_amount_text(figure)
    amount = parse_threshold("exactly " + text).amount
    written = re.search(r"\d+(?:\.(\d+))?", text)
    decimals = len(written.group(1) or "") if written and "£" not in text else 0
    # one unit of what was written (1%, 1 minute), in the verdict's unit
    one = 1.0
    if isinstance(amount, ir.Duration):
        one = amount_value(dataclasses.replace(amount, amount=1), unit)
    elif isinstance(amount, ir.Percent):
        one = 0.01
    return abs(got - amount_value(amount, unit)) <= 0.5 * 10**-decimals * one + 1e-12


def _figure_shown(got: float | None, name: str, unit: str) -> str:
    """A figure found, with enough digits to see why it does not round to the one expected
    (the reports' formatting, to 4 significant digits): a numerator or denominator is a count."""
    if got is None:
        return "none"
    return format_figure(got, unit if name == "value" else "count", significant=4)


def _describe(verdict: Verdict) -> str:
    unit = verdict.unit if verdict.unit != "ratio" else "number"
    figure = format_figure(verdict.value, unit)
    if verdict.numerator is not None and verdict.denominator is not None and unit == "share":
        figure += f" ({verdict.numerator:,.0f} of {verdict.denominator:,.0f})"
    parts = [f"{verdict.period}: {verdict.status}, {figure}"]
    if verdict.threshold:
        parts.append(f"threshold {verdict.threshold}")
    if verdict.target is not None and verdict.judged_against not in (None, "threshold"):
        parts.append(f"judged against {verdict.judged_against}")
    excluded = ", ".join(f"{e.count} {e.reason}" for e in verdict.excluded)
    if excluded:
        parts.append(f"left out: {excluded}")
    if verdict.reason:
        parts.append(verdict.reason)
    return "; ".join(parts)


def _rows_behind(spec: Spec, index: int, example: models.Example, verdict: Verdict) -> list[str]:
    dataset = spec.model.rules()[spec.rule_ids.index(verdict.rule_id)].dataset
    lines = []
    for row in verdict.breaches[:MAX_ROWS_SHOWN]:
        where = _row_location(spec, index, example, dataset, row.row)
        lines.append(f"row behind it: {where} {dataset} row {row.row} ({row.key}): {row.reason}")
    hidden = len(verdict.breaches) - MAX_ROWS_SHOWN
    if hidden > 0:
        lines.append(f"… and {hidden} more")
    return lines


def _row_location(
    spec: Spec, index: int, example: models.Example, dataset: str, row: int | None
) -> str:
    path: tuple[str | int, ...] = ("examples", index, "data", dataset)
    if row is not None and 1 <= row <= len(example.data.get(dataset, [])):
        path = (*path, row - 1)
    return ":".join(str(part) for part in spec.source.place(path))


# ------------------------------------------------------------------ reporting
def format_results(results: list[SpecResult], verbose: bool = False) -> str:
    """Failures (and with `verbose`, passes) then a one-line summary."""
    lines: list[str] = []
    for result in results:
        for problem in result.problems:
            lines.append(str(problem))
        if result.errors:
            lines.append(f"{result.file}: the spec is invalid, so its examples were not run")
            continue
        if not result.checks:
            lines.append(f"{result.file}: no examples (add some under `examples:`)")
        for check in result.checks:
            if check.passed and not verbose:
                continue
            mark = "ok  " if check.passed else "FAIL"
            lines.append(f"{mark} {check.where}: {check.summary}")
            lines.extend(f"       {detail}" for detail in check.details)
    passed = sum(1 for r in results for c in r.checks if c.passed)
    failed = sum(len(r.failed) for r in results)
    invalid = sum(1 for r in results if r.errors)
    summary = f"{passed} passed, {failed} failed"
    if invalid:
        summary += f", {invalid} spec(s) invalid"
    lines.append(f"{summary} ({len(results)} spec file(s))")
    return "\n".join(lines)


def junit_xml(results: list[SpecResult]) -> ET.ElementTree:
    """JUnit XML: a test suite per spec file, a test case per expectation."""
    suites = ET.Element("testsuites", name="specrules")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for result in results:
        suite = ET.SubElement(suites, "testsuite", name=result.file)
        stem = Path(result.file).stem
        counts = {"tests": len(result.checks), "failures": len(result.failed), "errors": 0}
        if result.errors:
            counts["tests"] += 1
            counts["errors"] = 1
            case = ET.SubElement(
                suite, "testcase", classname=stem, name="spec is valid", file=result.file
            )
            error = ET.SubElement(
                case,
                "error",
                message=f"{len(result.errors)} problem(s) in the spec",
                type="SpecError",
            )
            error.text = "\n".join(str(p) for p in result.problems)
        for check in result.checks:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{stem}.{check.example}",
                name=check.rule_id,
                file=check.file,
                line=str(check.line),
                time=f"{check.seconds:.3f}",
            )
            if not check.passed:
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=f"expected {check.expected}, got {check.actual}",
                    type="ExampleFailed",
                )
                failure.text = "\n".join([f"{check.where}: {check.summary}", *check.details])
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", f"{result.seconds:.3f}")
    for key, value in totals.items():
        suites.set(key, str(value))
    ET.indent(suites)
    return ET.ElementTree(suites)


def write_junit_xml(results: list[SpecResult], path: str | Path) -> None:
    junit_xml(results).write(path, encoding="utf-8", xml_declaration=True)
