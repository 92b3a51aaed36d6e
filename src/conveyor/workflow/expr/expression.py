"""Compiled expressions: `compile_expression` (cached by text); `if:` values in `condition`.

An `Expression` is parsed once and evaluated many times against different
`EvalContext`s (a 256-leg matrix evaluates the same `if:` hundreds of times).
Called by the loader (validation), the engine (evaluation) and `conveyor expr`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from functools import lru_cache

from conveyor.workflow.expr import ast
from conveyor.workflow.expr.compile import Closure, compile_node
from conveyor.workflow.expr.context import EvalContext, Run
from conveyor.workflow.expr.parser import BUILTINS, parse
from conveyor.workflow.expr.values import Value

STATUS_FUNCTIONS = frozenset(("success", "failure", "cancelled", "always"))
#: Functions the engine supplies; accepted by the parser, validated per key by `check_allowed`.
EXTENSIONS: dict[str, tuple[int, int]] = {
    **dict.fromkeys(STATUS_FUNCTIONS, (0, 255)),
    "hashfiles": (1, 255),
}
KNOWN_FUNCTIONS: dict[str, tuple[int, int]] = {**BUILTINS, **EXTENSIONS}


def _walk(node: ast.Node | None) -> list[ast.Node]:
    found: list[ast.Node] = []
    stack = [node] if node is not None else []
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(ast.children(current))
    return found


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression; `node` is None for empty text (which evaluates to null)."""

    text: str
    node: ast.Node | None
    closure: Closure = field(repr=False, compare=False)

    def evaluate(self, ctx: EvalContext) -> Value:
        """The value of the expression in `ctx`; raises `ExpressionError` (kind evaluation)."""
        return self.closure(Run(ctx))

    @property
    def context_names(self) -> frozenset[str]:
        """Lower-case names of the contexts used (`github`, `matrix`…)."""
        return frozenset(n.name.lower() for n in _walk(self.node) if isinstance(n, ast.NamedValue))

    @property
    def functions_used(self) -> frozenset[tuple[str, int]]:
        """(lower-case name, argument count) of every call."""
        calls = (n for n in _walk(self.node) if isinstance(n, ast.Call))
        return frozenset((call.name.lower(), len(call.args)) for call in calls)

    @property
    def has_status_function(self) -> bool:
        """Whether `success()`, `failure()`, `cancelled()` or `always()` is called."""
        return any(name in STATUS_FUNCTIONS for name, _ in self.functions_used)


def from_node(text: str, node: ast.Node | None) -> Expression:
    """An `Expression` for an already-built tree."""
    closure: Closure = compile_node(node) if node is not None else (lambda run: None)
    return Expression(text, node, closure)


@lru_cache(maxsize=4096)
def compile_expression(text: str) -> Expression:
    """Parse and compile `text` (without `${{ }}`); raises `ExpressionError`."""
    return from_node(text, parse(text, functions=KNOWN_FUNCTIONS))


def parse_with(
    text: str,
    *,
    named_values: Collection[str] | None,
    functions: dict[str, tuple[int, int]] | None = None,
) -> Expression:
    """Compile with GitHub's named-value check (`Unrecognized named-value` for others)."""
    node = parse(text, named_values=named_values, functions=functions or KNOWN_FUNCTIONS)
    return from_node(text, node)
