"""Analysts in notebooks: the tidy frame, drill-down, rich display, charts, comparisons.

Fixture: tests/fixtures/analysis/ (spec.yaml, referrals.csv), worked by hand below. The
contract starts 2023-04-01, so contract years run April to March (2023/24, 2024/25) and
quarters start 1 Apr, 1 Jul, 1 Oct, 1 Jan.

    id   received    urgent  contact     days wdays age  outcome  moved  year
    A01  Mon 03 Apr  yes     04 Apr       1    1    34   yes      no     2023/24
    A02  Wed 05 Apr  no      12 Apr       7    3    17   yes      no     2023/24
    A03  Mon 10 Apr  no      14 Apr       4    3    45   no       no     2023/24
    A04  Tue 02 May  yes     05 May       3    3    52   yes      no     2023/24
    A05  Mon 15 May  no      -            -    -    60   -        no     2023/24
    A06  Mon 03 Jul  no      Sat 08 Jul   5    4    29   yes      yes    2023/24
    A07  Thu 20 Jul  yes     Sat 22 Jul   2    1    -    yes      no     2023/24
    A08  Tue 01 Aug  no      04 Aug       3    3    38   no       yes    2023/24
    A09  Mon 08 Apr  no      10 Apr       2    2    41   yes      no     2024/25
    A10  Wed 01 May  yes     Mon 06 May   5    2    23   no       no     2024/25

Working days ("wdays") count the days after the start up to the end, skipping weekends and
England and Wales bank holidays: A02 skips Good Friday (7 Apr) and Easter Monday (10 Apr)
2023; A03 starts on Easter Monday, so its clock starts on Tuesday 11 Apr; A10 ends on the
early May bank holiday 2024 (6 May), which does not count.

- contact_in_time (2 days if urgent, else 5): late A02 (7 > 5), A04 (3 > 2), A05 (no
  end), A10 (5 > 2). 2023/24: 5 of 8 on time.
- triage_in_time (3 working days): late A05 (no end), A06 (4 > 3). 2023/24: 6 of 8.
- adults_only (age >= 18): A02 fails (17), A07 cannot tell (age missing). No `decision`, so
  reported (monitoring), never judged: 2023/24 6 of 8, 2024/25 2 of 2.
- outcome_recorded_share: A06 and A08 moved away (denominator exclusions, left out);
  2023/24 denominator A01-A05, A07 = 6, numerator 4 (A03 no, A05 unknown) = 66.7%, met
  (at least 60%); 2024/25: A09 yes, A10 no = 50%, not met.
- referrals_received: count, no threshold (monitoring): 8 in 2023/24, 2 in 2024/25.
- referrals_per_quarter (at least 3): 2023/24 Q1 5 met, Q2 3 met, Q3 0, Q4 0; 2024/25 Q1
  2, Q2-Q4 0: eight quarters, two met.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

import specrules  # noqa: E402
from specrules import charts  # noqa: E402
from specrules.display import COLOURS  # noqa: E402
from specrules.results import Evaluation  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "analysis"
CORE = Path(__file__).parent / "fixtures" / "wigan_core"
GREEN, RED = COLOURS["green"], COLOURS["red"]


@pytest.fixture(scope="module")
def spec() -> specrules.Spec:
    return specrules.load(FIXTURE / "spec.yaml")


@pytest.fixture(scope="module")
def evaluation(spec) -> Evaluation:
    return spec.evaluate(FIXTURE)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------ to_frame
EXPECTED_DTYPES = {
    "rule_id": "string",
    "kind": "category",
    "title": "string",
    "period": "string",
    "period_start": "datetime64[s]",
    "period_end": "datetime64[s]",
    "group": "string",
    "status": "category",
    "rag": "string",
    "value": "Float64",
    "unit": "string",
    "measure": "string",
    "numerator": "Float64",
    "denominator": "Float64",
    "target": "Float64",
    "gap": "Float64",
    "threshold": "string",
    "breach_count": "Int64",
    "due": "datetime64[s]",
    "judged_against": "string",
    "reason": "string",
    "exclusions": "string",
    "exceptions": "string",
}


def test_frame_columns_and_dtypes(evaluation):
    frame = evaluation.to_frame()
    assert list(frame.columns) == list(EXPECTED_DTYPES)
    assert {c: str(t) for c, t in frame.dtypes.items()} == EXPECTED_DTYPES
    assert list(frame["status"].cat.categories) == [
        "met",
        "not met",
        "monitoring",
        "no data",
        "not due",
    ]
    assert list(frame["kind"].cat.categories) == ["eligibility", "response_time", "kpi"]


def test_frame_has_one_row_per_rule_period_and_group(evaluation):
    frame = evaluation.to_frame()
    # 2 years × (adults, contact, triage, referrals_received) + 2 years × (outcome share
    # + North + South) + 8 quarters.
    assert len(frame) == 8 + 6 + 8
    share = frame[(frame.rule_id == "outcome_recorded_share") & (frame.period == "2023/24")]
    assert share["group"].isna().tolist() == [True, False, False]
    assert share["group"].dropna().tolist() == ["locality=North", "locality=South"]
    top = share[share["group"].isna()].iloc[0]
    assert (top.numerator, top.denominator, top.status) == (4, 6, "met")
    assert top.value == pytest.approx(4 / 6)
    assert pd.isna(frame.loc[frame.rule_id == "referrals_received", "target"]).all()
    quarters = frame[frame.rule_id == "referrals_per_quarter"]
    assert quarters["value"].tolist() == [5, 3, 0, 0, 2, 0, 0, 0]
    assert (quarters["status"] == "met").sum() == 2


def test_empty_frame_keeps_columns_and_dtypes(evaluation):
    empty = evaluation.model_copy(update={"verdicts": []}).to_frame()
    assert empty.empty
    assert {c: str(t) for c, t in empty.dtypes.items()} == EXPECTED_DTYPES


# ------------------------------------------------------------------ drill-down
def keys(frame: pd.DataFrame) -> list[str]:
    return frame["referral_id"].tolist()


def test_breaching_rows_of_a_response_time(evaluation):
    rows = evaluation.rows_behind("contact_in_time", "2023/24")
    assert keys(rows) == ["A02", "A04", "A05"]
    assert rows["row"].tolist() == [2, 4, 5]
    assert rows["elapsed_days"].tolist()[:2] == [7, 3]
    assert pd.isna(rows["elapsed_days"].iloc[2])
    assert rows["limit_days"].tolist() == [5, 2, 5]
    assert rows["reason"].iloc[2] == "no end event (clock never stopped)"
    # the data comes along, typed as the spec declares it
    assert rows["received_on"].iloc[0] == pd.Timestamp("2023-04-05")
    assert rows["urgent"].tolist() == [False, True, False]


def test_drill_down_keys_match_the_verdicts_breaches(evaluation):
    for verdict in evaluation.verdicts:
        if verdict.kind == "kpi" and verdict.unit == "count":
            continue
        rows = evaluation.rows_behind(verdict.rule_id, verdict.period)
        assert keys(rows) == [b.key for b in verdict.breaches], verdict.rule_id
        assert rows["row"].tolist() == [b.row for b in verdict.breaches]
        assert rows["reason"].tolist() == [b.reason for b in verdict.breaches]


def test_every_period_by_default(evaluation):
    rows = evaluation.rows_behind("contact_in_time")
    assert list(zip(rows["period"], keys(rows), strict=True)) == [
        ("2023/24", "A02"),
        ("2023/24", "A04"),
        ("2023/24", "A05"),
        ("2024/25", "A10"),
    ]
    assert keys(evaluation.rows_behind("adults_only")) == ["A02", "A07"]


def test_working_days_elapsed(evaluation):
    rows = evaluation.rows_behind("triage_in_time", all_rows=True)
    elapsed = dict(zip(keys(rows), rows["elapsed_working_days"], strict=True))
    assert pd.isna(elapsed.pop("A05"))
    assert elapsed == {
        "A01": 1,
        "A02": 3,
        "A03": 3,
        "A04": 3,
        "A06": 4,
        "A07": 1,
        "A08": 3,
        "A09": 2,
        "A10": 2,
    }
    assert set(rows["limit_working_days"]) == {3}
    assert keys(rows[rows.outcome == "breach"]) == ["A05", "A06"]


def test_all_rows_with_passed_and_reason(evaluation):
    rows = evaluation.rows_behind("outcome_recorded_share", "2023/24", all_rows=True)
    assert list(rows.columns[:5]) == ["period", "row", "passed", "outcome", "reason"]
    assert keys(rows) == ["A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08"]
    assert rows["passed"].tolist() == [True, True, False, True, False, pd.NA, True, pd.NA]
    assert rows["outcome"].tolist() == [
        "met",
        "met",
        "breach",
        "met",
        "breach",
        "left out",
        "met",
        "left out",
    ]
    reasons = dict(zip(keys(rows), rows["reason"], strict=True))
    assert reasons["A03"] == "does not meet `outcome_recorded`"
    assert reasons["A05"] == "numerator unknown (missing data)"
    assert reasons["A06"] == reasons["A08"] == "denominator exclusion: moved_away"
    assert rows["reason"].isna().sum() == 4
    assert str(rows["passed"].dtype) == "boolean"


def test_count_rule_rows_are_counted_not_judged(evaluation):
    assert evaluation.rows_behind("referrals_per_quarter").empty
    rows = evaluation.rows_behind("referrals_per_quarter", "2023/24-Q2", all_rows=True)
    assert keys(rows) == ["A06", "A07", "A08"]
    assert set(rows["outcome"]) == {"counted"}
    assert rows["passed"].isna().all()


def test_drill_down_data_is_not_serialised(evaluation):
    text = evaluation.to_json()
    assert set(Evaluation.model_validate_json(text).model_dump()) == {
        "spec_title",
        "provenance",
        "verdicts",
        "data_issues",
        "rows",
    }
    assert "2023-04-12" not in text and "elapsed" not in text  # no data, no elapsed times
    back = Evaluation.model_validate_json(text)
    assert back == evaluation  # the private data takes no part in equality
    with pytest.raises(ValueError, match="carries no data.*evaluate the spec again"):
        back.rows_behind("contact_in_time")


def test_drill_down_bad_input(evaluation):
    with pytest.raises(KeyError, match="no rule 'contact_in_tme'.*did you mean `contact_in_time`"):
        evaluation.rows_behind("contact_in_tme")
    with pytest.raises(KeyError, match=r"rules: adults_only, contact_in_time, triage_in_time"):
        evaluation.rows_behind("nothing_like_it")
    with pytest.raises(KeyError, match="not judged in period '2025/26'; its periods: 2023/24, 20"):
        evaluation.rows_behind("contact_in_time", "2025/26")


def test_a_rule_whose_dataset_is_missing_has_no_rows(spec):
    empty = spec.evaluate({"other": pd.DataFrame()}, period="2023/24")
    with pytest.raises(ValueError, match="no rows to show: dataset `referrals`: no data supplied"):
        empty.rows_behind("adults_only")
    assert repr(empty.verdict("adults_only")) == (
        "<Verdict adults_only 2023/24: no data: dataset `referrals`: no data supplied for "
        "this dataset>"
    )


# ------------------------------------------------------------------ display
def test_plain_reprs_are_short_and_useful(evaluation):
    text = repr(evaluation)
    assert text.startswith("<Evaluation 'Analysis fixture — Community Triage Service'")
    # Counted as the HTML table counts (one line per rule × period × group): 18 verdicts
    # plus the 4 locality groups of outcome_recorded_share (2 years × North, South), which
    # are monitoring; 2 referrals_received years + 4 groups + 2 adults_only years (an
    # eligibility criterion without `decision`) = 8 monitoring.
    assert "10 not met, 4 met, 8 monitoring (22 verdicts of 6 rules;" in text
    verdict = evaluation.verdict("contact_in_time", "2023/24")
    assert repr(verdict) == (
        "<Verdict contact_in_time 2023/24: not met 62.5% (target 100.0%), 5/8, 3 failing rows>"
    )
    monitoring = evaluation.verdict("referrals_received", "2023/24")
    assert repr(monitoring) == "<Verdict referrals_received 2023/24: monitoring 8>"
    group = evaluation.verdict("outcome_recorded_share", "2023/24").groups[1]
    assert repr(group).startswith("<Verdict outcome_recorded_share [locality=South] 2023/24")


def test_evaluation_html_has_rag_colours_and_thresholds(evaluation):
    html = evaluation._repr_html_()
    assert html.count("<tr>") == 1 + 22  # header + one row per rule × period × group
    assert html.count(f"background:{RED}") == 10  # a red pill per breach
    assert html.count(f"background:{GREEN}") == 4
    # 2 counts + 4 groups + 2 years of adults_only (no `decision`: reported, not judged)
    assert html.count(f"background:{COLOURS['monitoring']}") == 8
    # the figure and its target side by side, in the verdict's colour
    assert f'<b style="color:{RED}">62.5%</b> <span style="color:#666">vs 100.0%</span>' in html
    assert "at least 3 per quarter" in html


def test_long_evaluations_are_cut_short_in_html(evaluation, monkeypatch):
    from specrules.report import notebook

    monkeypatch.setattr(notebook, "MAX_HTML_ROWS", 5)
    html = evaluation._repr_html_()
    assert html.count("<tr>") == 1 + 5
    assert "… 17 more rows; use <code>to_frame()</code>" in html
    empty = evaluation.model_copy(update={"verdicts": []})
    assert "No verdicts: no period was evaluated." in empty._repr_html_()


def test_html_escapes_what_it_shows(evaluation):
    sneaky = evaluation.model_copy(update={"spec_title": "<script>alert(1)</script>"})
    assert "<script>" not in sneaky._repr_html_()
    assert "&lt;script&gt;" in sneaky._repr_html_()


def test_verdict_html_lists_the_failing_rows(evaluation):
    html = evaluation.verdict("contact_in_time", "2023/24")._repr_html_()
    assert f"border-left:5px solid {RED}" in html
    for key in ("A02", "A04", "A05"):
        assert f">{key}</td>" in html
    assert "3 failing row(s)" in html
    assert "The provider shall provide an exception report" in html


def test_spec_html_is_the_commissioners_table(spec):
    html = spec._repr_html_()
    for header in ("indicator", "threshold", "method of measurement", "consequence of breach"):
        assert f">{header}</th>" in html
    assert html.count("<tr>") == 1 + 6
    assert "within: if urgent then 2 days else 5 days" in html
    assert "monitoring only" in html  # referrals_received has no threshold


# ------------------------------------------------------------------ charts
def colours_of(collection) -> list[str]:
    return [to_hex(c).lower() for c in collection.get_facecolors()]


def bars(ax) -> list[int]:
    return [len(container) for container in ax.containers]


def test_kpi_overview_draws_a_dot_per_rule_with_a_threshold(evaluation):
    ax = charts.kpi_overview(evaluation, period="2023/24")
    (dots,) = ax.collections
    # contact 62.5%, triage 75%, outcome 66.7% (met), per quarter Q4 0 (not met);
    # referrals_received and adults_only (a criterion without `decision`) are not judged,
    # so they are named but have no dot.
    assert len(dots.get_offsets()) == 4
    assert colours_of(dots) == [RED, RED, GREEN, RED]
    x = dots.get_offsets()[:, 0].tolist()
    assert x == pytest.approx([0.625, 0.75, (4 / 6) / 0.6, 0.0])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "referrals_per_quarter  (2023/24-Q4)"
    assert any("monitoring: 8 (no threshold)" in t.get_text() for t in ax.texts)
    assert len(ax.lines) == 1  # the 100% threshold line


def test_kpi_overview_defaults_to_each_rules_latest_verdict(evaluation):
    ax = charts.kpi_overview(evaluation)
    (dots,) = ax.collections
    # 2024/25: contact 50%, triage 100% met, outcome 50%, 2024/25-Q4 0 (adults_only is
    # not judged: no dot).
    assert colours_of(dots) == [RED, GREEN, RED, RED]


def test_kpi_overview_turns_at_most_thresholds_round():
    spec = specrules.load(CORE / "spec.yaml")
    ax = charts.kpi_overview(spec.evaluate(CORE, period="2019/20"), period="2019/20")
    (dots,) = ax.collections
    assert len(dots.get_offsets()) == 11
    # smoking prevalence 14.9% against a reduction target of 14.6%: 14.6 / 14.9 < 1.
    assert dots.get_offsets()[-1][0] == pytest.approx(0.146 / 0.149)


def test_trend_draws_a_point_per_period_and_the_target(evaluation):
    ax = charts.trend(evaluation, "referrals_per_quarter")
    (dots,) = ax.collections
    assert len(dots.get_offsets()) == 8
    assert colours_of(dots) == [GREEN, GREEN] + [RED] * 6
    figure, target = ax.lines
    assert figure.get_ydata().tolist() == [5, 3, 0, 0, 2, 0, 0, 0]
    assert set(target.get_ydata().tolist()) == {3}
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "2023/24-Q1"


def test_trend_of_a_monitoring_rule_has_no_target_line(evaluation):
    ax = charts.trend(evaluation, "referrals_received")
    assert len(ax.lines) == 1
    assert len(ax.collections[0].get_offsets()) == 2
    assert "monitoring only (no threshold)" in ax.get_title()


def test_response_time_distribution_with_two_limits(evaluation):
    ax = charts.response_time_distribution(evaluation, "contact_in_time", "2023/24")
    # on time at 1, 2, 3, 4, 5 days; late at 3 (A04) and 7 (A02); A05 has no end.
    assert bars(ax) == [5, 2]
    on_time, late = ax.containers
    assert [round(p.get_x() + p.get_width() / 2) for p in late] == [3, 7]
    assert late[0].get_y() == 1  # stacked on A08, on time at 3 days
    assert sorted(line.get_xdata()[0] for line in ax.lines) == [2.5, 5.5]
    assert ax.get_title() == (
        "contact_in_time: 37.5% late (3 of 8); not drawn: 1 no end event (clock never stopped)"
    )


def test_response_time_distribution_over_every_period(evaluation):
    ax = charts.response_time_distribution(evaluation, "contact_in_time")
    assert bars(ax) == [5, 3]  # A10 (5 days, urgent) adds a late bar at 5
    assert "40.0% late (4 of 10)" in ax.get_title()


def test_response_time_distribution_with_one_limit_shades_beyond_it(evaluation):
    ax = charts.response_time_distribution(evaluation, "triage_in_time", "2023/24")
    assert bars(ax) == [2, 1]  # on time at 1 and 3 working days; A06 late at 4
    assert len(ax.lines) == 1
    shaded = [p for p in ax.patches if p not in ax.containers[0] and p not in ax.containers[1]]
    assert len(shaded) == 1
    assert ax.get_xlabel() == "working days from start to end"


def test_charts_draw_on_the_axes_given(evaluation):
    figure, (left, right) = plt.subplots(1, 2)
    assert charts.trend(evaluation, "contact_in_time", ax=left) is left
    assert charts.kpi_overview(evaluation, ax=right) is right


def test_chart_bad_input(evaluation):
    with pytest.raises(KeyError, match="no rule 'contact'.*rules: adults_only"):
        charts.trend(evaluation, "contact")
    with pytest.raises(KeyError, match="did you mean `triage_in_time`"):
        charts.response_time_distribution(evaluation, "triage_in_tim")
    with pytest.raises(ValueError, match="is a kpi rule.*contact_in_time, triage_in_time"):
        charts.response_time_distribution(evaluation, "referrals_received")
    with pytest.raises(KeyError, match="no verdict for period '2030/31'.*2023/24"):
        charts.kpi_overview(evaluation, period="2030/31")
    empty = evaluation.model_copy(update={"verdicts": []})
    for draw in (
        lambda: charts.kpi_overview(empty),
        lambda: charts.trend(empty, "contact_in_time"),
        lambda: charts.response_time_distribution(empty, "contact_in_time"),
    ):
        with pytest.raises(ValueError, match="no verdicts: no period was evaluated"):
            draw()
    with pytest.raises(TypeError, match="expected an Evaluation"):
        charts.kpi_overview(evaluation.to_frame())


def test_trend_of_a_rule_with_no_figure_is_an_error(spec):
    no_data = spec.evaluate({"other": pd.DataFrame()}, period="2023/24")
    with pytest.raises(ValueError, match="no figure in any period.*no data supplied"):
        charts.trend(no_data, "outcome_recorded_share")


# ------------------------------------------------------------------ comparing
def test_compare_stacks_frames_with_a_provider_column(evaluation, spec):
    half = pd.read_csv(FIXTURE / "referrals.csv", dtype=str).iloc[:5]
    other = spec.evaluate({"referrals": half}, period="2023/24")
    frame = specrules.compare({"Doncaster": evaluation, "Rotherham": other})
    assert list(frame.columns[:2]) == ["provider", "spec_title"]
    assert list(frame.columns[2:]) == list(EXPECTED_DTYPES)
    assert list(frame["provider"].cat.categories) == ["Doncaster", "Rotherham"]
    assert (frame["provider"] == "Doncaster").sum() == 22
    # Rotherham (A01-A05, 2023/24 only): five yearly verdicts, two locality groups, four
    # quarters; contact 2 of 5 on time (A01, A03).
    rotherham = frame[frame["provider"] == "Rotherham"]
    assert len(rotherham) == 5 + 2 + 4
    contact = rotherham[rotherham.rule_id == "contact_in_time"].iloc[0]
    assert (contact.numerator, contact.denominator) == (2, 5)
    assert str(frame["status"].dtype) == "category"


def test_evaluate_many(spec):
    first_five = {"referrals": pd.read_csv(FIXTURE / "referrals.csv").iloc[:5]}
    frame = spec.evaluate_many({"all": FIXTURE, "first five": first_five}, period="2023/24")
    assert frame["provider"].unique().tolist() == ["all", "first five"]
    adults = frame[(frame.rule_id == "adults_only")]
    assert adults["breach_count"].tolist() == [2, 1]  # A02 and A07; A02 alone in the first five


def test_compare_is_the_function_after_evaluate_many_in_a_fresh_process():
    # evaluate_many imports the module holding `compare`: it used to be `specrules.compare`
    # itself, which then made `specrules.compare` the module ("'module' object is not
    # callable"), depending on what a program ran first.
    code = (
        "import specrules, sys; spec = specrules.load(sys.argv[1]); "
        "spec.evaluate_many({'all': sys.argv[2]}, period='2023/24'); "
        "print(callable(specrules.compare))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(FIXTURE / "spec.yaml"), str(FIXTURE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"


def test_compare_bad_input(evaluation):
    with pytest.raises(ValueError, match="nothing to compare"):
        specrules.compare({})
    with pytest.raises(TypeError, match="not an Evaluation: b"):
        specrules.compare({"a": evaluation, "b": evaluation.to_frame()})
    with pytest.raises(TypeError, match="mapping of name to Evaluation"):
        specrules.compare([evaluation])
