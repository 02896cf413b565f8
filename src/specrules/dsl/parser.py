"""Text → IR. One lark LALR parser for expressions and thresholds."""

from __future__ import annotations

import datetime as dt
import os
import re
from functools import cache
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from specrules.dsl import ir

MAX_EXPRESSION_LENGTH = 4_000
MAX_NESTING = 60

# What a person would call each token lark may expect, for error messages.
_TOKEN_WORDS = {
    "NAME": "a field name",
    "NUMBER": "a number",
    "STRING": 'quoted text such as "stop smoking"',
    "COMPARATOR": "a comparison (=, !=, <, <=, >, >=)",
    "RPAR": "`)`",
    "LPAR": "`(`",
    "RSQB": "`]`",
    "LSQB": "`[`",
    "COMMA": "`,`",
    "AND": "`and`",
    "OR": "`or`",
    "THEN": "`then`",
    "ELSE": "`else`",
    "DATE": "a date such as 2019-07-01",
    "DURATION_UNIT": "a unit such as days, weeks or working days",
    "PERIOD_WORD": "year, quarter or month",
    "PERCENT": "`%`",
    "MONEY": "an amount such as £5000",
    "$END": "the end of the expression",
}


class ExpressionSyntaxError(Exception):
    """A syntax error at character `offset` of the expression text."""

    def __init__(self, message: str, offset: int, hint: str | None = None, snippet: str = ""):
        self.message = message
        self.offset = offset
        self.hint = hint
        self.snippet = snippet
        super().__init__(message)


def _cache_path() -> str | bool:
    """Where lark keeps its analysed grammar between runs, or False when there is nowhere.

    Building the LALR tables takes a quarter of a second, a third of `specrules validate`.
    lark stores them keyed by a hash of the grammar, the options and its own version, so a
    stale file is rebuilt, never used. The file is the user's own, as their spec files are.
    """
    if os.environ.get("SPECRULES_NO_CACHE"):
        return False
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    folder = Path(root) / "specrules"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return str(folder / "expression-grammar.lark-cache")


@cache
def _parser() -> Lark:
    grammar = resources.files("specrules.dsl").joinpath("grammar.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        start=["expression", "threshold"],
        propagate_positions=True,
        maybe_placeholders=True,
        cache=_cache_path(),
    )


MAX_DIGITS = 16  # a float holds whole numbers exactly to 2**53 (16 digits); int64 to 18


def _number(token: Token) -> float | int:
    text = str(token)
    if len(text.split(".")[0].lstrip("0")) > MAX_DIGITS:
        raise ExpressionSyntaxError(
            f"`{text[:20]}…` is too large a number (more than {MAX_DIGITS} digits)",
            token.start_pos or 0,
            "write a number below 10,000,000,000,000,000",
        )
    return float(text) if "." in text else int(text)


def _span(meta) -> ir.Span:
    if getattr(meta, "empty", True):
        return (0, 0)
    return (meta.start_pos, meta.end_pos)


_ESCAPE = re.compile(r"""\\([\\"'])""")  # \\ \" \' inside quoted text

_COMPARATORS = {"==": "=", "=": "=", "!=": "!=", "<>": "!=", "<": "<", "<=": "<=", ">": ">"}
_COMPARATORS[">="] = ">="


@v_args(meta=True)
class _ToIR(Transformer):
    # ---- literals
    def number(self, meta, items):
        return ir.Number(_number(items[0]), span=_span(meta))

    def percent(self, meta, items):
        return ir.Percent(_number(items[0]), span=_span(meta))

    def money(self, meta, items):
        return ir.Money(str(items[0]), span=_span(meta))

    def duration(self, meta, items):
        amount, unit = items
        word = " ".join(str(unit).split()).lower()
        if not word.endswith("s"):
            word += "s"
        return ir.Duration(_number(amount), word, span=_span(meta))

    def date(self, meta, items):
        text = str(items[0])
        try:
            value = dt.date.fromisoformat(text)
        except ValueError:
            raise ExpressionSyntaxError(
                f"`{text}` is not a real date", meta.start_pos, "write dates as YYYY-MM-DD"
            ) from None
        return ir.Date(value, span=_span(meta))

    def datetime(self, meta, items):
        text = str(items[0]).replace(" ", "T")
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ExpressionSyntaxError(
                f"`{text}` is not a real date and time",
                meta.start_pos,
                "write YYYY-MM-DDTHH:MM",
            ) from None
        return ir.DateTime(value, span=_span(meta))

    def text(self, meta, items):
        # One pass, so a character in the text (even NUL) is never mistaken for an escape.
        value = _ESCAPE.sub(r"\1", str(items[0])[1:-1])
        return ir.Text(value, span=_span(meta))

    def true(self, meta, items):
        return ir.Boolean(True, span=_span(meta))

    def false(self, meta, items):
        return ir.Boolean(False, span=_span(meta))

    def list(self, meta, items):
        return ir.ListOf(tuple(i for i in items if i is not None), span=_span(meta))

    # ---- names and calls
    def reference(self, meta, items):
        return ir.Reference(tuple(str(t) for t in items), span=_span(meta))

    def arguments(self, meta, items):
        return tuple(items)

    def call(self, meta, items):
        name, distinct, args, _where_kw, where, settings = items
        return ir.Call(
            str(name),
            (args or ()) + (settings or ()),
            distinct=distinct is not None,
            where=where,
            span=_span(meta),
        )

    # ---- operators
    def compare(self, meta, items):
        left, op, right = items
        return ir.Compare(_COMPARATORS[str(op)], left, right, span=_span(meta))

    def arithmetic(self, meta, items):
        left, op, right = items
        return ir.Arithmetic(str(op), left, right, span=_span(meta))

    def negate(self, meta, items):
        return ir.Negate(items[0], span=_span(meta))

    def and_(self, meta, items):
        return ir.And(items[0], items[1], span=_span(meta))

    def or_(self, meta, items):
        return ir.Or(items[0], items[1], span=_span(meta))

    def not_(self, meta, items):
        return ir.Not(items[0], span=_span(meta))

    def is_missing(self, meta, items):
        return ir.IsMissing(items[0], span=_span(meta))

    def is_not_missing(self, meta, items):
        return ir.IsMissing(items[0], negated=True, span=_span(meta))

    def in_list(self, meta, items):
        return ir.InList(items[0], items[1], span=_span(meta))

    def not_in_list(self, meta, items):
        return ir.InList(items[0], items[1], negated=True, span=_span(meta))

    def between(self, meta, items):
        return ir.Between(items[0], items[1], items[2], span=_span(meta))

    def if_then_else(self, meta, items):
        return ir.IfThenElse(items[0], items[1], items[2], span=_span(meta))

    # ---- thresholds
    def _bound(self, kind, meta, items):
        return ir.Threshold(kind, items[0], span=_span(meta))

    def at_least(self, meta, items):
        return self._bound("at least", meta, items)

    def at_most(self, meta, items):
        return self._bound("at most", meta, items)

    def more_than(self, meta, items):
        return self._bound("more than", meta, items)

    def less_than(self, meta, items):
        return self._bound("less than", meta, items)

    def exactly(self, meta, items):
        return self._bound("exactly", meta, items)

    def between_bound(self, meta, items):
        return ir.Threshold("between", items[0], upper=items[1], span=_span(meta))

    def rate(self, meta, items):
        word = str(items[0])
        return "year" if word == "annum" else word

    def deadline(self, meta, items):
        return self.date(meta, items).value

    def threshold(self, meta, items):
        bound, per, by = items
        return ir.Threshold(
            bound.kind, bound.amount, upper=bound.upper, per=per, by=by, span=_span(meta)
        )

    def points_step(self, meta, items):
        return (_number(items[0]), False)

    def relative_step(self, meta, items):
        return (_number(items[0]), True)

    def reduction(self, meta, items):
        (step, relative), per, baseline = items
        word = str(per)
        return ir.Reduction(
            step, relative, "year" if word == "annum" else word, baseline, span=_span(meta)
        )


def _check_size(text: str) -> None:
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionSyntaxError(
            f"expression is longer than {MAX_EXPRESSION_LENGTH} characters",
            0,
            "split it into named derived fields",
        )
    depth = 0
    for offset, char in enumerate(text):
        depth += char in "(["
        depth -= char in ")]"
        if depth > MAX_NESTING:
            raise ExpressionSyntaxError(f"brackets nested deeper than {MAX_NESTING} levels", offset)


def _describe_expected(expected: set[str]) -> str:
    words = sorted({_TOKEN_WORDS.get(e, f"`{e.lower()}`") for e in expected if e})
    if len(words) > 6:
        words = words[:6] + ["…"]
    return ", ".join(words)


# `2024-10-27T01:30+01:00` up to the character lark stopped at (the offset's `:`).
_OFFSET_AFTER_DATETIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2})?)\s*(?:[+-][0-9]{2}:?|Z)$"
)


def _syntax_error(text: str, exc: UnexpectedInput) -> ExpressionSyntaxError:
    offset = exc.pos_in_stream if exc.pos_in_stream is not None else len(text)
    if isinstance(exc, UnexpectedCharacters):
        char = text[offset] if offset < len(text) else ""
        hint = None
        if char == ",":
            hint = "write numbers without thousands separators (3600, not 3,600)"
        elif char in "&|!":
            hint = "write `and`, `or`, `not` in words"
        elif char == '"' or char == "'":
            hint = "close the quoted text with the same quote mark"
        elif offset_after := _OFFSET_AFTER_DATETIME.search(text[: offset + 1]):
            written = text[offset_after.start() :].split()[0]
            hint = (
                f"`{written}`: a date and time in an expression is local time without a UTC "
                f"offset; write `{offset_after.group(1)}`"
            )
        return ExpressionSyntaxError(
            f"unexpected character `{char}`", offset, hint, snippet=text[offset : offset + 10]
        )
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        expected = getattr(exc, "expected", None) or getattr(exc, "accepts", set())
        return ExpressionSyntaxError(
            "the expression ends too soon",
            len(text),
            f"expected {_describe_expected(set(expected))}",
        )
    assert isinstance(exc, UnexpectedToken)
    token = exc.token
    expected = set(exc.accepts or exc.expected)
    hint = f"expected {_describe_expected(expected)}"
    if str(token) == "=" and "COMPARATOR" not in expected:
        hint = "a comparison cannot follow another comparison; join them with `and`"
    return ExpressionSyntaxError(
        f"unexpected `{token}`", token.start_pos or 0, hint, snippet=str(token)
    )


def _check_depth(tree: Tree) -> None:
    """Refuse a tree nested deeper than MAX_NESTING (`- - - … 1`, `not not … x`): walking it
    (here and in every later layer) recurses once per level."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            offset = node.meta.start_pos if not getattr(node.meta, "empty", True) else 0
            raise ExpressionSyntaxError(
                f"expression nested deeper than {MAX_NESTING} levels (brackets, `not`, minus "
                f"signs, or a chain of more than {MAX_NESTING} terms joined by operators)",
                offset,
                "split it into named derived fields; for a chain of `or`s comparing one field, "
                'write `field in ["A", "B", …]`',
            )
        stack.extend((child, depth + 1) for child in node.children if isinstance(child, Tree))


def _parse(text: str, start: str) -> ir.Node:
    _check_size(text)
    try:
        tree = _parser().parse(text, start=start)
    except UnexpectedInput as exc:
        raise _syntax_error(text, exc) from None
    _check_depth(tree)
    try:
        return _ToIR().transform(tree)
    except VisitError as exc:  # lark wraps what a callback raises (a date that is not real)
        if isinstance(exc.orig_exc, ExpressionSyntaxError):
            raise exc.orig_exc from None
        raise


def parse_expression(text: str) -> ir.Node:
    """Parse an expression; raise `ExpressionSyntaxError` with the offset of the problem."""
    return _parse(str(text), "expression")


def parse_threshold(text: str) -> ir.Threshold | ir.Reduction:
    """Parse a threshold such as `at least 60%` or `between 200 and 250 per year`."""
    node = _parse(str(text), "threshold")
    assert isinstance(node, ir.Threshold | ir.Reduction)
    return node
