"""Which contexts and functions an expression may use at a key (for `conveyor lint`).

`allowed` is the format of GitHub's workflow schema (`"context"` lists): plain names are
named contexts, `name(min,max)` are functions (`MAX` means no upper bound). Built-in
functions are always allowed. Problems are worded as GitHub words them.
Called by the loader (stream B) for every expression it finds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from conveyor.workflow.expr import ast
from conveyor.workflow.expr.errors import ExpressionError
from conveyor.workflow.expr.expression import KNOWN_FUNCTIONS, Expression
from conveyor.workflow.expr.parser import BUILTINS, parse

_FUNCTION = re.compile(r"([A-Za-z_][\w-]*)\((\d+),(\d+|MAX)\)")


def parse_allowed(allowed: Sequence[str]) -> tuple[set[str], dict[str, tuple[int, int]]]:
    """Split a schema context list into (context names, functions with arity), lower-case."""
    names: set[str] = set()
    functions: dict[str, tuple[int, int]] = dict(BUILTINS)
    for entry in allowed:
        match = _FUNCTION.fullmatch(entry.strip())
        if match:
            high = 255 if match[3] == "MAX" else int(match[3])
            functions[match[1].lower()] = (int(match[2]), high)
        else:
            names.add(entry.strip().lower())
    return names, functions


def _nodes(node: ast.Node | None) -> list[ast.Node]:
    found: list[ast.Node] = []
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(reversed(ast.children(current)))
    return found


def check_allowed(expr: Expression, allowed: Sequence[str]) -> list[str]:
    """Problems with the names and functions `expr` uses where only `allowed` are available.

    For a plain expression this is GitHub's own parse error (the first problem, with its
    position); for conditions and templates, whose tree is not their text's, one message
    per problem without a position.
    """
    names, functions = parse_allowed(allowed)
    if _tree_is_text(expr):
        try:
            parse(expr.text, named_values=names, functions=functions)
        except ExpressionError as exc:
            return [exc.message]
        return []
    return _walk_problems(expr, names, functions)


def _tree_is_text(expr: Expression) -> bool:
    try:
        return repr(parse(expr.text, functions=KNOWN_FUNCTIONS)) == repr(expr.node)
    except ExpressionError:
        return False


def _walk_problems(
    expr: Expression, names: set[str], functions: dict[str, tuple[int, int]]
) -> list[str]:
    problems: list[str] = []
    for node in _nodes(expr.node):
        if isinstance(node, ast.NamedValue) and node.name.lower() not in names:
            problems.append(f"Unrecognized named-value: '{node.name}'")
        elif isinstance(node, ast.Call):
            arity = functions.get(node.name.lower())
            if arity is None:
                problems.append(f"Unrecognized function: '{node.name}'")
            elif len(node.args) < arity[0]:
                problems.append(f"Too few parameters supplied: '{node.name}'")
            elif len(node.args) > arity[1]:
                problems.append(f"Too many parameters supplied: '{node.name}'")
    return list(dict.fromkeys(problems))
