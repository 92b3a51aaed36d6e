"""The one exception of `conveyor.workflow.expr`, worded as GitHub's runner words it.

Raised by the lexer and parser (`kind` "lexing" / "parsing", at compile time) and by the
evaluator and functions (`kind` "evaluation", at run time). Callers (loader, engine, CLI)
catch `ExpressionError` and attach the file location they know about.
"""

from __future__ import annotations

from enum import StrEnum

from conveyor.core.errors import UserError
from conveyor.core.location import Location


class ErrorKind(StrEnum):
    """Which stage failed; the names are those of GitHub's shared expression test data."""

    LEXING = "lexing"
    PARSING = "parsing"
    EVALUATION = "evaluation"


class ExpressionError(UserError):
    """A bad expression: `kind` says which stage, `column` is 1-based (0 when unknown)."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind,
        column: int = 0,
        location: Location | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, location=location, hint=hint)
        self.kind = kind
        self.column = column


def symbol_error(
    kind: ErrorKind, description: str, raw: str, index: int, text: str
) -> ExpressionError:
    """GitHub's `<description>: '<token>'. Located at position N within expression: <text>`."""
    message = f"{description}: '{raw}'. Located at position {index + 1} within expression: {text}"
    return ExpressionError(message, kind=kind, column=index + 1)


def evaluation_error(message: str) -> ExpressionError:
    """An error raised while evaluating (bad format string, bad JSON, memory exceeded…)."""
    return ExpressionError(message, kind=ErrorKind.EVALUATION)
