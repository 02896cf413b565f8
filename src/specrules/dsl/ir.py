"""The intermediate representation of expressions: small frozen dataclasses, no pandas.

The parser builds these; the type checker returns a copy with every node's `type` filled
and every name resolved; backends (pandas, reference interpreter) walk the checked tree.
`span` (character offsets into the expression text) and `type` are left out of equality,
so a tree printed and parsed again compares equal to the original.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal as TypingLiteral

from specrules.dsl.types import Type

Span = tuple[int, int]


@dataclass(frozen=True)
class Node:
    span: Span = field(default=(0, 0), compare=False, repr=False, kw_only=True)
    type: Type | None = field(default=None, compare=False, repr=False, kw_only=True)


# ------------------------------------------------------------------ literals
@dataclass(frozen=True)
class Number(Node):
    value: float | int


@dataclass(frozen=True)
class Percent(Node):
    """`60%`: `value` is the number written (60); it means the fraction 0.6."""

    value: float | int

    @property
    def fraction(self) -> float:
        return float(self.value) / 100.0


@dataclass(frozen=True)
class Money(Node):
    """`£5m`: pounds, kept as written for printing; `value` is the amount in pounds."""

    text: str

    @property
    def value(self) -> float:
        body = self.text.lstrip("£")
        scale = {"k": 1_000, "m": 1_000_000}.get(body[-1:], 1)
        return float(body.rstrip("km")) * scale


DurationUnit = TypingLiteral[
    "seconds", "minutes", "hours", "days", "weeks", "months", "years", "working days"
]


@dataclass(frozen=True)
class Duration(Node):
    amount: float | int
    unit: DurationUnit


@dataclass(frozen=True)
class Text(Node):
    value: str


@dataclass(frozen=True)
class Boolean(Node):
    value: bool


@dataclass(frozen=True)
class Date(Node):
    value: dt.date


@dataclass(frozen=True)
class DateTime(Node):
    value: dt.datetime


@dataclass(frozen=True)
class ListOf(Node):
    items: tuple[Node, ...]


# ------------------------------------------------------------------ names
@dataclass(frozen=True)
class Reference(Node):
    """A name as written: `age`, `referral.age`, `referrals.age`.

    The checker resolves it: `dataset` is the dataset whose column holds the value,
    `via_link` the many-to-one link followed to reach it (None for the row's own columns).
    """

    parts: tuple[str, ...]
    dataset: str | None = field(default=None, compare=False)
    column: str | None = field(default=None, compare=False)
    via_link: str | None = field(default=None, compare=False)

    @property
    def text(self) -> str:
        return ".".join(self.parts)


# ------------------------------------------------------------------ operators
Comparator = TypingLiteral["=", "!=", "<", "<=", ">", ">="]
ArithmeticOp = TypingLiteral["+", "-", "*", "/"]


@dataclass(frozen=True)
class Compare(Node):
    op: Comparator
    left: Node
    right: Node


@dataclass(frozen=True)
class Arithmetic(Node):
    op: ArithmeticOp
    left: Node
    right: Node


@dataclass(frozen=True)
class Negate(Node):
    operand: Node


@dataclass(frozen=True)
class And(Node):
    left: Node
    right: Node


@dataclass(frozen=True)
class Or(Node):
    left: Node
    right: Node


@dataclass(frozen=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True)
class IsMissing(Node):
    operand: Node
    negated: bool = False


@dataclass(frozen=True)
class InList(Node):
    operand: Node
    items: ListOf
    negated: bool = False


@dataclass(frozen=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node


@dataclass(frozen=True)
class IfThenElse(Node):
    condition: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True)
class Call(Node):
    """A function call. For aggregates, `distinct` and `where` may be set.

    After checking, `over` names the dataset an aggregate runs over and `correlated_link`
    the link from that dataset back to the row's dataset when it is computed per row.
    """

    name: str
    args: tuple[Node, ...] = ()
    distinct: bool = False
    where: Node | None = None
    over: str | None = field(default=None, compare=False)
    correlated_link: str | None = field(default=None, compare=False)


# ------------------------------------------------------------------ thresholds
ThresholdKind = TypingLiteral["at least", "at most", "more than", "less than", "exactly", "between"]


@dataclass(frozen=True)
class Threshold(Node):
    """`at least 3600 per year`, `between 200 and 250`, `at least 12000 by 2019-04-30`."""

    kind: ThresholdKind
    amount: Node
    upper: Node | None = None  # only for `between`
    per: str | None = None  # year, quarter, month, week
    by: dt.date | None = None  # a cumulative target's deadline


@dataclass(frozen=True)
class Reduction(Node):
    """`reduction of at least 1 percentage point per year from 15.6%`."""

    step: float | int
    relative: bool  # True for "5%" (of last year's figure); False for percentage points
    per: str
    baseline: Node


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of a node, in reading order."""
    if isinstance(node, Compare | Arithmetic | And | Or):
        return (node.left, node.right)
    if isinstance(node, Negate | Not):
        return (node.operand,)
    if isinstance(node, IsMissing):
        return (node.operand,)
    if isinstance(node, InList):
        return (node.operand, node.items)
    if isinstance(node, Between):
        return (node.operand, node.low, node.high)
    if isinstance(node, IfThenElse):
        return (node.condition, node.then, node.otherwise)
    if isinstance(node, Call):
        return node.args + ((node.where,) if node.where is not None else ())
    if isinstance(node, ListOf):
        return node.items
    return ()


def walk(node: Node):
    """Every node of a tree, parents before children."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))
