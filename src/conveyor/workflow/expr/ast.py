"""The syntax tree of an expression, and a printer whose output parses back to the same tree.

Nodes are frozen values built by `parser.parse` and turned into closures by `compile`.
`&&` and `||` chains are n-ary and flattened, as the runner's parser flattens them, so
parentheses leave no trace and depth is counted the way GitHub counts it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from conveyor.workflow.expr.lexer import is_legal_keyword
from conveyor.workflow.expr.values import Value


@dataclass(frozen=True, slots=True, kw_only=True)
class Literal:
    """`null`, a boolean, a number or a string literal."""

    value: Value


@dataclass(frozen=True, slots=True, kw_only=True)
class NamedValue:
    """A context name such as `github` or `env`."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Wildcard:
    """The `*` of `target.*` / `target[*]` (an Index key)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Index:
    """`target[key]`, `target.name` (key a string literal) and `target.*` (key a Wildcard)."""

    target: Node
    key: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Not:
    """`!operand`."""

    operand: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Compare:
    """`==`, `!=`, `<`, `<=`, `>`, `>=`."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Logical:
    """`&&` or `||` over two or more operands; returns an operand, short-circuiting."""

    op: str
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Call:
    """A function call; `name` as written (functions match case-insensitively)."""

    name: str
    args: tuple[Node, ...]


Node = Literal | NamedValue | Wildcard | Index | Not | Compare | Logical | Call

PRECEDENCE = {"||": 3, "&&": 4, "==": 8, "!=": 8, "<": 9, "<=": 9, ">": 9, ">=": 9, "!": 16}


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-nodes (the runner's Container parameters)."""
    if isinstance(node, Index):
        return (node.target, node.key)
    if isinstance(node, Not):
        return (node.operand,)
    if isinstance(node, Compare):
        return (node.left, node.right)
    if isinstance(node, Logical):
        return node.items
    if isinstance(node, Call):
        return node.args
    return ()


def depth(node: Node) -> int:
    """Levels of the tree, a leaf being 1 (GitHub rejects more than 50)."""
    stack, deepest = [(node, 1)], 0
    while stack:
        current, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children(current))
    return deepest


def _precedence(node: Node) -> int:
    if isinstance(node, Logical):
        return PRECEDENCE[node.op]
    if isinstance(node, Compare):
        return PRECEDENCE[node.op]
    if isinstance(node, Not):
        return PRECEDENCE["!"]
    return 100


def format_number(number: float) -> str:
    """A number literal that lexes back to the same double."""
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    return repr(float(number))


def _literal(value: Value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return format_number(float(value))
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"not a literal: {value!r}")


def _wrap(node: Node, minimum: int) -> str:
    text = to_text(node)
    return f"({text})" if _precedence(node) < minimum else text


def _index(node: Index) -> str:
    target = to_text(node.target)
    if not isinstance(node.target, NamedValue | Call | Index | Wildcard):
        target = f"({target})"
    key = node.key
    if isinstance(key, Wildcard):
        return f"{target}.*"
    if isinstance(key, Literal) and isinstance(key.value, str) and is_legal_keyword(key.value):
        return f"{target}.{key.value}"
    return f"{target}[{to_text(key)}]"


def to_text(node: Node) -> str:
    """Source text for `node` (minimal parentheses); parsing it yields an equal tree."""
    if isinstance(node, Literal):
        return _literal(node.value)
    if isinstance(node, NamedValue):
        return node.name
    if isinstance(node, Wildcard):
        return "*"
    if isinstance(node, Index):
        return _index(node)
    if isinstance(node, Not):
        return "!" + _wrap(node.operand, PRECEDENCE["!"])
    if isinstance(node, Compare):
        level = PRECEDENCE[node.op]
        return f"{_wrap(node.left, level)} {node.op} {_wrap(node.right, level + 1)}"
    if isinstance(node, Logical):
        level = PRECEDENCE[node.op] + 1
        return f" {node.op} ".join(_wrap(item, level) for item in node.items)
    return f"{node.name}({', '.join(to_text(arg) for arg in node.args)})"
