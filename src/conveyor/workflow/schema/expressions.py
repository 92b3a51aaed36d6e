"""Checks each `${{ }}` of a workflow against the contexts and functions allowed at its key.

The schema's `context` lists say which named contexts (`github`, `secrets`, …) and which
functions with argument counts (`hashFiles(1,255)`, `success(0,MAX)`) an expression may use;
GitHub's own functions (`contains`, `format`, `toJSON`, …) are always allowed. Parsing is
`conveyor.workflow.expr.compile_expression` (stream A), whose errors already read like
GitHub's; this module adds GitHub's "Unrecognized named-value / function" messages.

Called by `reader`. Pure: no I/O.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from conveyor.workflow.expr import ExpressionError, compile_expression

MAX_ARGS = 2**31 - 1
BUILTIN_FUNCTIONS: Mapping[str, tuple[int, int]] = {
    "contains": (2, 2),
    "startswith": (2, 2),
    "endswith": (2, 2),
    "format": (1, MAX_ARGS),
    "join": (1, 2),
    "tojson": (1, 1),
    "fromjson": (1, 1),
}
_STRING = re.compile(r"^'((?:[^']|'')*)'$", re.DOTALL)
_TOKEN = re.compile(r"'(?:[^']|'')*'?|[A-Za-z_][A-Za-z0-9_\-]*|\S")


@dataclass(frozen=True, slots=True, kw_only=True)
class Allowed:
    """The named contexts and functions an expression may use at one key."""

    names: frozenset[str]  # lower-case named contexts
    functions: Mapping[str, tuple[int, int]]  # lower-case name -> (min, max) arguments


@functools.cache
def allowed(context: tuple[str, ...]) -> Allowed:
    """Split a schema `context` list into named contexts and functions."""
    names: set[str] = set()
    functions = dict(BUILTIN_FUNCTIONS)
    for item in context:
        name, paren, args = item.partition("(")
        if not paren:
            names.add(item.lower())
            continue
        low, _, high = args.rstrip(")").partition(",")
        functions[name.lower()] = (int(low), MAX_ARGS if high == "MAX" else int(high))
    return Allowed(names=frozenset(names), functions=functions)


def split_template(text: str) -> list[tuple[bool, str]] | None:
    """Segments of a string with `${{ }}`: (is an expression, text); None if one is unclosed.

    Like GitHub, `}}` inside a single-quoted string literal does not close the expression.
    """
    segments: list[tuple[bool, str]] = []
    i = 0
    while i < len(text):
        start = text.find("${{", i)
        if start < 0:
            segments.append((False, text[i:]))
            break
        if start > i:
            segments.append((False, text[i:start]))
        end = _closing(text, start + 3)
        if end < 0:
            return None
        segments.append((True, text[start + 3 : end - 1]))
        i = end + 1
    return segments


def _closing(text: str, i: int) -> int:
    in_string = False
    for j in range(i, len(text)):
        char = text[j]
        if char == "'":
            in_string = not in_string
        elif not in_string and char == "}" and text[j - 1] == "}" and j - 1 >= i:
            return j
    return -1


def literal_string(expression: str) -> str | None:
    """The value of an expression that is just a string literal (`${{ 'x' }}`), else None."""
    match = _STRING.match(expression.strip())
    return match.group(1).replace("''", "'") if match else None


def rule_of(message: str) -> str:
    """`expression-context` for a name or function not allowed here, else `expression`."""
    if message.startswith(("Unrecognized named-value", "Unrecognized function", "Too ")):
        return "expression-context"
    return "expression"


def check_condition(text: str, context: tuple[str, ...]) -> str | None:
    """An `if:` written without `${{ }}`: the whole text is one expression."""
    return check_expression(text, context)


def check_expression(text: str, context: tuple[str, ...]) -> str | None:
    """GitHub's error message for the expression inside `${{ }}`, or None when it is fine."""
    stripped = text.strip()
    if not stripped:
        return "An expression was expected"
    try:
        compiled = compile_expression(stripped)
    except ExpressionError as exc:
        return exc.message
    rules = allowed(context)
    unknown_names = set(compiled.context_names) - rules.names
    bad_functions = {
        name: count
        for name, count in compiled.functions_used
        if not (
            rules.functions.get(name, (1, 0))[0] <= count <= rules.functions.get(name, (1, 0))[1]
        )
    }
    if not unknown_names and not bad_functions:
        return None
    return _first_unrecognized(stripped, unknown_names, bad_functions, rules)


def _first_unrecognized(
    text: str, names: set[str], functions: Mapping[str, int], rules: Allowed
) -> str:
    tokens = list(_TOKEN.finditer(text))
    for index, match in enumerate(tokens):
        word = match.group()
        after_dot = index > 0 and tokens[index - 1].group() == "."
        is_call = index + 1 < len(tokens) and tokens[index + 1].group() == "("
        where = f"Located at position {match.start() + 1} within expression: {text}"
        if after_dot or not (word[0].isalpha() or word[0] == "_"):
            continue
        low = word.lower()
        if is_call and low in functions:
            if low not in rules.functions:
                return f"Unrecognized function: '{word}'. {where}"
            lowest, _ = rules.functions[low]
            amount = "few" if functions[low] < lowest else "many"
            return f"Too {amount} parameters supplied: '{word}'. {where}"
        if not is_call and low in names:
            return f"Unrecognized named-value: '{word}'. {where}"
    first = sorted(names)[0] if names else sorted(functions)[0]
    return f"Unrecognized named-value: '{first}'. Located at position 1 within expression: {text}"
