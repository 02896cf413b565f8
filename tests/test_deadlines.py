"""Consequences with a due time: `deadline: within 20 working days`, counted from the end of
the breached period, on every engine, in the JSON, the reports and `explain`.

Calendar for the hand working: 2024-03-31 and 2024-06-30 are Sundays; 2024-04-01 is Easter
Monday and 2024-05-27 the spring bank holiday (England and Wales); 2024-05-31 is a Friday.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import specrules
from specrules import SpecError
from specrules.authoring.explain import explain
from specrules.dsl import ir
from specrules.engine.common.calendar import due_date
from specrules.engine.sql.create_tables import create_tables
from specrules.engine.sql.verdict_table import verdict_sql
from specrules.report.fhir import to_fhir_json
from specrules.report.render import render_report


@pytest.mark.parametrize(
    ("period_end", "amount", "unit", "due"),
    [
        # Q1 ends Sun 30 June: working days Jul 1-5 (5), 8-12 (10), 15-19 (15), 22-26 (20)
        (dt.date(2024, 6, 30), 20, "working days", dt.date(2024, 7, 26)),
        # Sun 31 March: Mon 1 April is Easter Monday, so the first working day is 2 April
        (dt.date(2024, 3, 31), 1, "working days", dt.date(2024, 4, 2)),
        # Fri 24 May: Mon 27 May is a bank holiday; 28, 29, 30 May are the 1st-3rd
        (dt.date(2024, 5, 24), 3, "working days", dt.date(2024, 5, 30)),
        # calendar months stop at the month's end: 31 March + 1 month = 30 April
        (dt.date(2024, 3, 31), 1, "months", dt.date(2024, 4, 30)),
        (dt.date(2024, 3, 31), 10, "days", dt.date(2024, 4, 10)),
        (dt.date(2024, 5, 31), 2, "weeks", dt.date(2024, 6, 14)),
        # hours run from the end of the last day (midnight): 1 June 00:00 + 48 h
        (dt.date(2024, 5, 31), 48, "hours", dt.datetime(2024, 6, 3, 0, 0)),
        (dt.date(2024, 5, 31), 90, "minutes", dt.datetime(2024, 6, 1, 1, 30)),
    ],
)
def test_due_dates_worked_by_hand(period_end, amount, unit, due) -> None:
    assert due_date(period_end, ir.Duration(amount, unit)) == due


SPEC = textwrap.dedent(
    """\
    specrules: 1
    title: Deadlines
    commissioner: Test ICB
    source_document: tests/test_deadlines.py
    contract: {start: 2024-04-01, end: 2025-03-31}
    consequences:
      rap:
        kind: remedial_action_plan
        text: The provider shall agree a remedial action plan
        deadline: within 20 working days
      call:
        text: The provider shall phone the commissioner
        deadline: within 48 hours
    datasets:
      referrals:
        key: referral_id
        date: received_on
        fields: {referral_id: text, received_on: date, seen: boolean}
    kpis:
      - id: Seen_quarterly
        title: Referrals seen (quarterly)
        dataset: referrals
        scoring: proportion
        numerator: seen
        threshold: at least 70%
        period: quarter
        consequence: rap
        source: {section: test}
      - id: seen_monthly
        title: Referrals seen (monthly)
        dataset: referrals
        scoring: proportion
        numerator: seen
        threshold: at least 70%
        period: month
        consequence: call
        source: {section: test}
    """
)
REFERRALS = "referral_id,received_on,seen\nr1,2024-04-02,true\nr2,2024-05-02,false\n"
# Worked by hand: Q1 (April-June) has r1 seen, r2 not: 50% < 70%, not met, due 20 working
# days after Sun 30 June = 26 July. April: 1 of 1, met, no due date. May: 0 of 1, not met,
# due 48 hours after the end of 31 May = 3 June 00:00.
EXPECTED = {
    ("Seen_quarterly", "2024/25-Q1"): ("not met", dt.date(2024, 7, 26)),
    ("seen_monthly", "2024-04"): ("met", None),
    ("seen_monthly", "2024-05"): ("not met", dt.datetime(2024, 6, 3, 0, 0)),
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("deadlines")
    (path / "referrals.csv").write_text(REFERRALS, encoding="utf-8")
    (path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    return path


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_breaches_carry_their_due_date(folder, engine) -> None:
    evaluation = specrules.load(folder / "spec.yaml").evaluate(str(folder), engine=engine)
    got = {(v.rule_id, v.period): (v.status, v.due) for v in evaluation.verdicts}
    for key, want in EXPECTED.items():
        assert got[key] == want, key
    assert '"due": "2024-07-26"' in evaluation.to_json()
    # read back from JSON, a day stays a day and a moment a moment
    back = specrules.Evaluation.model_validate_json(evaluation.to_json())
    assert {(v.rule_id, v.period): (v.status, v.due) for v in back.verdicts} == got


def test_reports_and_explain_show_the_due_date(folder) -> None:
    spec = specrules.load(folder / "spec.yaml")
    report = render_report(spec.evaluate(str(folder)), "md", spec=spec)
    assert "**Due:** 2024-07-26" in report
    assert "**Due:** 2024-06-03 00:00" in report
    # FHIR: an extension on the MeasureReport's group (a date; a moment as text)
    bundle = to_fhir_json(spec.evaluate(str(folder)))
    assert '"valueDate": "2024-07-26"' in bundle
    assert '"valueString": "2024-06-03T00:00:00"' in bundle
    explained = explain(spec, "md")
    assert "due within 20 working days of the end of the period" in explained


def test_the_frame_and_the_sql_export_carry_the_due_date(folder) -> None:
    # EXPECTED above, as to_frame() gives it: a day at its midnight, no due date when met
    spec = specrules.load(folder / "spec.yaml")
    wanted = {
        ("Seen_quarterly", "2024/25-Q1"): pd.Timestamp("2024-07-26 00:00"),
        ("seen_monthly", "2024-04"): None,
        ("seen_monthly", "2024-05"): pd.Timestamp("2024-06-03 00:00"),
    }
    frame = spec.evaluate(str(folder)).to_frame()
    assert str(frame["due"].dtype) == "datetime64[s]"
    con = duckdb.connect()
    con.execute(create_tables(spec.model, "duckdb"))
    con.execute(f"INSERT INTO referrals SELECT * FROM read_csv('{folder / 'referrals.csv'}')")
    exported = con.execute(verdict_sql(spec.plan, "duckdb")).df()
    for table in (frame, exported):
        got = {(r.rule_id, r.period): r.due for r in table.itertuples()}
        for key, due in wanted.items():
            assert pd.isna(got[key]) if due is None else got[key] == due, (key, got[key])
    assert list(exported.columns) == list(frame.columns)


def test_the_html_report_shows_the_due_date(folder) -> None:
    spec = specrules.load(folder / "spec.yaml")
    report = render_report(spec.evaluate(str(folder)), "html", spec=spec)
    assert "2024-07-26" in report and "2024-06-03 00:00" in report


@pytest.mark.parametrize(
    ("deadline", "hint"),
    [
        ("in 20 working days", "write for instance `within 20 working days`"),
        ("within 20 workng days", "did you mean `working days` (a unit)?"),
        ("within twenty days", "write for instance `within 20 working days`"),
        # A due date 9000 years on is no real date (it crashed `specrules test`), and a
        # deadline of 0 days is due before the breach is known.
        ("within 9000 years", "write for instance `within 20 working days`"),
        ("within 0 days", "write for instance `within 20 working days`"),
    ],
)
def test_a_deadline_that_is_not_within_a_duration_is_located(deadline, hint) -> None:
    with pytest.raises(SpecError) as caught:
        specrules.loads(SPEC.replace("within 20 working days", deadline), "spec.yaml")
    (found,) = [d for d in caught.value.diagnostics if d.severity == "error"]
    # `    deadline: …` is line 10; its value starts at column 15
    assert (found.code, found.line, found.column) == ("E311", 10, 15)
    assert (found.hint or "").startswith(hint)
