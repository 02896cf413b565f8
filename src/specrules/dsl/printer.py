"""IR → text, with no more brackets than precedence needs.

Used to show expressions back to people (explain, reports) and, in tests, to check that
printing a tree and parsing the text again gives the same tree.
"""

from __future__ import annotations

from decimal import Decimal

from specrules.dsl import ir

# Binding strength, loosest first; mirrors the grammar.
_IF, _OR, _AND, _NOT, _PREDICATE, _ADD, _MUL, _UNARY, _ATOM = range(9)


def _level(node: ir.Node) -> int:
    if isinstance(node, ir.IfThenElse):
        return _IF
    if isinstance(node, ir.Or):
        return _OR
    if isinstance(node, ir.And):
        return _AND
    if isinstance(node, ir.Not):
        return _NOT
    if isinstance(node, ir.Compare | ir.IsMissing | ir.InList | ir.Between):
        return _PREDICATE
    if isinstance(node, ir.Arithmetic):
        return _ADD if node.op in "+-" else _MUL
    if isinstance(node, ir.Negate):
        return _UNARY
    return _ATOM


def format_number(value: float | int) -> str:
    if isinstance(value, bool):
        raise TypeError("not a number")
    if isinstance(value, int) or float(value).is_integer() and isinstance(value, int):
        return str(value)
    text = format(Decimal(repr(float(value))), "f")
    return text if "." in text else text + ".0"


def _wrap(node: ir.Node, minimum: int) -> str:
    text = to_text(node)
    return f"({text})" if _level(node) < minimum else text


def _literal(node: ir.Node) -> str | None:
    if isinstance(node, ir.Number):
        return format_number(node.value)
    if isinstance(node, ir.Percent):
        return f"{format_number(node.value)}%"
    if isinstance(node, ir.Money):
        return node.text
    if isinstance(node, ir.Duration):
        unit = node.unit[:-1] if node.amount == 1 else node.unit
        return f"{format_number(node.amount)} {unit}"
    if isinstance(node, ir.Text):
        escaped = node.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(node, ir.Boolean):
        return "true" if node.value else "false"
    if isinstance(node, ir.Date):
        return node.value.isoformat()
    if isinstance(node, ir.DateTime):
        # isoformat, not strftime: strftime drops the leading zeros of years before 1000.
        return node.value.isoformat(timespec="seconds")
    if isinstance(node, ir.ListOf):
        return "[" + ", ".join(to_text(i) for i in node.items) + "]"
    return None


def to_text(node: ir.Node) -> str:
    """The canonical text of an expression or threshold."""
    literal = _literal(node)
    if literal is not None:
        return literal
    if isinstance(node, ir.Reference):
        return node.text
    if isinstance(node, ir.IfThenElse):
        return (
            f"if {to_text(node.condition)} then {to_text(node.then)} else {to_text(node.otherwise)}"
        )
    if isinstance(node, ir.Or):
        return f"{_wrap(node.left, _OR)} or {_wrap(node.right, _AND)}"
    if isinstance(node, ir.And):
        return f"{_wrap(node.left, _AND)} and {_wrap(node.right, _NOT)}"
    if isinstance(node, ir.Not):
        return f"not {_wrap(node.operand, _NOT)}"
    if isinstance(node, ir.Compare):
        return f"{_wrap(node.left, _ADD)} {node.op} {_wrap(node.right, _ADD)}"
    if isinstance(node, ir.IsMissing):
        word = "is not missing" if node.negated else "is missing"
        return f"{_wrap(node.operand, _ADD)} {word}"
    if isinstance(node, ir.InList):
        word = "not in" if node.negated else "in"
        return f"{_wrap(node.operand, _ADD)} {word} {to_text(node.items)}"
    if isinstance(node, ir.Between):
        return (
            f"{_wrap(node.operand, _ADD)} between {_wrap(node.low, _ADD)} "
            f"and {_wrap(node.high, _ADD)}"
        )
    if isinstance(node, ir.Arithmetic):
        level = _ADD if node.op in "+-" else _MUL
        return f"{_wrap(node.left, level)} {node.op} {_wrap(node.right, level + 1)}"
    if isinstance(node, ir.Negate):
        return f"-{_wrap(node.operand, _UNARY)}"
    if isinstance(node, ir.Call):
        parts = []
        if node.distinct:
            parts.append("distinct")
        # percentile(x where c, 90): the filter goes with the values, before the centile
        values, settings = (node.args[:1], node.args[1:]) if node.where else (node.args, ())
        if values:
            parts.append(", ".join(to_text(a) for a in values))
        if node.where is not None:
            parts.append(f"where {to_text(node.where)}")
        text = " ".join(parts) + "".join(f", {to_text(a)}" for a in settings)
        return f"{node.name}({text})"
    if isinstance(node, ir.Threshold):
        if node.kind == "between":
            assert node.upper is not None
            text = f"between {to_text(node.amount)} and {to_text(node.upper)}"
        else:
            text = f"{node.kind} {to_text(node.amount)}"
        if node.per:
            text += f" per {node.per}"
        if node.by:
            text += f" by {node.by.isoformat()}"
        return text
    if isinstance(node, ir.Reduction):
        step = (
            f"{format_number(node.step)}%"
            if node.relative
            else f"{format_number(node.step)} percentage point" + ("" if node.step == 1 else "s")
        )
        return f"reduction of at least {step} per {node.per} from {to_text(node.baseline)}"
    raise TypeError(f"cannot print {type(node).__name__}")
