"""Type checking and name resolution, before any data is read.

`check` returns a copy of the tree in which every node carries its `type`, every name says
which dataset column it reads (and through which link), and every aggregate says which
dataset it runs over. Errors point at the offending span of the expression text.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from specrules.dsl import ir
from specrules.dsl.functions import FUNCTIONS, SignatureError
from specrules.dsl.percentiles import CENTILE_HINT, centile_out_of_range
from specrules.dsl.printer import to_text
from specrules.dsl.types import (
    BOOLEAN,
    DATE,
    DATETIME,
    DURATION_KIND_OF_UNIT,
    NUMBER,
    TEXT,
    Type,
    comparable,
    duration,
    unify,
)
from specrules.errors import did_you_mean


class TypeCheckError(Exception):
    def __init__(
        self,
        message: str,
        span: ir.Span,
        hint: str | None = None,
        code: str = "E201",
        field: tuple[str, str] | None = None,
    ):
        self.message = message
        self.span = span
        self.hint = hint
        self.code = code
        self.field = field  # (dataset, name) of an unknown field, so callers can tell which
        super().__init__(message)


# Words people write for "no value", and functions they reach for to test it.
_NULL_WORDS = {"null", "none", "nil", "na", "nan", "empty", "missing", "blank"}
_NULL_TESTS = {"isnull", "is_null", "isna", "isnan", "isnone", "is_none", "isempty", "is_empty"}
_NULL_TESTS |= {"ismissing", "is_missing", "isblank", "is_blank"}
_NOT_NULL_TESTS = {"notnull", "not_null", "isnotnull", "is_not_null", "notna", "nonnull"}
_NOT_NULL_TESTS |= {"is_not_missing", "isnotmissing", "exists", "has_value", "hasvalue"}


@dataclass(frozen=True)
class Link:
    """A many-to-one link: `column` of this dataset holds a key of `dataset`."""

    dataset: str
    column: str


@dataclass
class DatasetSchema:
    name: str
    fields: dict[str, Type]
    key: tuple[str, ...] = ()
    links: dict[str, Link] = field(default_factory=dict)


@dataclass
class Catalog:
    """Everything names can refer to: the declared datasets with their fields and links."""

    datasets: dict[str, DatasetSchema]

    def link_between(self, child: str, parent: str) -> str | None:
        """The name of the link from `child` to `parent`, if exactly one exists."""
        names = [n for n, link in self.datasets[child].links.items() if link.dataset == parent]
        return names[0] if len(names) == 1 else None


def _typed(node: ir.Node, t: Type, **changes) -> ir.Node:
    return replace(node, type=t, **changes)


@dataclass
class RuleNames:
    """Names a rule's expressions may use beside its dataset's fields, on that dataset's rows:
    `known` ones with their type (a snapshot's `period_end`), and `refused` ones with why they
    are not known here and what to write instead (`period_end` outside a snapshot)."""

    scope: str
    known: dict[str, Type] = field(default_factory=dict)
    refused: dict[str, tuple[str, str]] = field(default_factory=dict)


class _Checker:
    def __init__(self, catalog: Catalog, names: RuleNames | None = None):
        self.catalog = catalog
        self.names = names

    # ------------------------------------------------------------------ names
    def reference(self, node: ir.Reference, scope: str | None) -> ir.Node:
        parts = node.parts
        datasets = self.catalog.datasets
        if scope is None:
            raise TypeCheckError(
                f"`{node.text}` is a row value, but this expression is computed over whole "
                "datasets",
                node.span,
                f"wrap it in an aggregate, for instance sum({node.text}) or count(...)",
            )
        own = datasets[scope]
        if len(parts) == 2 and parts[0] == scope:
            parts = parts[1:]
        if len(parts) == 1:
            name = parts[0]
            if name in own.fields:
                return _typed(node, own.fields[name], dataset=scope, column=name)
            names = self.names
            if names is not None and names.scope == scope and name in names.known:
                return _typed(node, names.known[name], dataset=scope, column=name)
            if names is not None and name in names.refused:
                message, hint = names.refused[name]
                raise TypeCheckError(message, node.span, hint, code="E202")
            if name in datasets:
                raise TypeCheckError(
                    f"`{name}` is a dataset, not a field of `{scope}`",
                    node.span,
                    f"count its rows with count({name})",
                )
            choices = list(own.fields) + list(own.links)
            raise TypeCheckError(
                f"unknown field `{name}` in dataset `{scope}`",
                node.span,
                did_you_mean(name, choices)
                or f"declare it under datasets.{scope}.fields, or as a derived field",
                code="E202",
                field=(scope, name),
            )
        if len(parts) == 2:
            first, name = parts
            if first in own.links:
                target = datasets[own.links[first].dataset]
                if name not in target.fields:
                    raise TypeCheckError(
                        f"unknown field `{name}` in dataset `{target.name}` (reached through "
                        f"link `{first}`)",
                        node.span,
                        did_you_mean(name, target.fields),
                        code="E202",
                        field=(target.name, name),
                    )
                return _typed(
                    node, target.fields[name], dataset=target.name, column=name, via_link=first
                )
            if first in datasets:
                raise TypeCheckError(
                    f"`{node.text}` belongs to dataset `{first}`, which is not linked to "
                    f"`{scope}` here",
                    node.span,
                    f"use it inside an aggregate over {first}, for instance "
                    f"min({node.text}), or declare a link from `{scope}` to `{first}`",
                    code="E203",
                )
            raise TypeCheckError(
                f"unknown dataset or link `{first}`",
                node.span,
                did_you_mean(first, list(own.links) + list(datasets)),
                code="E203",
            )
        raise TypeCheckError(
            f"`{node.text}` has too many parts",
            node.span,
            "write `field`, `link.field` or `dataset.field`",
            code="E203",
        )

    # ------------------------------------------------------------------ calls
    def aggregate_dataset(self, node: ir.Call, scope: str | None) -> str:
        datasets = self.catalog.datasets
        links = datasets[scope].links if scope else {}
        named: list[tuple[str, ir.Reference]] = []
        for part in node.args + ((node.where,) if node.where else ()):
            for sub in ir.walk(part):
                if (
                    isinstance(sub, ir.Reference)
                    and sub.parts[0] in datasets
                    and sub.parts[0] != scope
                    and sub.parts[0] not in links
                ):
                    named.append((sub.parts[0], sub))
        found = {name for name, _ in named}
        if len(found) > 1:
            second = [ref for name, ref in named if name != named[0][0]][0]
            raise TypeCheckError(
                f"one aggregate can run over one dataset; this one names {sorted(found)}",
                second.span,
                "split it into two aggregates",
            )
        if found:
            return found.pop()
        if scope is None:
            raise TypeCheckError(
                f"say which dataset `{node.name}` runs over",
                node.span,
                f"for instance {node.name}(referrals) or {node.name}(referrals.cost)"
                if node.name == "count"
                else f"for instance {node.name}(referrals.cost)",
            )
        return scope

    def call(self, node: ir.Call, scope: str | None) -> ir.Node:
        function = FUNCTIONS.get(node.name)
        if function is None:
            raise TypeCheckError(
                f"unknown function `{node.name}`",
                node.span,
                _missing_test_hint(node)
                or did_you_mean(node.name, FUNCTIONS)
                or "see the function reference in docs/",
                code="E204",
            )
        if function.kind == "row" and (node.distinct or node.where is not None):
            raise TypeCheckError(
                f"`{node.name}` works on one row; `distinct` and `where` belong to aggregates",
                node.span,
            )
        if node.distinct and node.name != "count":
            raise TypeCheckError("`distinct` goes only with count", node.span)
        args = node.args
        if function.kind == "aggregate":
            # count(referrals): a bare dataset name counts that dataset's rows.
            if (
                node.name == "count"
                and len(args) == 1
                and isinstance(args[0], ir.Reference)
                and len(args[0].parts) == 1
                and args[0].parts[0] in self.catalog.datasets
                and not node.distinct
            ):
                over = args[0].parts[0]
                args = ()
            else:
                over = self.aggregate_dataset(node, scope)
            if node.name == "count" and node.distinct and not args:
                raise TypeCheckError(
                    "count(distinct …) needs the value to count, for instance "
                    "count(distinct client_id)",
                    node.span,
                )
            correlated = None
            if scope is not None and over != scope:
                correlated = self.catalog.link_between(over, scope)
                if correlated is None:
                    raise TypeCheckError(
                        f"dataset `{over}` has no single link to `{scope}`, so `{node.name}` "
                        f"over it cannot be computed for each `{scope}` row",
                        node.span,
                        f"declare under datasets.{over}.links a link to {scope}",
                    )
            inner = over
        else:
            inner = scope
        self.arity(node, function.min_args, function.max_args, len(args))
        checked = tuple(self.visit(a, inner) for a in args)
        where = None
        if node.where is not None:
            where = self.expect(self.visit(node.where, inner), "boolean", "a `where` filter")
        try:
            result = function.result([a.type for a in checked])
        except SignatureError as exc:
            span = checked[exc.argument].span if exc.argument is not None else node.span
            raise TypeCheckError(f"{node.name}: {exc}", span, exc.hint) from None
        if node.name == "percentile":
            self.centile(checked[1])
        if node.name == "round" and len(checked) == 2:
            self.places(checked[1])
        if function.kind == "aggregate":
            return _typed(
                node, result, args=checked, where=where, over=inner, correlated_link=correlated
            )
        return _typed(node, result, args=checked)

    @staticmethod
    def centile(node: ir.Node) -> None:
        """percentile(x, 90): the centile is a number written out, from 0 to 100."""
        if not isinstance(node, ir.Number):
            raise TypeCheckError(
                "the centile of `percentile` must be a number written out, from 0 to 100",
                node.span,
                "for instance percentile(response_minutes, 90) (90, not 90% or a field)",
            )
        problem = centile_out_of_range(node.value)
        if problem:
            raise TypeCheckError(problem, node.span, CENTILE_HINT)

    @staticmethod
    def places(node: ir.Node) -> None:
        """round(x, 2): places written out are a whole number from -15 to 15 (a number holds
        about 15 significant digits; beyond them the engines round differently)."""
        value = node.value if isinstance(node, ir.Number) else None
        if isinstance(node, ir.Negate) and isinstance(node.operand, ir.Number):
            value = -node.operand.value
        if value is not None and (value != int(value) or not -15 <= value <= 15):
            raise TypeCheckError(
                f"`round` takes a whole number of decimal places from -15 to 15, not {value:g}",
                node.span,
                "for instance round(share, 2) for hundredths, round(cost, -3) for thousands",
            )

    @staticmethod
    def arity(node: ir.Call, low: int, high: int | None, got: int) -> None:
        if got < low or (high is not None and got > high):
            wanted = str(low) if low == high else f"{low} to {high}" if high else f"{low} or more"
            raise TypeCheckError(
                f"`{node.name}` takes {wanted} argument(s), not {got}",
                node.span,
                f"see the example: {FUNCTIONS[node.name].example}",
            )

    # ------------------------------------------------------------------ helpers
    def expect(self, node: ir.Node, kind: str, what: str) -> ir.Node:
        assert node.type is not None
        if node.type.kind != kind:
            raise TypeCheckError(
                f"{what} must be {kind}, but this is {node.type}",
                node.span,
                "compare it with something to make a condition, e.g. `x > 0`"
                if kind == "boolean"
                else None,
            )
        return node

    def compare_types(self, left: ir.Node, right: ir.Node, span: ir.Span) -> None:
        lt, rt = left.type, right.type
        assert lt is not None and rt is not None
        if not comparable(lt, rt):
            hint = None
            if {lt.kind, rt.kind} == {"number", "text"}:
                quoted = right if rt.kind == "text" else left
                hint = (
                    "a number is written without quotes"
                    if isinstance(quoted, ir.Text)
                    else "compare numbers with numbers and text with text"
                )
            elif "duration" in (lt.kind, rt.kind) and "number" in (lt.kind, rt.kind):
                hint = "give the number a unit (14 days) or compare with days_between(...)"
            elif lt.kind == "duration" and rt.kind == "duration":
                hint = "working days, calendar months and fixed lengths of time do not mix"
            bad = right if not isinstance(right, ir.Reference) else left
            raise TypeCheckError(
                f"cannot compare {lt} with {rt}", bad.span if bad.span != (0, 0) else span, hint
            )
        for value_side, other in ((left, right), (right, left)):
            self.check_enum_value(value_side.type, other)

    @staticmethod
    def check_enum_value(t: Type | None, literal: ir.Node) -> None:
        if t is None or t.values is None:
            return
        texts = [literal] if isinstance(literal, ir.Text) else []
        if isinstance(literal, ir.ListOf):
            texts = [i for i in literal.items if isinstance(i, ir.Text)]
        for text in texts:
            if text.value not in t.values:
                raise TypeCheckError(
                    f'"{text.value}" is not one of the values of this field',
                    text.span,
                    did_you_mean(text.value, t.values)
                    or "allowed: " + ", ".join(f'"{v}"' for v in t.values),
                    code="E205",
                )

    # ------------------------------------------------------------------ dispatch
    def visit(self, node: ir.Node, scope: str | None) -> ir.Node:
        literal = self.literal_type(node)
        if literal is not None:
            return literal
        if isinstance(node, ir.Reference):
            return self.reference(node, scope)
        if isinstance(node, ir.Call):
            return self.call(node, scope)
        if isinstance(node, ir.And | ir.Or):
            left = self.expect(self.visit(node.left, scope), "boolean", "each side of and/or")
            right = self.expect(self.visit(node.right, scope), "boolean", "each side of and/or")
            return _typed(node, BOOLEAN, left=left, right=right)
        if isinstance(node, ir.Not):
            operand = self.expect(self.visit(node.operand, scope), "boolean", "what follows not")
            return _typed(node, BOOLEAN, operand=operand)
        if isinstance(node, ir.Compare):
            left, right = self.compare_sides(node, scope)
            self.compare_types(left, right, node.span)
            if node.op not in ("=", "!=") and left.type.kind in ("boolean", "list"):
                raise TypeCheckError(f"`{node.op}` cannot order {left.type} values", node.span)
            return _typed(node, BOOLEAN, left=left, right=right)
        if isinstance(node, ir.IsMissing):
            return _typed(node, BOOLEAN, operand=self.visit(node.operand, scope))
        if isinstance(node, ir.InList):
            operand = self.visit(node.operand, scope)
            items = self.visit(node.items, scope)
            assert items.type is not None and items.type.element is not None
            if not comparable(operand.type, items.type.element) and node.items.items:
                raise TypeCheckError(
                    f"cannot look for {operand.type} in a list of {items.type.element}",
                    node.items.span,
                )
            self.check_enum_value(operand.type, node.items)
            return _typed(node, BOOLEAN, operand=operand, items=items)
        if isinstance(node, ir.Between):
            operand = self.visit(node.operand, scope)
            low, high = self.visit(node.low, scope), self.visit(node.high, scope)
            self.compare_types(operand, low, node.span)
            self.compare_types(operand, high, node.span)
            return _typed(node, BOOLEAN, operand=operand, low=low, high=high)
        if isinstance(node, ir.IfThenElse):
            condition = self.expect(
                self.visit(node.condition, scope), "boolean", "the if-condition"
            )
            then, otherwise = self.visit(node.then, scope), self.visit(node.otherwise, scope)
            result = unify(then.type, otherwise.type)
            if result is None:
                raise TypeCheckError(
                    f"the two branches differ: {then.type} after then, {otherwise.type} after else",
                    otherwise.span,
                    "give both branches the same kind of value",
                )
            return _typed(node, result, condition=condition, then=then, otherwise=otherwise)
        if isinstance(node, ir.Negate):
            operand = self.visit(node.operand, scope)
            if operand.type.kind not in ("number", "duration"):
                raise TypeCheckError(f"cannot negate {operand.type}", node.span)
            return _typed(node, operand.type, operand=operand)
        if isinstance(node, ir.Arithmetic):
            return self.arithmetic(node, scope)
        raise TypeCheckError(f"unexpected {type(node).__name__}", node.span)

    def compare_sides(self, node: ir.Compare, scope: str | None) -> tuple[ir.Node, ir.Node]:
        """Both sides of a comparison; an unknown bare name beside text is most likely text
        left unquoted (`gp_icb = QVV`), and `x != null` a test for a missing value."""
        sides: list[ir.Node | None] = [None, None]
        for index, side in enumerate((node.left, node.right)):
            try:
                sides[index] = self.visit(side, scope)
            except TypeCheckError as exc:
                if exc.code != "E202" or not isinstance(side, ir.Reference):
                    raise
                other = node.right if index == 0 else node.left
                name = side.text
                if name.lower() in _NULL_WORDS and node.op in ("=", "!="):
                    test = "is missing" if node.op == "=" else "is not missing"
                    exc.hint = f"to test for no value write `{to_text(other)} {test}`"
                    raise
                try:
                    other_type = self.visit(other, scope).type
                except TypeCheckError:
                    raise exc from None
                if other_type is not None and other_type.kind == "text":
                    quoted = f'"{name}"'
                    exc.hint = (
                        f"{exc.hint} (text is written in quotes: {quoted})"
                        if exc.hint and exc.hint.startswith("did you mean")
                        else f"text is written in quotes: write {quoted}"
                    )
                raise
        left, right = sides
        assert left is not None and right is not None
        return left, right

    def literal_type(self, node: ir.Node) -> ir.Node | None:
        if isinstance(node, ir.Number | ir.Percent | ir.Money):
            return _typed(node, NUMBER)
        if isinstance(node, ir.Duration):
            return _typed(node, duration(DURATION_KIND_OF_UNIT[node.unit]))
        if isinstance(node, ir.Text):
            return _typed(node, TEXT)
        if isinstance(node, ir.Boolean):
            return _typed(node, BOOLEAN)
        if isinstance(node, ir.Date):
            return _typed(node, DATE)
        if isinstance(node, ir.DateTime):
            return _typed(node, DATETIME)
        if isinstance(node, ir.ListOf):
            items = tuple(self.visit(i, None) for i in node.items)
            element: Type | None = items[0].type if items else TEXT
            for item in items[1:]:
                element = unify(element, item.type) if element else None
                if element is None:
                    raise TypeCheckError("a list must hold values of one kind", item.span)
            return _typed(node, Type("list", element=element), items=items)
        return None

    def arithmetic(self, node: ir.Arithmetic, scope: str | None) -> ir.Node:
        left, right = self.visit(node.left, scope), self.visit(node.right, scope)
        lt, rt, op = left.type, right.type, node.op
        result: Type | None = None
        if lt.kind == rt.kind == "number":
            result = NUMBER
        elif lt.is_temporal and rt.kind == "duration" and op in "+-":
            result = lt
        elif lt.kind == "duration" and rt.is_temporal and op == "+":
            result = rt
        elif lt.is_temporal and rt.is_temporal and op == "-":
            result = duration("time")
        elif lt.kind == rt.kind == "duration" and lt.duration_kind == rt.duration_kind:
            result = lt if op in "+-" else NUMBER if op == "/" else None
        elif lt.kind == "duration" and rt.kind == "number" and op in "*/":
            result = lt
        elif lt.kind == "number" and rt.kind == "duration" and op == "*":
            result = rt
        if result is None:
            hint = None
            if {lt.kind, rt.kind} == {"date", "number"}:
                hint = "add a duration with a unit, for instance received_on + 14 days"
            raise TypeCheckError(f"cannot {op} {lt} and {rt}", node.span, hint)
        return _typed(node, result, left=left, right=right)


def _missing_test_hint(node: ir.Call) -> str | None:
    """`isnull(x)` and its cousins: the language says `x is missing`."""
    name = node.name.lower()
    if name not in _NULL_TESTS | _NOT_NULL_TESTS:
        return None
    value = to_text(node.args[0]) if len(node.args) == 1 else "x"
    test = "is missing" if name in _NULL_TESTS else "is not missing"
    return f"write `{value} {test}`: the language tests for a missing value with `is missing`"


# The longest length of time a spec may write: dates are kept to the nanosecond (pandas),
# which reaches the year 2262, so a literal of centuries cannot be added to any date.
MAX_DURATION_DAYS = 200 * 366
_DAYS_IN = {"seconds": 1 / 86400, "minutes": 1 / 1440, "hours": 1 / 24, "weeks": 7}
_DAYS_IN |= {"months": 31, "years": 366, "working days": 1.5}


def constant_mistake(node: ir.Node, text: str) -> tuple[ir.Node, str, str, str] | None:
    """A mistake in `node` whatever the data: (where, code, message, hint), or None.

    A divisor that is always 0, and a length of time beyond MAX_DURATION_DAYS."""
    divisor = zero_divisor(node)
    if divisor is not None:
        written = text[divisor.span[0] : divisor.span[1]]
        return (
            divisor,
            "E210",
            f"division by zero: the divisor `{written}` is always 0",
            "divide by a figure that can be other than 0",
        )
    for sub in ir.walk(node):
        if isinstance(sub, ir.Duration) and too_long(sub):
            return (
                sub,
                "E211",
                f"`{text[sub.span[0] : sub.span[1]]}` is longer than 200 years",
                "write a length of time of at most 200 years",
            )
    return None


def too_long(duration: ir.Duration) -> bool:
    return abs(duration.amount) * _DAYS_IN.get(duration.unit, 1) > MAX_DURATION_DAYS


def zero_divisor(node: ir.Node) -> ir.Node | None:
    """The first divisor in `node` that is 0 whatever the data (`age / 0`, `x / (x - x)`).

    Evaluated, such a division is missing on every row; in a spec it is a mistake."""
    for sub in ir.walk(node):
        if isinstance(sub, ir.Arithmetic) and sub.op == "/" and always_zero(sub.right):
            return sub.right
    return None


def always_zero(node: ir.Node) -> bool:
    """Whether `node` is 0 whatever the data: `0`, `-0`, `2 - 2`, `age - age`, `x * 0`."""
    if _constant(node) == 0:
        return True
    if isinstance(node, ir.Duration):
        return node.amount == 0
    if isinstance(node, ir.Negate):
        return always_zero(node.operand)
    if isinstance(node, ir.IfThenElse):
        return always_zero(node.then) and always_zero(node.otherwise)
    if isinstance(node, ir.Arithmetic):
        left, right = node.left, node.right
        if node.op == "*":
            return always_zero(left) or always_zero(right)
        if node.op == "/":
            return always_zero(left)
        if node.op == "-" and left == right:  # the same expression twice (spans aside)
            return True
        return always_zero(left) and always_zero(right)
    return False


def _constant(node: ir.Node) -> float | None:
    """The value of an expression of number literals (`1 + -1`), or None."""
    if isinstance(node, ir.Number | ir.Percent | ir.Money):
        try:
            return float(node.value)
        except OverflowError:  # a literal of hundreds of digits
            return None
    if isinstance(node, ir.Negate):
        inner = _constant(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ir.Arithmetic):
        left, right = _constant(node.left), _constant(node.right)
        if left is None or right is None:
            return None
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        return left / right if right else None
    return None


def check(
    node: ir.Node, catalog: Catalog, scope: str | None, names: RuleNames | None = None
) -> ir.Node:
    """Type-check `node` evaluated for each row of dataset `scope` (None: over datasets);
    `names`: what a rule may name beside its dataset's fields."""
    return _Checker(catalog, names).visit(node, scope)
