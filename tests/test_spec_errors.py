"""Each kind of mistake in a spec gives a SpecError with the exact line and column."""

from __future__ import annotations

import textwrap

import pytest

import specrules
from specrules import SpecError

# A small valid spec; tests replace one line of it to introduce one mistake.
BASE = textwrap.dedent(
    """\
    specrules: 1
    title: Test service
    commissioner: Test council
    source_document: test
    contract:
      start: 2020-04-01
      end: 2021-03-31
    consequences:
      exception_report:
        text: The provider shall provide an exception report
    datasets:
      referrals:
        key: referral_id
        date: received_on
        fields:
          referral_id: text
          received_on: date
          seen_on: date
          age: integer
          service:
            type: enumeration
            values: [stop smoking, weight management]
    kpis:
      - id: adults
        title: Adults
        dataset: referrals
        scoring: proportion
        numerator: age >= 18
        threshold: at least 60%
        consequence: exception_report
        source: {section: "1.1"}
    """
)


def problems(text: str) -> list[specrules.Diagnostic]:
    with pytest.raises(SpecError) as caught:
        specrules.loads(text, "spec.yaml")
    return caught.value.diagnostics


def only(text: str) -> specrules.Diagnostic:
    found = problems(text)
    assert len(found) == 1, [str(d) for d in found]
    return found[0]


def test_base_is_valid():
    spec = specrules.loads(BASE)
    assert spec.rule_ids == ["adults"]


def test_malformed_yaml():
    # Line 3 loses the space after its colon and gains an unclosed bracket.
    d = only(BASE.replace("commissioner: Test council", "commissioner: [Test council"))
    assert d.code == "Y001"
    assert d.file == "spec.yaml"
    assert d.line >= 3


def test_duplicate_key():
    d = only(BASE.replace("title: Test service\n", "title: Test service\ntitle: Again\n"))
    # The second `title` is on line 3, column 1.
    assert (d.code, d.line, d.column) == ("Y002", 3, 1)
    assert "duplicate key `title`" in d.message


def test_text_cut_by_a_comma_in_braces_says_to_quote_it():
    # `{section: 3.2 Care, pathway}`: the comma ends the section, and `pathway` is a key.
    d = only(BASE.replace('source: {section: "1.1"}', "source: {section: 3.2 Care, pathway}"))
    assert (d.code, d.line, d.column) == ("S001", 31, 33)  # line 31, `pathway` at column 33
    assert "unknown key `pathway`" in d.message
    assert "a comma starts a new key" in d.hint and '("…, pathway")' in d.hint


def test_an_unknown_key_with_a_value_or_in_a_block_gets_the_allowed_keys():
    for written in ("{section: a, chapter: b}", "\n          section: a\n          pathway:"):
        d = only(BASE.replace('{section: "1.1"}', written))
        assert d.code == "S001" and "comma" not in d.hint
        assert d.hint.startswith("allowed keys here: section")


def test_yaml_tag_that_constructs_objects_is_refused():
    d = only(BASE.replace("title: Test service", "title: !!python/object/apply:os.system [ls]"))
    assert (d.code, d.line, d.column) == ("Y003", 2, 8)


def test_anchor_and_alias_are_refused():
    text = BASE.replace("title: Test service", "title: &t Test service") + "note: *t\n"
    assert only(text).code == "Y009"


def test_tab_is_reported_where_it_is():
    d = only(BASE.replace("  start: 2020-04-01", "\tstart: 2020-04-01"))
    assert (d.code, d.line, d.column) == ("Y007", 6, 1)
    assert "spaces" in (d.hint or "")


def test_unknown_key_says_did_you_mean():
    d = only(BASE.replace("    scoring: proportion", "    scorng: proportion"))
    # `scorng` stands on line 27 at column 5.
    assert (d.code, d.line, d.column) == ("S001", 27, 5)
    assert d.hint == "did you mean `scoring`?"


def test_wrong_enumerated_value_gets_a_hint():
    found = problems(BASE.replace("scoring: proportion", "scoring: proportoin"))
    d = found[0]
    assert d.line == 27
    assert "proportion" in (d.hint or "")


def test_expression_syntax_error_points_into_the_expression():
    # `numerator: age >> 18`: the value starts at column 16; the second `>` is offset 5.
    d = only(BASE.replace("numerator: age >= 18", "numerator: age >> 18"))
    assert d.code == "E101"
    assert (d.line, d.column) == (28, 21)


def test_type_error_on_quoted_number():
    # `age >= "16"`: the quoted text starts at offset 7 of the expression -> column 16 + 7.
    d = only(BASE.replace("numerator: age >= 18", 'numerator: age >= "16"'))
    assert d.code == "E201"
    assert (d.line, d.column) == (28, 23)
    assert "cannot compare number with text" in d.message
    assert d.hint == "a number is written without quotes"


def test_unknown_field_suggests_the_declared_one():
    d = only(BASE.replace("numerator: age >= 18", "numerator: ag >= 18"))
    assert (d.code, d.line, d.column) == ("E202", 28, 16)
    assert d.hint == "did you mean `age`?"


def test_enumeration_value_typo():
    d = only(BASE.replace("numerator: age >= 18", 'numerator: service = "stop smokng"'))
    assert d.code == "E205"
    assert (d.line, d.column) == (28, 26)
    assert d.hint == "did you mean `stop smoking`?"


def test_undeclared_dataset_and_consequence_are_both_reported():
    text = BASE.replace("dataset: referrals", "dataset: referals").replace(
        "consequence: exception_report", "consequence: exception_reprt"
    )
    found = {d.code: d for d in problems(text)}
    assert (found["S202"].line, found["S202"].column) == (26, 14)
    assert found["S202"].hint == "did you mean `referrals`?"
    assert (found["S203"].line, found["S203"].column) == (30, 18)


def test_function_typo():
    typo = "numerator: day_between(received_on, seen_on) < 7"
    d = only(BASE.replace("numerator: age >= 18", typo))
    assert d.code == "E204"
    assert (d.line, d.column) == (28, 16)
    assert d.hint == "did you mean `days_between`?"


def test_share_above_100_percent():
    d = only(BASE.replace("at least 60%", "at least 120%"))
    assert (d.code, d.line) == ("E302", 29)


def test_proportion_threshold_without_percent_sign():
    d = only(BASE.replace("at least 60%", "at least 60"))
    assert d.code == "E301"
    assert "60%" in (d.hint or "")


def test_duplicate_rule_id():
    rule = BASE[BASE.index("  - id: adults"):]
    d = only(BASE + rule)
    assert d.code == "S201"
    assert d.line == 31 + 1  # the second `id:` is one line below the first rule's last line


def test_unknown_top_level_key():
    d = only(BASE + "kpi: []\n")
    assert (d.code, d.line, d.column) == ("S001", 32, 1)
    assert d.hint == "did you mean `kpis`?"


def test_contract_ending_before_it_starts():
    d = only(BASE.replace("end: 2021-03-31", "end: 2019-03-31"))
    assert d.code == "S003"
    assert "ends before it starts" in d.message


def test_missing_file_is_a_spec_error():
    with pytest.raises(SpecError) as caught:
        specrules.load("no/such/spec.yaml")
    assert caught.value.diagnostics[0].code == "F001"


def test_empty_file():
    assert only("").code == "Y008"


def test_huge_expression_is_refused():
    d = only(BASE.replace("numerator: age >= 18", "numerator: " + "(" * 80 + "age" + ")" * 80))
    assert d.code == "E101"
    assert "nested deeper" in d.message


def test_a_link_whose_field_cannot_match_the_key_is_refused():
    # clients' key is text; referrals.age is an integer: no age could equal a client_id
    text = BASE.replace(
        "kpis:\n",
        "  clients:\n    key: client_id\n    fields:\n      client_id: text\nkpis:\n",
    ).replace(
        "        values: [stop smoking, weight management]\n",
        "        values: [stop smoking, weight management]\n"
        "    links:\n"
        "      client: {dataset: clients, field: age}\n",
    )
    d = only(text)
    assert d.code == "S102"
    assert (d.line, d.column) == (24, 41)  # at `age` in the link
    assert "`age` is integer but `clients`'s key `client_id` is text" in d.message
    assert d.hint == "declare `age` as text, the type of `clients.client_id`"
    # a date field may link to a datetime key: both are points in time
    dated = text.replace("client_id: text", "client_id: datetime")
    specrules.loads(dated.replace("field: age", "field: seen_on"), "spec.yaml")
