"""Conditions read aloud: `age >= 16 and consent_given` as "age is at least 16 and consent given".

A row's reason quotes the condition it failed in backticks (`does not meet `x > 5%``). A
report reads better in words, so each quoted condition is parsed with the language's own
parser and printed here; literals and anything without a plain wording (arithmetic,
function calls) are printed by `specrules.dsl.printer`, the printer `explain` uses.
A quote that does not parse is left as it is.
"""

from __future__ import annotations

import re
from functools import lru_cache

from specrules.dsl import ir
from specrules.dsl.parser import ExpressionSyntaxError, parse_expression
from specrules.dsl.printer import to_text

_COMPARE = {
    "=": "is",
    "!=": "is not",
    "<": "is less than",
    "<=": "is at most",
    ">": "is more than",
    ">=": "is at least",
}
_QUOTED = re.compile(r"`([^`]+)`")


def _name(node: ir.Reference) -> str:
    return " ".join(part.replace("_", " ") for part in node.parts)


def in_words(node: ir.Node) -> str:
    """A condition in words; what has no plain wording is printed as the language writes it."""
    if isinstance(node, ir.Reference):
        return _name(node)
    if isinstance(node, ir.And):
        return f"{in_words(node.left)} and {in_words(node.right)}"
    if isinstance(node, ir.Or):
        left, right = in_words(node.left), in_words(node.right)
        # brackets kept where "and" sits inside "or": the words alone would be ambiguous
        if isinstance(node.left, ir.And):
            left = f"({left})"
        if isinstance(node.right, ir.And):
            right = f"({right})"
        return f"{left} or {right}"
    if isinstance(node, ir.Not):
        if isinstance(node.operand, ir.Reference):
            return f"not {_name(node.operand)}"
        return f"not ({in_words(node.operand)})"
    if isinstance(node, ir.Compare):
        return f"{in_words(node.left)} {_COMPARE[node.op]} {in_words(node.right)}"
    if isinstance(node, ir.IsMissing):
        return f"{in_words(node.operand)} {'is recorded' if node.negated else 'is missing'}"
    if isinstance(node, ir.InList):
        items = ", ".join(to_text(i) for i in node.items.items)
        return f"{in_words(node.operand)} {'is not' if node.negated else 'is'} one of {items}"
    if isinstance(node, ir.Between):
        return f"{in_words(node.operand)} is between {in_words(node.low)} and {in_words(node.high)}"
    return to_text(node)


@lru_cache(maxsize=512)
def _quoted_in_words(text: str) -> str:
    try:
        return f"“{in_words(parse_expression(text))}”"
    except (ExpressionSyntaxError, ValueError, TypeError, KeyError):
        return f"`{text}`"


def reason_in_words(reason: str) -> str:
    """A row's reason with each quoted condition in words (distinct reasons are few: cached)."""
    return _QUOTED.sub(lambda m: _quoted_in_words(m.group(1)), reason)
