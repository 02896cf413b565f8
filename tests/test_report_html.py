"""The HTML exception report, checked in a real headless Chromium (Debian's `chromium`).

The browser test does not skip when Chromium is missing: it fails, since CI installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

import specrules
from specrules.cli import main
from specrules.report import ReportError, render_report, write_rows
from specrules.results import Evaluation, RowResult

FIXTURE = Path(__file__).parent / "fixtures" / "wigan_core"
SPEC = FIXTURE / "spec.yaml"


@pytest.fixture(scope="module")
def spec() -> specrules.Spec:
    return specrules.load(SPEC)


@pytest.fixture(scope="module")
def evaluation(spec: specrules.Spec) -> Evaluation:
    return spec.evaluate(FIXTURE, period="all")


def breakdown_spec(tmp_path: Path, extra: str = "") -> Path:
    """The fixture spec with a per-group breakdown on most_deprived_share, in tmp_path."""
    text = SPEC.read_text(encoding="utf-8")
    anchor = "    numerator: most_deprived_20pct\n    threshold: at least 60%\n"
    assert text.count(anchor) == 1
    text = text.replace(
        anchor, anchor + "    breakdowns: [intervention_type]\n    per_group: true\n"
    )
    path = tmp_path / "spec.yaml"
    path.write_text(text + extra, encoding="utf-8")
    return path


# ------------------------------------------------------------------ reading the DOM
class Dom(HTMLParser):
    """Collects the elements the tests look at: breach articles, summary rows, links."""

    def __init__(self) -> None:
        super().__init__()
        self.breaches: list[dict[str, str]] = []
        self.summary_rows: list[dict[str, str]] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append((tag, values))
        classes = values.get("class", "").split()
        if tag == "article" and "breach" in classes:
            self.breaches.append(values)
        if tag == "tr" and "data-status" in values:
            self.summary_rows.append(values)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Dom:
    dom = Dom()
    dom.feed(html)
    return dom


def breached(evaluation: Evaluation) -> set[tuple[str, str, str]]:
    return {
        (v.rule_id, v.period, ", ".join(f"{k}={x}" for k, x in (v.group or {}).items()))
        for v in evaluation.breaches()
    }


def from_dom(dom: Dom) -> set[tuple[str, str, str]]:
    return {(b["data-rule-id"], b["data-period"], b["data-group"]) for b in dom.breaches}


# ------------------------------------------------------------------ the browser
def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("chromium")
    assert binary, "Debian's `chromium` is not installed; .ci/run installs it (apt-get)"
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    command = [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        *args,
    ]
    env = {**os.environ, "HOME": str(tmp_path)}
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=180, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# One Chromium launch for the module: the Wigan Lot 1 report (35 breaches, a breakdown
# group, a response-time rule, quarterly rules with a trend) read back three ways at once:
# the DOM after layout at 1280 px (with the page's measurements written into it by a
# script added to this copy only), a screenshot, and the page printed to A4 PDF.
LOT1_SPEC = Path(__file__).parent.parent / "specs" / "wigan_lot1.yaml"
LOT1_DATA = Path(__file__).parent / "fixtures" / "wigan_lot1_rules"
MEASURE = """<script>
(function () {
  var page = document.documentElement, body = document.body, cut = [];
  document.querySelectorAll("table").forEach(function (t, i) {
    var last = t.querySelector("thead tr") && t.querySelector("thead tr").lastElementChild;
    var right = last ? last.getBoundingClientRect().right : 0;
    if (t.scrollWidth > t.clientWidth + 1 || right > window.innerWidth) cut.push(i);
  });
  body.setAttribute("data-scroll-width", page.scrollWidth);
  body.setAttribute("data-window-width", window.innerWidth);
  body.setAttribute("data-cut-tables", cut.join(","));
  body.setAttribute("data-tables", document.querySelectorAll("table").length);
})();
</script>
</body>"""


class Printed:
    def __init__(self, evaluation: Evaluation, dom: Dom, html: str, shot: Path, pdf: Path):
        self.evaluation, self.dom, self.html, self.shot, self.pdf = evaluation, dom, html, shot, pdf

    def body(self) -> dict[str, str]:
        return next(attrs for tag, attrs in self.dom.tags if tag == "body")

    def pdf_text(self, *options: str) -> str:
        pdftotext = shutil.which("pdftotext")
        assert pdftotext, "pdftotext (poppler-utils) is not installed; .ci/run installs it"
        done = subprocess.run(
            [pdftotext, *options, str(self.pdf), "-"], capture_output=True, text=True, check=True
        )
        return done.stdout


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    folder = tmp_path_factory.mktemp("lot1")
    spec = specrules.load(LOT1_SPEC)
    evaluation = spec.evaluate(LOT1_DATA, period="all")
    html = render_report(evaluation, "html", spec=spec)
    page = folder / "report.html"
    page.write_text(html.replace("</body>", MEASURE), encoding="utf-8")
    shot, pdf = folder / "report-1280.png", folder / "report.pdf"
    done = chromium(
        folder,
        "--window-size=1280,1400",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        "--dump-dom",
        page.as_uri(),
    )
    return Printed(evaluation, parse(done.stdout), html, shot, pdf)


def test_chromium_reads_back_exactly_the_breached_rules(printed: Printed) -> None:
    expected = breached(printed.evaluation)
    # The fixture's figures are worked by hand in test_spec_wigan_lot1.py; here the page
    # must show exactly the evaluation's breaches, a breakdown group's among them.
    assert len(expected) >= 30
    assert any(group for _, _, group in expected)
    assert from_dom(printed.dom) == expected
    assert all(b["data-status"] == "not met" for b in printed.dom.breaches)
    # every verdict line is in exactly one of the page's tables, with its status
    lines = [(v.rule_id, v.period, v.status) for v in printed.evaluation.breaches()]
    rows = [
        (r["data-rule-id"], r["data-period"], r["data-status"]) for r in printed.dom.summary_rows
    ]
    assert sorted(r for r in rows if r[2] == "not met") == sorted(lines)
    assert len(rows) == sum(1 + len(v.groups) for v in printed.evaluation.verdicts)

    width, height = png_size(printed.shot)  # kept in the test's tmp folder to look at
    assert (width, height) == (1280, 1400)
    assert printed.shot.stat().st_size > 50_000  # a page of text and colour, not a blank one


def test_the_page_fits_a_1280_px_window(printed: Printed) -> None:
    body = printed.body()
    assert body["data-window-width"] == "1280"
    assert int(body["data-scroll-width"]) <= 1280  # no sideways scrolling
    assert int(body["data-tables"]) >= 6
    assert body["data-cut-tables"] == ""  # no table wider than its box, no heading off-screen


def test_charts_are_inline_svg(printed: Printed) -> None:
    svgs = [attrs for tag, attrs in printed.dom.tags if tag == "svg"]
    kinds = [a.get("class", "") for a in svgs]
    assert kinds.count("chart overview") == 1
    # a trend chart for each breach with an earlier period of the same rule and group
    # (here the quarterly rules: case_studies Q2, delivery_examples Q2 and Q3, ...)
    lines = [v for x in printed.evaluation.verdicts for v in [x, *x.groups]]
    with_history = [
        b
        for b in printed.evaluation.breaches()
        if any(
            v.rule_id == b.rule_id and v.group == b.group and v.period_start < b.period_start
            for v in lines
        )
    ]
    assert len(with_history) >= 5
    assert kinds.count("chart trend") == len(with_history)
    # each breached response-time line draws its distribution with the limit
    timed = [b for b in printed.evaluation.breaches() if b.kind == "response_time"]
    assert len(timed) >= 2
    assert kinds.count("chart distribution") == len(timed)
    # 1 week for stop smoking, else 2 weeks (the rule title)
    assert "limit 7 days, 14 days" in printed.html


def test_the_printed_pdf_keeps_every_column_and_puts_breaches_first(printed: Printed) -> None:
    assert printed.pdf.read_bytes().startswith(b"%PDF")
    text = " ".join(printed.pdf_text().split())  # headings may wrap inside their cell
    lines = [v for x in printed.evaluation.verdicts for v in [x, *x.groups]]
    count = {s: sum(v.status == s for v in lines) for s in ("not met", "met", "monitoring")}
    order = [  # headings with their counts of verdict lines
        f"Needs action: {count['not met']} breaches",
        f"Breaches in detail ({count['not met']})",
        f"Standards met ({count['met']})",
        f"Monitoring figures ({count['monitoring']})",
    ]
    positions = [text.index(heading) for heading in order]
    assert positions == sorted(positions)
    # the last column's heading of each summary table survives printing
    summary = text[positions[0] : positions[1]]
    assert "Consequence, due" in summary
    assert "Rows failing" in text[positions[2] : positions[3]]
    assert "Numerator / denominator" in text[positions[3] :]
    # every breach is read back from the printed detail, by rule id and period
    detail = text[positions[1] : positions[2]]
    kinds = "eligibility|response time|kpi"
    found = set(re.findall(rf"(\w+) · (?:{kinds}) · (\S+) \(", detail))
    assert found == {(v.rule_id, v.period) for v in printed.evaluation.breaches()}
    # and nothing is printed beyond the A4 page's right edge
    boxes = printed.pdf_text("-bbox")
    page_width = float(re.search(r'<page width="([\d.]+)"', boxes).group(1))
    assert abs(page_width - 595) < 1  # A4 portrait, in points
    right_edges = [float(x) for x in re.findall(r'xMax="([\d.]+)"', boxes)]
    assert right_edges and max(right_edges) <= page_width


# ------------------------------------------------------------------ the page itself
def test_page_is_self_contained_and_printable(evaluation: Evaluation, spec: specrules.Spec) -> None:
    html = render_report(evaluation, "html", spec=spec)
    dom = parse(html)
    for tag, attrs in dom.tags:
        assert tag not in ("link", "img", "iframe", "object", "embed"), tag
        assert "src" not in attrs, (tag, attrs)
        href = attrs.get("href", "")
        assert not href or href.startswith("#"), href  # nothing fetched, nowhere to go
    assert "@import" not in html and "url(" not in html
    assert "@media print" in html
    assert html.lstrip().lower().startswith("<!doctype html>")


def test_each_breach_says_what_a_commissioner_needs(
    evaluation: Evaluation, spec: specrules.Spec
) -> None:
    html = render_report(evaluation, "html", spec=spec)
    start = html.index('<article class="breach" id="age_minimum-2019-20"')
    section = html[start : html.index("</article>", start)]
    for expected in [
        "Clients are 16 or over",  # the rule in words
        "Appendix A 5.8 Accessibility/acceptability",  # its source
        "open to anyone over the age of 16",  # the quote
        "100.0%",  # the target
        "75.0%",  # the figure
        "6 of 8",  # numerator of denominator
        "-25.0 percentage points",  # the gap
        "exception_report",  # the consequence
        "The provider shall provide exception report to the commissioner",
        "R04",  # the rows behind it, with why
        "R05",
        "cannot tell (missing data)",
        "Only one period (2019/20)",  # the trend, said to be absent
    ]:
        assert expected in section, expected


def test_trend_shows_earlier_periods_of_the_same_rule(
    evaluation: Evaluation, spec: specrules.Spec
) -> None:
    html = render_report(evaluation, "html", spec=spec)
    start = html.index('<article class="breach" id="case_studies-2019-20-q3"')
    section = html[start : html.index("</article>", start)]
    trend = section[
        section.index('class="trend"') : section.index("</table>", section.index('class="trend"'))
    ]
    assert "2019/20-Q1" in trend and "2019/20-Q2" in trend and "2019/20-Q3 (this report)" in trend
    assert "2019/20-Q4" not in trend  # later periods are not the trend
    assert trend.index("2019/20-Q1") < trend.index("2019/20-Q2") < trend.index("2019/20-Q3")


def test_rows_and_data_accounting_are_shown(evaluation: Evaluation, spec: specrules.Spec) -> None:
    html = render_report(evaluation, "html", spec=spec)
    accounting = html[html.index('id="rows-accounting"') :]
    referrals = evaluation.rows["referrals"]
    assert referrals.rejected  # the fixture has a duplicate key
    row = accounting[accounting.index("<td>referrals</td>") :]
    row = row[: row.index("</tr>")]
    assert f">{referrals.read}<" in row and f">{referrals.evaluated}<" in row
    assert "duplicate key" in row


def test_long_row_lists_are_folded_not_cut(
    tmp_path: Path, evaluation: Evaluation, spec: specrules.Spec
) -> None:
    many = evaluation.model_copy(deep=True)
    verdict = next(v for v in many.verdicts if v.rule_id == "age_minimum")
    verdict.breaches = [RowResult(key=f"K{i:04d}", row=i, reason="late") for i in range(1, 501)]
    verdict.breach_count = 500
    rows_dir = tmp_path / "rows"
    files = write_rows(many, rows_dir)
    html = render_report(many, "html", spec=spec, rows_files=files, link_base=tmp_path)
    section = html[html.index('id="age_minimum-2019-20"') :]
    section = section[: section.index("</article>")]
    assert "<details" in section and "Show all 500 rows" in section
    assert all(f"K{i:04d}" in section for i in range(1, 501))  # never capped
    assert 'href="rows/age_minimum_2019-20.csv"' in section
    written = (rows_dir / "age_minimum_2019-20.csv").read_text(encoding="utf-8").splitlines()
    assert len(written) == 501 and written[0] == "rule_id,period,group,key,row,reason"
    assert written[-1] == "age_minimum,2019/20,,K0500,500,late"
    # a short list is shown as it is, unfolded
    short = html[html.index('id="borough_connection-2019-20"') :]
    assert "<details" not in short[: short.index("</article>")]


def test_disclosure_control_hides_counts_not_verdicts(
    tmp_path: Path, evaluation: Evaluation, spec: specrules.Spec
) -> None:
    before = evaluation.model_dump()
    plain = parse(render_report(evaluation, "html", spec=spec))
    html = render_report(evaluation, "html", spec=spec, suppress_below=8)
    hidden = parse(html)
    assert evaluation.model_dump() == before  # the Evaluation is untouched
    assert from_dom(hidden) == from_dom(plain) == breached(evaluation)
    assert [r["data-status"] for r in hidden.summary_rows] == [
        r["data-status"] for r in plain.summary_rows
    ]
    section = html[html.index('id="age_minimum-2019-20"') :]
    section = section[: section.index("</article>")]
    assert "6 of 8" not in section and "* of 8" in section  # 6 is hidden, 8 is not
    assert "75.0%" not in section and "-25.0 percentage points" not in section
    assert "R04" not in section  # rows by key would give the count back
    assert "counts from 1 to 7" in html


def test_cli_writes_html_and_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    code = main(
        [
            "evaluate",
            str(SPEC),
            "--data",
            str(FIXTURE),
            "--format",
            "html",
            "--output",
            str(out),
            "--rows-dir",
            str(tmp_path / "out" / "rows"),
        ]
    )
    assert code == 0  # breaches do not fail the command
    html = out.read_text(encoding="utf-8")
    assert 'href="rows/age_minimum_2019-20.csv"' in html
    files = sorted(p.name for p in (tmp_path / "out" / "rows").iterdir())
    assert "age_minimum_2019-20.csv" in files
    assert "clients_commencing_2019-20.csv" not in files  # a count has no rows behind it
    assert (
        main(
            ["evaluate", str(SPEC), "--data", str(FIXTURE), "--format", "html", "--fail-on-breach"]
        )
        == 1
    )


def test_template_dir_overrides_a_builtin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "breach.html.j2").write_text(
        '<article class="breach" data-rule-id="{{ b.verdict.rule_id }}">'
        "OVERRIDDEN {{ b.verdict.rule_id }}</article>\n",
        encoding="utf-8",
    )
    code = main(
        [
            "evaluate",
            str(SPEC),
            "--data",
            str(FIXTURE),
            "--format",
            "html",
            "--template-dir",
            str(tmp_path),
        ]
    )
    html = capsys.readouterr().out
    assert code == 0
    assert "OVERRIDDEN age_minimum" in html
    assert "Needs action" in html  # the page itself is still the built-in one


def test_spec_consequence_template_renders_its_breaches(tmp_path: Path) -> None:
    (tmp_path / "exception.html.j2").write_text(
        '<article class="breach custom">CUSTOM {{ b.verdict.rule_id }}: '
        "{{ b.consequence.text }}</article>\n",
        encoding="utf-8",
    )
    text = SPEC.read_text(encoding="utf-8")
    anchor = "    text: The provider shall provide exception report to the commissioner\n"
    assert text.count(anchor) == 1
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace(anchor, anchor + "    template: exception.html.j2\n"))
    spec = specrules.load(path)
    html = render_report(spec.evaluate(FIXTURE), "html", spec=spec)
    assert "CUSTOM smoking_prevalence: The provider shall provide exception report" in html
    # the spec's html template does not leak into the Markdown report
    assert "CUSTOM" not in render_report(spec.evaluate(FIXTURE), "md", spec=spec)


def test_a_broken_template_names_file_and_line(
    tmp_path: Path, evaluation: Evaluation, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "breach.html.j2").write_text(
        "<article>\n{{ b.verdict.rule_id }}\n{% if %}\n</article>\n", encoding="utf-8"
    )
    with pytest.raises(ReportError, match=r"breach\.html\.j2:3: template error"):
        render_report(evaluation, "html", template_dir=tmp_path)

    (tmp_path / "breach.html.j2").write_text(
        "<article>\n\n{{ b.verdict.no_such_field }}\n</article>\n", encoding="utf-8"
    )
    with pytest.raises(ReportError, match=r"breach\.html\.j2:3: .*no_such_field"):
        render_report(evaluation, "html", template_dir=tmp_path)

    code = main(
        [
            "evaluate",
            str(SPEC),
            "--data",
            str(FIXTURE),
            "--format",
            "html",
            "--template-dir",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "breach.html.j2:3" in err and "Traceback" not in err


def test_a_missing_template_dir_or_spec_template_is_a_clear_error(
    tmp_path: Path, evaluation: Evaluation
) -> None:
    with pytest.raises(ReportError, match="no such folder"):
        render_report(evaluation, "html", template_dir=tmp_path / "nowhere")
    text = SPEC.read_text(encoding="utf-8")
    anchor = "    text: The provider shall provide exception report to the commissioner\n"
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace(anchor, anchor + "    template: missing.html\n"))
    spec = specrules.load(path)
    with pytest.raises(ReportError, match="consequence `exception_report` names template"):
        render_report(evaluation, "html", spec=spec)


def test_disclosure_control_reaches_the_charts(
    evaluation: Evaluation, spec: specrules.Spec
) -> None:
    html = render_report(evaluation, "html", spec=spec, suppress_below=8)
    overview = html[html.index('<svg class="chart overview"') :]
    overview = overview[: overview.index("</svg>")]
    # age_minimum is 6 of 8 (worked in test_each_breach_says_what_a_commissioner_needs):
    # 6 is hidden, so its share is not drawn and its label says *
    row = overview[overview.index(">age_minimum 2019/20<") :]
    assert row.index(">* vs 100.0%<") < 400  # the note of the same row, not a later one
    assert ">75.0% vs 100.0%<" not in overview
    plain = render_report(evaluation, "html", spec=spec)
    assert ">75.0% vs 100.0%<" in plain  # drawn when nothing is hidden
