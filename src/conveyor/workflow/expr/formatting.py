"""GitHub's `format()`: `{N}` placeholders, `{{`/`}}` escapes, and the runner's errors.

The format string is scanned completely (raising on a malformed one) before any
argument is evaluated; arguments are then evaluated once each, in placeholder order.
Format specifiers (`{0:x}`) are accepted by the scanner and rejected when used, as in
the runner. Called by `functions._format` and by templates.
"""

from __future__ import annotations

from collections.abc import Callable

from conveyor.workflow.expr.coerce import to_str
from conveyor.workflow.expr.context import Run
from conveyor.workflow.expr.errors import evaluation_error
from conveyor.workflow.expr.values import Value, kind_of

Closure = Callable[[Run], Value]
#: a literal piece of text, or (argument index, format specifiers)
Segment = str | tuple[int, str]


def _invalid(text: str) -> Exception:
    return evaluation_error(f"The following format string is invalid: {text}")


def _specifiers(text: str, start: int) -> tuple[str, int] | None:
    """After `{N`: ('', index of `}`) or (specifiers, index of the closing `}`)."""
    if text.startswith("}", start):
        return "", start
    if not text.startswith(":", start):
        return None
    chars: list[str] = []
    index = start + 1
    while index < len(text):
        if text[index] != "}":
            chars.append(text[index])
            index += 1
        elif text.startswith("}}", index):
            chars.append("}")
            index += 2
        else:
            return "".join(chars), index
    return None


def _placeholder(text: str, lbrace: int, rbrace: int) -> tuple[int, str, int] | None:
    """Read `{N[:spec]}` at `lbrace`: (N, specifiers, index of closing brace)."""
    if rbrace <= lbrace + 1:
        return None
    end = lbrace + 1
    while end < len(text) and text[end].isdecimal():
        end += 1
    digits = text[lbrace + 1 : end]
    if not digits or not digits.isascii() or int(digits) > 255:
        return None
    spec = _specifiers(text, end)
    return None if spec is None else (int(digits), spec[0], spec[1])


def parse_format(text: str, arg_count: int) -> list[Segment]:
    """Split a format string into segments; raises GitHub's errors for bad strings."""
    segments: list[Segment] = []
    index = 0
    while index < len(text):
        lbrace, rbrace = text.find("{", index), text.find("}", index)
        if lbrace >= 0 and (rbrace < 0 or rbrace > lbrace):
            if text.startswith("{{", lbrace):
                segments.append(text[index : lbrace + 1])
                index = lbrace + 2
                continue
            found = _placeholder(text, lbrace, rbrace)
            if found is None:
                raise _invalid(text)
            number, spec, close = found
            if number > arg_count - 1:
                raise evaluation_error(
                    "The following format string references more arguments than were "
                    f"supplied: {text}"
                )
            segments.extend((text[index:lbrace], (number, spec)))
            index = close + 1
        elif rbrace >= 0:
            if not text.startswith("}}", rbrace):
                raise _invalid(text)
            segments.append(text[index : rbrace + 1])
            index = rbrace + 2
        else:
            segments.append(text[index:])
            break
    return [segment for segment in segments if segment != ""]


def format_string(run: Run, text: str, args: tuple[Closure, ...]) -> str:
    """Evaluate `format(text, *args)`."""
    return render(run, parse_format(text, len(args)), args)


def render(run: Run, segments: list[Segment], args: tuple[Closure, ...]) -> str:
    """Join the segments, evaluating each argument once, in placeholder order."""
    if len(segments) == len(args) and all(  # "{0}{1}…" written in order: no caching needed
        segment == (number, "") for number, segment in enumerate(segments)
    ):
        return "".join([to_str(arg(run)) for arg in args])
    cache: dict[int, Value] = {}
    out: list[str] = []
    for segment in segments:
        if isinstance(segment, str):
            out.append(segment)
            continue
        number, spec = segment
        if number not in cache:
            cache[number] = args[number](run)
        if spec:
            kind = kind_of(cache[number])
            raise evaluation_error(
                f"The format specifiers '{spec}' are not valid for objects of type '{kind}'"
            )
        out.append(to_str(cache[number]))
    return "".join(out)
