"""The Markdown exception report, disclosure control and the rows CSVs."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

import specrules
from specrules.cli import main
from specrules.report import Disclosure, ReportError, render_report, write_rows
from specrules.report.render import md_escape
from specrules.results import Evaluation, RowResult

FIXTURE = Path(__file__).parent / "fixtures" / "wigan_core"
SPEC = FIXTURE / "spec.yaml"


@pytest.fixture(scope="module")
def spec() -> specrules.Spec:
    return specrules.load(SPEC)


@pytest.fixture(scope="module")
def evaluation(spec: specrules.Spec) -> Evaluation:
    return spec.evaluate(FIXTURE, period="all")


def sections(markdown: str) -> dict[str, str]:
    """Breach sections by anchor: each starts with `<a id="...">` and runs to the next."""
    parts = re.split(r'^<a id="([^"]+)"></a>$', markdown, flags=re.M)
    found = {}
    for anchor, body in zip(parts[1::2], parts[2::2], strict=True):
        found[anchor] = body.split("\n## ")[0]  # the last one stops at the next section
    return found


def test_every_breach_has_a_section_and_nothing_else_does(
    evaluation: Evaluation, spec: specrules.Spec
) -> None:
    markdown = render_report(evaluation, "md", spec=spec)
    found = sections(markdown)
    titles = [re.search(r"^### \d+\. (.+)$", body, re.M).group(1) for body in found.values()]
    breaches = evaluation.breaches()
    assert len(found) == len(breaches) == 12
    assert titles == [md_escape(v.title) for v in breaches]
    assert "quit_at_4_weeks-2019-20" not in found  # met: in the summary only
    assert f"## Breaches in detail ({len(breaches)})" in markdown


def test_a_breach_section_carries_every_fact(evaluation: Evaluation, spec: specrules.Spec) -> None:
    body = sections(render_report(evaluation, "md", spec=spec))["quits_co_validated-2019-20"]
    assert "**Source:** Appendix C, Outcome – Smoking Cessation Achievement (line 481)" in body
    assert "> “CO validated min 85%”" in body
    assert "**Threshold:** at least 85%: target 85.0%" in body
    assert "**Actual:** **50.0%**: 1 of 2 (numerator 1, denominator 2)" in body
    assert "**Gap:** -35.0 percentage points" in body
    assert (
        "**Consequence:** `exception_report`: The provider shall provide exception report "
        "to the commissioner"
    ) in body
    assert "**Left out:** 1 denominator unknown (missing data); 1 not in the denominator" in body
    assert "| `Q3` | 3 | does not meet “co validated” |" in body  # the condition in words


def test_trend_lists_earlier_periods_and_says_when_there_are_none(
    evaluation: Evaluation, spec: specrules.Spec
) -> None:
    found = sections(render_report(evaluation, "md", spec=spec))
    q4 = found["case_studies-2019-20-q4"]
    rows = [line for line in q4.splitlines() if line.startswith("| 2019/20-Q")]
    assert [r.split(" | ")[0] for r in rows] == [
        "| 2019/20-Q1",
        "| 2019/20-Q2",
        "| 2019/20-Q3",
        "| 2019/20-Q4 (this report)",
    ]
    assert rows[0].split(" | ")[1] == "met" and rows[1].split(" | ")[1] == "not met"
    q2 = found["case_studies-2019-20-q2"]
    assert "2019/20-Q3" not in q2  # later periods are not part of the trend
    assert "Only one period (2019/20) is in this evaluation" in found["age_minimum-2019-20"]

    one_quarter = spec.evaluate(FIXTURE, period="2019/20-Q2")
    body = sections(render_report(one_quarter, "md", spec=spec))["case_studies-2019-20-q2"]
    assert "Only one period (2019/20-Q2)" in body and "asked for period 2019/20-Q2" in body


def test_breaches_come_first_then_met_then_monitoring(
    evaluation: Evaluation, spec: specrules.Spec
) -> None:
    markdown = render_report(evaluation, "md", spec=spec)
    order = ["### Needs action", "## Breaches in detail", "## Standards met", "## Monitoring"]
    assert [markdown.index(h) for h in order] == sorted(markdown.index(h) for h in order)
    summary = markdown[markdown.index("## Summary") : markdown.index("## Breaches in detail")]
    action = [line for line in summary.splitlines() if line.startswith("| [")]
    not_met = [v for v in evaluation.verdicts if v.status == "not met"]
    assert len(action) == len(not_met) == 12  # the fixture has no breakdown groups
    for line, verdict in zip(action, not_met, strict=True):
        assert f"(`{verdict.rule_id}`) | {verdict.period} |" in line
    met = markdown[markdown.index("## Standards met") : markdown.index("## Monitoring")]
    assert len([line for line in met.splitlines() if "(`" in line]) == 2
    # the trend column: case studies (evidence.csv, contract year from 1 July 2019) were
    # E1-E3 in Q1 (Jul-Sep: 3) and E4 alone in Q2 (Oct-Dec: 1); Q3 has none, as Q4
    q2 = next(line for line in action if "(#case_studies-2019-20-q2)" in line)
    assert "| **1** | 3 | -2 | ▼ from 3 (2019/20-Q1) |" in q2
    q4 = next(line for line in action if "(#case_studies-2019-20-q4)" in line)
    assert "| = from 0 (2019/20-Q3) |" in q4
    age = next(line for line in action if "(#age_minimum-2019-20)" in line)
    assert "| no earlier period |" in age
    # the same counts, and the same words for what they count, as repr and the table
    assert "12 not met · 2 met" in summary
    assert "Counted: verdicts: one per rule, period and breakdown group" in summary
    assert "12 not met, 2 met (14 verdicts of 11 rules;" in repr(evaluation)


def test_rows_accounting_and_provenance(evaluation: Evaluation, spec: specrules.Spec) -> None:
    markdown = render_report(evaluation, "md", spec=spec)
    assert (
        "| referrals | 10 | 9 | 1 | 1 duplicate key: an earlier row has the same referral\\_id |"
        in markdown
        or "| referrals | 10 | 9 | 1 | 1 duplicate key: an earlier row has the same referral_id |"
        in markdown
    )
    assert evaluation.provenance.spec_sha256 in markdown
    assert "results schema 1.0" in markdown


def test_disclosure_control_changes_the_print_never_the_verdict(
    evaluation: Evaluation, spec: specrules.Spec
) -> None:
    before = evaluation.model_dump()
    plain = render_report(evaluation, "md", spec=spec)
    hidden = render_report(evaluation, "md", spec=spec, suppress_below=7)
    assert evaluation.model_dump() == before
    # the same breaches, in the same order, with the same statuses
    assert list(sections(hidden)) == list(sections(plain))
    status = re.compile(r"^\| .*?\(`(\w+)`\).*? \| (\S+) \| ", re.M)
    assert status.findall(hidden) == status.findall(plain)

    body = sections(hidden)["age_minimum-2019-20"]
    # 6 is hidden, 8 (≥ 7) is shown; the "*" is escaped so Markdown prints it as it is
    assert "**Actual:** **\\***: \\* of 8 (numerator \\*, denominator 8)" in body
    assert "75.0%" not in body and "-25.0" not in body
    assert "R04" not in body and "Not listed under disclosure control" in body
    commencing = sections(hidden)["clients_commencing-2019-20"]
    assert "**Actual:** **\\***\n" in commencing  # a count of 5 is itself hidden, and its gap
    assert "-3,595" not in commencing
    zero = sections(hidden)["case_studies-2019-20-q3"]
    assert "**Actual:** **0**" in zero  # zero is not suppressed
    assert "counts from 1 to 6" in hidden


def test_disclosure_rule() -> None:
    rule = Disclosure(5)
    assert [rule.count(n) for n in (0, 1, 4, 5, 12, None)] == ["0", "*", "*", "5", "12", "-"]
    assert not Disclosure(1).active and Disclosure(1).count(1) == "1"
    with pytest.raises(ValueError):
        Disclosure(0)


def test_cli_markdown_and_rows_files(
    tmp_path: Path, evaluation: Evaluation, capsys: pytest.CaptureFixture[str]
) -> None:
    rows_dir = tmp_path / "rows"
    code = main(
        [
            "evaluate",
            str(SPEC),
            "--data",
            str(FIXTURE),
            "--format",
            "md",
            "--output",
            str(tmp_path / "report.md"),
            "--rows-dir",
            str(rows_dir),
        ]
    )
    assert code == 0
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "[rows/first_appointment_offered_2019-20.csv]" in markdown
    with_rows = [v for v in evaluation.breaches() if v.breaches]
    assert sorted(p.name for p in rows_dir.iterdir()) == sorted(
        f"{v.rule_id}_{v.period.replace('/', '-')}.csv" for v in with_rows
    )
    for verdict in with_rows:
        path = rows_dir / f"{verdict.rule_id}_{verdict.period.replace('/', '-')}.csv"
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert [(r["key"], int(r["row"]), r["reason"]) for r in rows] == [
            (b.key, b.row, b.reason) for b in verdict.breaches
        ]


def test_rows_are_never_capped(tmp_path: Path, evaluation: Evaluation) -> None:
    many = evaluation.model_copy(deep=True)
    verdict = next(v for v in many.verdicts if v.rule_id == "first_appointment_offered")
    verdict.breaches = [RowResult(key=f"R{i}", row=i, reason="late") for i in range(1, 1201)]
    markdown = render_report(many, "md")
    body = sections(markdown)["first_appointment_offered-2019-20"]
    listed = re.findall(r"^\| `(R\d+)` \|", body, re.M)
    assert listed == [f"R{i}" for i in range(1, 1201)]
    files = write_rows(many, tmp_path)
    assert len(Path(files[id(verdict)]).read_text().splitlines()) == 1201


def test_options_that_do_not_apply_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["evaluate", str(SPEC), "--data", str(FIXTURE), "--format", "json", "--suppress-below", "5"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--suppress-below applies to --format html, md, xlsx, not to" in err
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", str(SPEC), "--data", str(FIXTURE), "--suppress-below", "0"])
    assert stop.value.code == 2
    assert "below 1" in capsys.readouterr().err


def test_markdown_template_errors_are_reported_with_file_and_line(
    tmp_path: Path, evaluation: Evaluation
) -> None:
    (tmp_path / "report.md.j2").write_text("# {{ r.title }}\n{{ r.title | nosuchfilter }}\n")
    with pytest.raises(ReportError, match=r"report\.md\.j2:2: template error: .*nosuchfilter"):
        render_report(evaluation, "md", template_dir=tmp_path)


def test_markdown_escaping_keeps_tables_whole() -> None:
    assert md_escape("a | b") == "a \\| b"
    assert md_escape("x <script>") == "x &lt;script>"
    assert md_escape("fails `a < b | c`") == "fails `a < b \\| c`"  # code kept, pipe escaped
    assert md_escape("two\nlines") == "two lines"


def test_each_breach_gives_its_due_date(tmp_path: Path) -> None:
    text = SPEC.read_text(encoding="utf-8")
    anchor = "    text: The provider shall provide exception report to the commissioner\n"
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace(anchor, anchor + "    deadline: within 20 working days\n"))
    spec = specrules.load(path)
    markdown = render_report(spec.evaluate(FIXTURE, period="all"), "md", spec=spec)
    # Counted from the day after the period (docs/decisions.md), skipping weekends and bank
    # holidays. Q2 ends 2019-12-31: 1 Jan is a bank holiday; 2, 3 Jan = 2; 6-10 = 7;
    # 13-17 = 12; 20-24 = 17; 27, 28, 29 = 20 → 2020-01-29.
    q2 = next(line for line in markdown.splitlines() if "(#case_studies-2019-20-q2)" in line)
    assert q2.endswith("| exception report, **due 2020-01-29** |")
    assert "- **Due:** 2020-01-29" in sections(markdown)["case_studies-2019-20-q2"]
    # 2019/20 ends 2020-06-30: 1-3 July = 3; 6-10 = 8; 13-17 = 13; 20-24 = 18; 27, 28 = 20
    year = next(line for line in markdown.splitlines() if "(#smoking_prevalence-2019-20)" in line)
    assert year.endswith("**due 2020-07-28** |")
