"""GitHub's built-in functions, following the runner's (C#) implementations.

Each built-in receives the evaluation `Run` and its argument closures and evaluates them
itself, because the runner does so lazily: `contains(obj, x)` never evaluates `x`,
`join(a)` evaluates the separator only for two or more items, `format` reads its format
string before touching any argument. Called by the closures `compile.py` builds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from conveyor.workflow.expr.coerce import fold, loose_equal, to_str
from conveyor.workflow.expr.context import Run
from conveyor.workflow.expr.errors import evaluation_error
from conveyor.workflow.expr.formatting import format_string
from conveyor.workflow.expr.jsonfmt import from_json, to_json
from conveyor.workflow.expr.values import Value, is_primitive

Closure = Callable[[Run], Value]
Builtin = Callable[[Run, tuple[Closure, ...]], Value]


def _contains(run: Run, args: tuple[Closure, ...]) -> Value:
    haystack = args[0](run)
    if is_primitive(haystack):
        needle = args[1](run)
        return is_primitive(needle) and fold(to_str(needle)) in fold(to_str(haystack))
    if isinstance(haystack, list | tuple) and haystack:
        needle = args[1](run)
        return any(loose_equal(needle, item) for item in haystack)
    return False


def _affix(run: Run, args: tuple[Closure, ...], *, end: bool) -> Value:
    text = args[0](run)
    if not is_primitive(text):
        return False
    part = args[1](run)
    if not is_primitive(part):
        return False
    folded, affix = fold(to_str(text)), fold(to_str(part))
    return folded.endswith(affix) if end else folded.startswith(affix)


def _starts_with(run: Run, args: tuple[Closure, ...]) -> Value:
    return _affix(run, args, end=False)


def _ends_with(run: Run, args: tuple[Closure, ...]) -> Value:
    return _affix(run, args, end=True)


def _join(run: Run, args: tuple[Closure, ...]) -> Value:
    mark = run.memory
    items = args[0](run)
    if isinstance(items, list | tuple) and items:
        separator = ","
        if len(items) > 1 and len(args) > 1:
            value = args[1](run)
            separator = to_str(value) if is_primitive(value) else separator
        result = separator.join(to_str(item) for item in items)
    else:
        result = to_str(items) if is_primitive(items) else ""
    run.hold(mark, result)
    return result


def _to_json(run: Run, args: tuple[Closure, ...]) -> Value:
    mark = run.memory
    result = to_json(args[0](run))
    run.hold(mark, result)
    return result


def _from_json(run: Run, args: tuple[Closure, ...]) -> Value:
    mark = run.memory
    result = from_json(to_str(args[0](run)))
    run.hold(mark, result)
    return result


def _case(run: Run, args: tuple[Closure, ...]) -> Value:
    for position in range(0, len(args) - 1, 2):
        predicate = args[position](run)
        if not isinstance(predicate, bool):
            raise evaluation_error("case predicate must evaluate to a boolean value")
        if predicate:
            return args[position + 1](run)
    return args[-1](run)


def _format(run: Run, args: tuple[Closure, ...]) -> Value:
    mark = run.memory
    result = format_string(run, to_str(args[0](run)), args[1:])
    run.hold(mark, result)
    return result


BUILTIN_FUNCTIONS: Mapping[str, Builtin] = {
    "contains": _contains,
    "startswith": _starts_with,
    "endswith": _ends_with,
    "format": _format,
    "join": _join,
    "tojson": _to_json,
    "fromjson": _from_json,
    "case": _case,
}
