"""`if:` values: GitHub's implicit `success() &&` around a condition, with or without `${{ }}`.

Called by the engine for step, job and post `if:` values and by the loader for validation.
Sits above `expression` and `template` (it uses both), so neither imports the other back.
"""

from __future__ import annotations

from functools import lru_cache

from conveyor.workflow.expr import ast
from conveyor.workflow.expr.errors import ErrorKind, ExpressionError
from conveyor.workflow.expr.expression import KNOWN_FUNCTIONS, Expression, from_node
from conveyor.workflow.expr.parser import MAX_DEPTH, parse
from conveyor.workflow.expr.template import template_node


@lru_cache(maxsize=4096)
def compile_condition(text: str) -> Expression:
    """An `if:` value, with or without `${{ }}`.

    Becomes `success() && (…)` unless it calls a status function, as on GitHub.
    """
    stripped = text.strip()
    node = (
        template_node(stripped) if "${{" in stripped else parse(stripped, functions=KNOWN_FUNCTIONS)
    )
    plain = from_node(text, node)
    if plain.has_status_function:
        return plain
    success = ast.Call(name="success", args=())
    if node is None:
        return from_node(text, success)
    items = node.items if isinstance(node, ast.Logical) and node.op == "&&" else (node,)
    wrapped = ast.Logical(op="&&", items=(success, *items))
    if ast.depth(wrapped) > MAX_DEPTH:
        raise ExpressionError(f"Exceeded max expression depth {MAX_DEPTH}", kind=ErrorKind.PARSING)
    return from_node(text, wrapped)
