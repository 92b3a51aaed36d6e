"""Strings with embedded `${{ }}`: GitHub compiles `a ${{ x }} b` to `format('a {0} b', x)`.

A template that is exactly one `${{ x }}` keeps x's type (a number stays a number, an
object stays an object); any other template is a string. Whole YAML values (mapping keys,
`${{ insert }}`) are evaluated by `raw`. Called by the engine for `run:` and friends, and by
the loader for validation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from conveyor.workflow.expr import ast
from conveyor.workflow.expr.context import EvalContext
from conveyor.workflow.expr.errors import ErrorKind, ExpressionError
from conveyor.workflow.expr.expression import KNOWN_FUNCTIONS, Expression, from_node
from conveyor.workflow.expr.parser import parse
from conveyor.workflow.expr.values import Value

Raw = str | int | float | bool | None | list["Raw"] | dict[str, "Raw"]


def _closing(text: str, start: int) -> int:
    """Index of the `}}` closing an expression opened before `start` (quotes respected)."""
    in_string = False
    index = start
    while index < len(text) - 1:
        char = text[index]
        if char == "'":
            in_string = not in_string
        elif not in_string and text.startswith("}}", index):
            return index
        index += 1
    return -1


def split_template(text: str) -> list[str | Expression]:
    """Literal pieces and compiled expressions, in order; raises `ExpressionError`."""
    parts: list[str | Expression] = []
    index = 0
    while True:
        start = text.find("${{", index)
        if start < 0:
            if index < len(text):
                parts.append(text[index:])
            return parts
        end = _closing(text, start + 3)
        if end < 0:
            raise ExpressionError(
                "The expression is not closed. An unescaped ${{ sequence was found, "
                "but the closing }} sequence was not found.",
                kind=ErrorKind.PARSING,
                column=start + 1,
            )
        if start > index:
            parts.append(text[index:start])
        inner = text[start + 3 : end].strip()
        if not inner:
            raise ExpressionError(
                "An expression was expected", kind=ErrorKind.PARSING, column=start + 1
            )
        parts.append(from_node(inner, parse(inner, functions=KNOWN_FUNCTIONS)))
        index = end + 2


def _as_node(parts: list[str | Expression]) -> ast.Node | None:
    if len(parts) == 1 and isinstance(parts[0], Expression):
        return parts[0].node
    pattern: list[str] = []
    args: list[ast.Node] = []
    for part in parts:
        if isinstance(part, str):
            pattern.append(part.replace("{", "{{").replace("}", "}}"))
        else:
            pattern.append("{" + str(len(args)) + "}")
            args.append(part.node if part.node is not None else ast.Literal(value=None))
    return ast.Call(name="format", args=(ast.Literal(value="".join(pattern)), *args))


def template_node(text: str) -> ast.Node | None:
    """The tree GitHub evaluates for a template (a `format` call unless a single expression)."""
    return _as_node(split_template(text))


@dataclass(frozen=True, slots=True)
class Template:
    """A string that may embed `${{ }}`; literal when it has none."""

    text: str
    expressions: tuple[Expression, ...]
    compiled: Expression | None

    @property
    def is_literal(self) -> bool:
        return self.compiled is None

    def evaluate(self, ctx: EvalContext) -> Value:
        """The template's value: the text itself, one expression's value, or a string."""
        return self.text if self.compiled is None else self.compiled.evaluate(ctx)


@lru_cache(maxsize=4096)
def compile_template(text: str) -> Template:
    """Compile a string that may embed `${{ }}`; raises `ExpressionError`."""
    if "${{" not in text:
        return Template(text, (), None)
    parts = split_template(text)
    expressions = tuple(part for part in parts if isinstance(part, Expression))
    return Template(text, expressions, from_node(text, _as_node(parts)))
