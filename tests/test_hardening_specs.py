"""Issue 20 (spec and command-line side) and issue 14's messages: each mistake a newcomer or
a hostile corpus met is a located message with a hint, never a traceback or a silent pass.

Every case edits the spec `specrules new` writes (valid as it stands) in one place; the
expected line and column are those of the edit, found in the edited text by the test, and
the column of the offending token is counted by hand in the comment beside it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from specrules.authoring.lint import lint_file, lint_text
from specrules.authoring.new import new_spec
from specrules.cli import main
from specrules.spec import yaml_source
from specrules.spec.yaml_source import load_yaml

ROOT = Path(__file__).parents[1]
BASE = new_spec()
WIGAN = ROOT / "specs" / "wigan_lot1.yaml"
WIGAN_DATA = ROOT / "examples" / "wigan_lot1"


def edited(old: str, new: str) -> tuple[str, int]:
    """The base spec with `old` replaced by `new`, and the line (1-based) of the edit."""
    assert BASE.count(old) >= 1, old
    index = BASE.index(old)
    return BASE.replace(old, new, 1), BASE.count("\n", 0, index) + 1


def only_error(text: str) -> object:
    found = lint_text(text, "t.yaml")
    errors = [d for d in found if d.severity == "error"]
    assert len(errors) == 1, found
    return errors[0]


# ------------------------------------------------------------------ tracebacks → messages
@pytest.mark.parametrize(
    ("literal", "column", "words"),
    [
        # `    accept: received_on < 2023-02-30`: the date starts at column 13 + 14 = 27
        ("received_on < 2023-02-30", 27, "`2023-02-30` is not a real date"),
        ("received_on < 2024-01-15T25:61", 27, "`2024-01-15T25:61` is not a real date and time"),
    ],
)
def test_a_date_literal_that_is_not_a_real_date(literal: str, column: int, words: str) -> None:
    text, line = edited("accept: age >= 18", f"accept: {literal}")
    error = only_error(text)
    assert (error.code, error.line, error.column) == ("E101", line, column)
    assert words in error.message and "YYYY-MM-DD" in error.hint


def test_a_deadline_that_is_not_a_real_date() -> None:
    text, line = edited("threshold: at least 80%", "threshold: at least 80% by 2025-02-30")
    error = only_error(text)
    assert (error.code, error.line) == ("E102", line)
    assert "`2025-02-30` is not a real date" in error.message


@pytest.mark.parametrize(
    "expression",
    ["age >= " + "-" * 1000 + "18", "not " * 500 + "age >= 18", "age >= " + "(" * 59 + "1"],
)
def test_deep_nesting_in_an_expression_is_refused(expression: str) -> None:
    text, line = edited("accept: age >= 18", f"accept: {expression}")
    error = only_error(text)
    assert (error.code, error.line) == ("E101", line)
    assert "nested deeper than 60 levels" in error.message or "ends too soon" in error.message


@pytest.mark.parametrize(
    "value", ["[" * 100_000, "[" * 100_000 + "]" * 100_000, "{a: " * 20_000, "- " * 50_000]
)
def test_deep_nesting_in_yaml_is_refused_without_recursion(value: str) -> None:
    found = lint_text("specrules: 1\nnote:\n" + value + "\n", "t.yaml")
    assert [d.code for d in found] in (["Y004"], ["Y001"])
    assert found[0].line >= 2


def test_a_misspelt_enumeration_type_is_one_message_at_the_word() -> None:
    # Found as a KeyError: the field was set aside and a group threshold looked it up.
    text = (ROOT / "specs" / "kent_ed.yaml").read_text(encoding="utf-8")
    text = text.replace("type: enumeration", "type: enumerattion")
    found = lint_text(text, "t.yaml")
    assert found and all(d.code == "S003" for d in found)
    assert all(d.hint == "did you mean `enumeration`?" for d in found)


# ------------------------------------------------------------------ accepted, now refused
@pytest.mark.parametrize(
    ("old", "new", "code", "words"),
    [
        ("limit: 2 weeks", "limit: 2 mnths", "E101", "did you mean `months` (a unit)?"),
        ("amount: 100000", "amount: 1e400", "S003", "not a finite number"),
        (
            'section: "3.2 Care pathway"',
            'section: "3.2 Care pathway"\n      line: -3',
            "S003",
            "`-3` is below 1",
        ),
        ("[GP, self, other]", "[GP, GP, self]", "S003", "repeated: `GP`"),
        ("accept: age >= 18", "accept: age / 0 >= 18", "E210", "the divisor `0` is always 0"),
        ("accept: age >= 18", "accept: 1 / 0 >= 18", "E210", "the divisor `0` is always 0"),
        ("accept: age >= 18", "accept: age / (age - age) >= 18", "E210", "`age - age`"),
        ("accept: age >= 18", "accept: age / (2 * 3 - 6) >= 1", "E210", "`2 * 3 - 6`"),
        ("threshold: at least 80%", "threshold: at least 80%\n    amber: 250%", "E320", "250%"),
        ('title: "New service specification"', 'title: !!str "New"', "Y003", "!!str"),
        ("accept: age >= 18", "accept: age >= 12345678901234567", "E101", "too large"),
        # pandas keeps dates to the year 2262: 9999 years cannot be added to any date
        ("accept: age >= 18", "accept: received_on + 9999 years > 2024-01-01", "E211", "200"),
    ],
)
def test_what_validate_used_to_accept(old: str, new: str, code: str, words: str) -> None:
    text, line = edited(old, new)
    error = only_error(text)
    assert error.code == code
    assert line <= error.line <= line + 1  # the key added on the next line, or the edit
    assert words in error.message + (error.hint or "")


def test_a_division_that_can_be_zero_is_allowed() -> None:
    # `age / (age - 18)` is 0 only for 18-year-olds: evaluated, that row's value is missing.
    text, _ = edited("accept: age >= 18", "accept: age / (age - 18) >= 1")
    assert lint_text(text, "t.yaml") == []


# ------------------------------------------------------------------ YAML 1.2
def test_yes_no_on_off_are_text_as_editors_read_them() -> None:
    text, _ = edited("values: [GP, self, other]", "values: [yes, no, unknown]")
    assert lint_text(text, "t.yaml") == []
    values, _ = load_yaml("a: [yes, no, on, off, y, n, true, False, TRUE, ~, null]\n")
    assert values == {"a": ["yes", "no", "on", "off", "y", "n", True, False, True, None, None]}


def test_numbers_are_read_the_yaml_1_2_way() -> None:
    # 1.1 read 010 as 8, 1:30 as 90 and 1_000 as 1000; 1.2 reads 10, text, text.
    values, _ = load_yaml("a: [010, 1:30, 1_000, 0o17, 0x1f, 1e3, -2.5, .5, +3]\n")
    assert values == {"a": [10, "1:30", "1_000", 15, 31, 1000.0, -2.5, 0.5, 3]}


def test_both_yaml_readers_agree_on_yaml_1_2_values_and_positions() -> None:
    text = "a: [yes, 010, 1:30, 2024-02-29, 'x', \"é\"]\nb:\n  on: off\n  é: 1e3\n"
    fast = yaml_source._load(yaml.CSafeLoader, text, "t.yaml")
    slow = yaml_source._load(yaml.SafeLoader, text, "t.yaml")
    assert fast[0] == slow[0]
    assert fast[1].values == slow[1].values and fast[1].keys == slow[1].keys
    # `  é: 1e3`: the value starts at column 6 on line 4 on both readers
    assert slow[1].values[("b", "é")].line == 4 and slow[1].values[("b", "é")].column == 6


@pytest.mark.parametrize(
    ("text", "code", "line", "column"),
    [
        ("a: &x 1\nb: *x\n", "Y009", 1, 4),  # the anchor itself is refused
        ("a: !!int 1\n", "Y003", 1, 4),
        ("a: ! x\n", "Y003", 1, 4),
        ("a: 1\n---\nb: 2\n", "Y012", 2, 1),
        ("a: 1\na: 2\n", "Y002", 2, 1),
        ("? [a]\n: 1\n", "Y005", 1, 3),
        ("a: 2023-02-30\n", "Y010", 1, 4),
        ("a: 1\x00\n", "Y011", 1, 5),
    ],
)
def test_yaml_tricks_are_refused_where_they_are(
    text: str, code: str, line: int, column: int
) -> None:
    found = lint_text(text, "t.yaml")
    assert [(d.code, d.line, d.column) for d in found][:1] == [(code, line, column)], found


# ------------------------------------------------------------------ files that are not files
def test_a_device_is_refused_before_reading(tmp_path: Path) -> None:
    # /dev/zero reports size 0 and never ends: reading it used to hang and eat memory.
    for command in (["validate"], ["evaluate", "--data", str(WIGAN_DATA)], ["explain"]):
        done = subprocess.run(
            [sys.executable, "-m", "specrules.cli", *command, "/dev/zero"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2, done
        assert "/dev/zero: error: F001 is not a regular file" in done.stdout + done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["validate"],
        ["evaluate", "--data", "examples/wigan_lot1"],
        ["explain"],
        ["test"],
        ["sql"],
        ["synth", "--out", "x"],
    ],
)
def test_a_missing_spec_file_is_exit_2_on_every_command(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.yaml"
    assert main([*command, str(missing)]) == 2
    out = capsys.readouterr()
    assert f"{missing}: error: F001 no such file" in out.out + out.err
    assert ":0:0" not in out.out + out.err


def test_a_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    pipe = tmp_path / "spec.yaml"
    os.mkfifo(pipe)
    (error,) = lint_file(pipe)  # opening it would block until something wrote to it
    assert (error.code, error.message) == (
        "F001",
        "is not a regular file (a device, a pipe or a socket)",
    )


def test_a_folder_as_spec_is_exit_2(tmp_path: Path) -> None:
    assert [d.code for d in lint_file(tmp_path)] == ["F001"]
    assert main(["validate", str(tmp_path)]) == 2


def test_a_spec_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("specrules: 1\ntitle: Caf\xe9\n".encode("latin-1"))
    (error,) = lint_file(path)
    # line 2 `title: Caf\xe9`: the byte 0xE9 is the 11th character
    assert (error.code, error.line, error.column) == ("F002", 2, 11)
    assert main(["validate", str(path)]) == 1


# ------------------------------------------------------------------ the command line
def test_data_before_the_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--data", str(WIGAN_DATA), str(WIGAN), "--period", "2019/20"]) == 0
    assert "Wigan Lot 1" in capsys.readouterr().out


def test_several_data_files_repeat_the_option(tmp_path: Path) -> None:
    files = sorted(str(p) for p in WIGAN_DATA.glob("*.csv"))
    args = [x for f in files for x in ("--data", f)]
    assert main(["evaluate", *args, str(WIGAN), "--format", "json", "--output", "-"]) == 0


def test_two_paths_after_one_data_option_say_to_repeat_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = sorted(str(p) for p in WIGAN_DATA.glob("*.csv"))[:2]
    with pytest.raises(SystemExit) as caught:
        main(["evaluate", str(WIGAN), "--data", *files])
    assert caught.value.code == 2
    assert "repeat it (--data a.csv --data b.csv)" in capsys.readouterr().err


def test_a_bare_year_is_refused_when_years_do_not_start_in_january(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Wigan Lot 1's years run from 1 July: `2019` could be 2019/20 or 2018/19.
    assert main(["evaluate", str(WIGAN), "--data", str(WIGAN_DATA), "--period", "2019"]) == 2
    err = capsys.readouterr().err
    assert "`2019` is ambiguous" in err
    assert "2019/20 (2019-07-01 to 2020-06-30)" in err and "2018/19" in err


def test_a_bare_year_is_the_year_when_years_start_in_january(tmp_path: Path) -> None:
    spec = tmp_path / "calendar.yaml"
    text = BASE.replace("periods: financial_year", "periods: contract_year")
    spec.write_text(text.replace("start: 2024-04-01", "start: 2024-01-01"), encoding="utf-8")
    from specrules.api import load
    from specrules.periods import parse_period

    period = parse_period("2024", load(spec).model.contract)
    assert (str(period.start), str(period.end)) == ("2024-01-01", "2024-12-31")


def test_a_year_written_with_a_dash_suggests_the_slash(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(WIGAN), "--data", str(WIGAN_DATA), "--period", "2019-20"]) == 2
    assert "there is no month 20; write 2019/20" in capsys.readouterr().err


def test_evaluate_output_says_where_it_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "verdicts.txt"
    assert main(["evaluate", str(WIGAN), "--data", str(WIGAN_DATA), "--output", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8").strip()


def test_new_writes_the_schema_its_first_line_names(tmp_path: Path) -> None:
    spec = tmp_path / "lot3.yaml"
    assert main(["new", "--output", str(spec)]) == 0
    first = spec.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=spec.schema.json"
    schema = tmp_path / "spec.schema.json"
    assert schema.is_file() and '"$schema"' in schema.read_text(encoding="utf-8")
    # A second spec in the same folder keeps the schema that is there.
    schema.write_text("{}", encoding="utf-8")
    assert main(["new", "--output", str(tmp_path / "lot4.yaml")]) == 0
    assert schema.read_text(encoding="utf-8") == "{}"


def test_new_with_a_schema_path_given_checks_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "lot3.yaml"
    assert main(["new", "--output", str(spec), "--schema", "../schemas/spec.json"]) == 0
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "spec.schema.json").exists()


# ------------------------------------------------------------------ issue 14's messages
@pytest.mark.parametrize(
    ("expression", "hint"),
    [
        ("source == GPX", 'text is written in quotes: write "GPX"'),
        ("GPX = source", 'text is written in quotes: write "GPX"'),
        ("first_appointment_on != null", "write `first_appointment_on is not missing`"),
        ("first_appointment_on = NULL", "write `first_appointment_on is missing`"),
        ("isnull(first_appointment_on)", "write `first_appointment_on is missing`"),
        ("notnull(first_appointment_on)", "write `first_appointment_on is not missing`"),
    ],
)
def test_hints_for_what_a_newcomer_writes(expression: str, hint: str) -> None:
    text, line = edited("accept: age >= 18", f"accept: {expression}")
    error = only_error(text)
    assert error.line == line and hint in error.hint


def test_a_broken_derived_field_is_reported_once() -> None:
    # The derived field's misspelt function is the one mistake; its five uses (four derived
    # fields and a rule) are not five more "unknown field" errors.
    old = "days_to_first_appointment: days_between(received_on, first_appointment_on)"
    uses = "".join(f"\n      late_{n}: days_to_first_appointment > {n}" for n in range(4))
    text, line = edited(old, old.replace("days_between", "days_betwen") + uses)
    text = text.replace("accept: age >= 18", "accept: days_to_first_appointment < 99")
    found = lint_text(text, "t.yaml")
    assert [(d.code, d.line) for d in found] == [("E204", line)], found


def test_target_on_a_kpi_suggests_threshold() -> None:
    text, line = edited("threshold: at least 80%", "target: at least 80%")
    error = only_error(text)
    assert (error.code, error.line) == ("S001", line)
    assert error.hint.startswith("did you mean `threshold`?")


@pytest.mark.parametrize(
    ("written", "suggested"),
    [
        ("at least 0.5", "at least 50%"),
        ("at least 80", "at least 80%"),
        ("at least 1", "at least 1%"),
    ],
)
def test_a_proportion_threshold_without_percent(written: str, suggested: str) -> None:
    text, _ = edited("threshold: at least 80%", f"threshold: {written}")
    error = only_error(text)
    assert error.code == "E301" and f"write `{suggested}" in error.hint


def test_a_datetime_with_an_offset_gets_a_hint() -> None:
    text, line = edited("accept: age >= 18", "accept: received_on < 2024-10-27T01:30+01:00")
    found = lint_text(text, "t.yaml")
    assert len(found) == 1 and found[0].line == line
    assert "2024-10-27T01:30" in (found[0].hint or "")


@pytest.mark.parametrize(
    "text", ["\ufeff" + BASE, BASE.replace("\n", "\r\n"), "\ufeff" + BASE.replace("\n", "\r\n")]
)
def test_a_leading_bom_and_windows_line_ends_are_fine(text: str) -> None:
    # Saved by Notepad or Excel: the spec is the same spec, read alike by both readers.
    assert lint_text(text, "t.yaml") == []
    fast = yaml_source._load(yaml.CSafeLoader, text, "t.yaml")
    slow = yaml_source._load(yaml.SafeLoader, text, "t.yaml")
    assert fast[0] == slow[0] and fast[1].values == slow[1].values
