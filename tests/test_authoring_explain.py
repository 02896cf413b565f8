"""`specrules explain`: the spec as indicator · threshold · method · consequence · source."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import specrules
from specrules.authoring.explain import explain
from specrules.cli import main

ROOT = Path(__file__).parents[1]
LOT3 = ROOT / "docs" / "examples" / "wigan_lot3.yaml"


@pytest.fixture(scope="module")
def spec() -> specrules.Spec:
    return specrules.load(LOT3)


def table_rows(markdown: str, heading: str) -> list[list[str]]:
    # Cells in the contract's order: indicator, threshold, method, consequence, source.
    """The body rows of the table under `## heading`, split into cells."""
    section = markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]] for line in lines[2:]]


def test_markdown_has_contract_facts_first_then_the_three_tables(spec: specrules.Spec) -> None:
    text = explain(spec, "md")
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings == [
        "Contract",
        "Consequences of breach",
        "Eligibility",
        "Response times",
        "Key performance indicators",
        "Minimum data set",
        "Worked examples",
    ]
    facts = dict(row[:2] for row in table_rows(text, "Contract"))
    assert facts["Term"] == "1 July 2019 to 30 June 2022"
    assert facts["Latest possible end"] == "30 June 2024"
    assert facts["Years"] == "contract years, from 1 July"
    assert facts["Time zone"].startswith("Europe/London: date-times without a UTC offset")
    assert (
        facts["Lot 3 indicative budget"] == "£510,000 per year (FOI Answer 3 (line 36): indicative)"
    )


def test_a_response_time_row_reads_as_the_contract_table(spec: specrules.Spec) -> None:
    rows = table_rows(explain(spec, "md"), "Response times")
    week = next(r for r in rows if "`appointment_within_one_week`" in r[0])
    indicator, threshold, method, consequence, source = week
    assert indicator.startswith("**Appointment within one week for referrals from primary")
    assert threshold == "100% within 1 week"
    assert method.split("<br>") == [
        "Applies to: `referrals` rows where `accepted and setting in "
        '["primary care", "community care", "sdf huddle"]`',
        "Clock starts: `received_at`",
        "Clock stops: `first_appointment_on`",
        "Counted in: calendar days",
        "No stop: counts as not met",
        "Judged per: year",
    ]
    assert consequence.startswith("No consequence of breach is stated")
    assert source.startswith("3.2 Service description/care pathway, line 1190<br>“Appointments")


def test_kpi_methods_name_their_populations(spec: specrules.Spec) -> None:
    rows = {
        r[0].split("`")[1]: r for r in table_rows(explain(spec, "md"), "Key performance indicators")
    }
    dna = rows["dna_proportion"][2].split("<br>")
    assert dna[:4] == [
        "Initial population: every `contacts` row",
        "Denominator: `first_contact`",
        "Numerator: `not attended`",
        "Figure: numerator ÷ denominator, as a percentage",
    ]
    assert rows["dna_proportion"][1] == "— (monitoring only: the figure is reported)"
    volume = rows["individuals_supported_per_year"]
    assert volume[1] == (
        "between 3000 and 3500 per year (for information: monitoring only, not judged)"
    )
    assert "Figure: number of different `individual_id`" in volume[2]
    assert "Broken down by: referral_source" in rows["new_referrals"][2]
    assert "Figure: the mean of the observations" in rows["time_with_individuals"][2]


def test_expressions_are_shown_as_the_compiler_reads_them(tmp_path: Path) -> None:
    text = LOT3.read_text(encoding="utf-8").replace(
        "accept: age_on_referral >= 18", "accept: (age_on_referral)   >=   18"
    )
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    assert "Accepted when: `age_on_referral >= 18`" in explain(specrules.load(path), "md")


def test_pipes_in_text_do_not_break_the_markdown_table(tmp_path: Path) -> None:
    text = LOT3.read_text(encoding="utf-8").replace(
        "title: Individuals aged 18 or over", "title: Aged 18 | over"
    )
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    (row, _) = table_rows(explain(specrules.load(path), "md"), "Eligibility")
    assert len(row) == 5
    assert row[0].startswith("**Aged 18 \\| over**")


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_a_page_with_escaped_text(tmp_path: Path) -> None:
    text = LOT3.read_text(encoding="utf-8").replace(
        "title: Individuals aged 18 or over", "title: <script>alert(1)</script> & over 18"
    )
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    html = explain(specrules.load(path), "html")
    assert html.startswith("<!DOCTYPE html>")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; over 18" in html
    parser = _Collect()
    parser.feed(html)
    # facts, consequences, three rule tables, four datasets, worked examples
    assert parser.tags.count("table") == 1 + 1 + 3 + 4 + 1
    assert "Method of measurement" in parser.text
    assert '<code>accepted and setting = "integrated discharge team"</code>' in html.replace(
        "&#34;", '"'
    )


def test_cli_writes_the_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "lot3.html"
    assert main(["explain", str(LOT3), "--format", "html", "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert main(["explain", str(LOT3)]) == 0
    assert capsys.readouterr().out.startswith("# Wigan Lot 3 — Community Link Workers")


def test_cli_on_an_invalid_spec(capsys: pytest.CaptureFixture[str]) -> None:
    broken = ROOT / "tests" / "broken_specs" / "typo_in_field.yaml"
    assert main(["explain", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "E202 unknown field `agee`" in err
    assert "specrules validate" in err


def test_cli_cannot_write(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["explain", str(LOT3), "--output", str(tmp_path / "no" / "x.md")]) == 2
    assert "cannot write" in capsys.readouterr().err
