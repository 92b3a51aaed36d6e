"""Fuzz target: arbitrary text through lexer, parser, evaluator and templates never crashes.

Run by CI with hypothesis for a bounded time (a few seconds): any exception other than
`ExpressionError` is a bug. Two generators: any Unicode text, and a soup of the
language's own tokens (which reaches far deeper into the parser than random text).
"""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor.workflow.expr import (
    EvalContext,
    ExpressionError,
    Function,
    compile_condition,
    compile_expression,
    compile_template,
)
from tests.workflow.expr.generate import CONTEXTS

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TOKENS = [
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    "*",
    "!",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "&&",
    "||",
    " ",
    "'a'",
    "''",
    "'",
    "1",
    "-1",
    ".5",
    "0x1f",
    "1e3",
    "NaN",
    "Infinity",
    "null",
    "true",
    "github",
    "env",
    "matrix",
    "ref",
    "format",
    "join",
    "toJSON",
    "fromJSON",
    "contains",
    "case",
    "success",
    "'{0}'",
    "'[1]'",
    "${{",
    "}}",
    "@",
    "=",
    "&",
    "|",
    "é",
    "😊",
    "-",
]
STATUS = {"success": Function(name="success", min_args=0, max_args=255, call=lambda _: True)}
CTX = EvalContext(CONTEXTS, STATUS)


def _exercise(text: str) -> None:
    for compile_ in (compile_expression, compile_template, compile_condition):
        with contextlib.suppress(ExpressionError):
            compile_(text).evaluate(CTX)


@FUZZ
@given(text=st.text(max_size=60))
def test_any_text(text: str) -> None:
    _exercise(text)


@FUZZ
@given(parts=st.lists(st.sampled_from(TOKENS), max_size=25))
def test_token_soup(parts: list[str]) -> None:
    _exercise("".join(parts))
    _exercise(" ".join(parts))
