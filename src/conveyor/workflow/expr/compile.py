"""Turn a syntax tree into nested closures: parse once, evaluate many times.

Each node becomes a `Closure` taking the evaluation `Run`. Hot paths (property access
on dicts, string `==`, two-operand `&&`/`||`) are specialised; everything else goes
through the coercions in `coerce.py`. Called by `expression.compile_expression`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import cast

from conveyor.workflow.expr import ast
from conveyor.workflow.expr.coerce import (
    greater,
    is_truthy,
    lookup,
    loose_equal,
    str_equal,
    to_number,
    to_str,
)
from conveyor.workflow.expr.context import Run
from conveyor.workflow.expr.errors import ErrorKind, ExpressionError, evaluation_error
from conveyor.workflow.expr.formatting import parse_format, render
from conveyor.workflow.expr.functions import BUILTIN_FUNCTIONS
from conveyor.workflow.expr.values import FilteredArray, Value, is_primitive

Closure = Callable[[Run], Value]
_INT32_MAX = 2**31 - 1


def _integer_index(key: Value) -> int | None:
    number = to_number(key)
    if math.isnan(number) or number < 0 or number >= _INT32_MAX + 1:
        return None
    return int(number)


def _get(container: Value, key: Value, wildcard: bool) -> Value:
    """Index one collection (the runner's HandleObject / HandleArray)."""
    if isinstance(container, Mapping):
        if wildcard:
            return FilteredArray(container.values())
        return lookup(container, to_str(key))[1] if is_primitive(key) else None
    if isinstance(container, list | tuple):
        if wildcard:
            return FilteredArray(container)
        position = _integer_index(key)
        return container[position] if position is not None and position < len(container) else None
    return FilteredArray() if wildcard else None


def _get_filtered(items: FilteredArray, key: Value, wildcard: bool) -> Value:
    """Apply an index to every element of a filtered array, dropping misses."""
    if not wildcard and type(key) is str:
        # The common `list.*.name`: every element a dict holding exactly that key.
        try:
            return FilteredArray([item[key] for item in cast(list[dict[str, Value]], items)])
        except (KeyError, TypeError, IndexError):
            pass  # a miss, a list or a scalar among them: the general rules below
    if not wildcard and type(key) is str and all(type(item) is dict for item in items):
        mapped = FilteredArray()
        for entry in cast(list[dict[str, Value]], items):
            if key in entry:
                mapped.append(entry[key])
            else:
                hit, value = lookup(entry, key)
                if hit:
                    mapped.append(value)
        return mapped
    result = FilteredArray()
    for item in cast(list[object], items):
        if isinstance(item, Mapping):
            if wildcard:
                result.extend(item.values())
            elif is_primitive(key):
                found, value = lookup(item, to_str(key))
                if found:
                    result.append(value)
        elif isinstance(item, list | tuple):
            if wildcard:
                result.extend(item)
            else:
                position = _integer_index(key)
                if position is not None and position < len(item):
                    result.append(item[position])
    return result


def _index(node: ast.Index) -> Closure:
    target = compile_node(node.target)
    wildcard = isinstance(node.key, ast.Wildcard)
    if not wildcard and isinstance(node.key, ast.Literal) and isinstance(node.key.value, str):
        name: str = node.key.value

        def prop(run: Run) -> Value:
            obj = target(run)
            if type(obj) is dict:
                if name in obj:
                    return obj[name]
                return lookup(obj, name)[1]
            return _index_any(obj, name, False)

        return prop
    key = (lambda run: None) if wildcard else compile_node(node.key)

    def index(run: Run) -> Value:
        obj = target(run)
        if not isinstance(obj, Mapping | list | tuple):
            return FilteredArray() if wildcard else None
        return _index_any(obj, key(run), wildcard)

    return index


def _index_any(obj: Value, key: Value, wildcard: bool) -> Value:
    if isinstance(obj, FilteredArray):
        return _get_filtered(obj, key, wildcard)
    return _get(obj, key, wildcard)


def _compare(node: ast.Compare) -> Closure:
    left, right = compile_node(node.left), compile_node(node.right)
    op = node.op
    if op in ("==", "!="):
        negate = op == "!="

        def equal(run: Run) -> Value:
            a, b = left(run), right(run)
            if type(a) is str and type(b) is str:
                return str_equal(a, b) != negate
            return loose_equal(a, b) != negate

        return equal
    tests: dict[str, Callable[[Value, Value], bool]] = {
        ">": greater,
        "<": lambda a, b: greater(b, a),
        ">=": lambda a, b: loose_equal(a, b) or greater(a, b),
        "<=": lambda a, b: loose_equal(a, b) or greater(b, a),
    }
    test = tests[op]
    return lambda run: test(left(run), right(run))


def _logical(node: ast.Logical) -> Closure:
    items = tuple(compile_node(item) for item in node.items)
    stop_when = node.op == "||"  # `||` stops at the first truthy operand, `&&` at a falsy one
    if len(items) == 2:
        first, second = items

        def pair(run: Run) -> Value:
            value = first(run)
            return value if is_truthy(value) == stop_when else second(run)

        return pair

    def chain(run: Run) -> Value:
        value: Value = None
        for item in items:
            value = item(run)
            if is_truthy(value) == stop_when:
                return value
        return value

    return chain


def _literal_format(text: str, args: tuple[Closure, ...]) -> Closure:
    """`format` with a literal format string (templates compile to these): scan it once."""
    try:
        segments = parse_format(text, len(args))
    except ExpressionError as exc:
        error = exc

        def invalid(run: Run) -> Value:
            raise ExpressionError(error.message, kind=error.kind)

        return invalid

    def literal_format(run: Run) -> Value:
        mark = run.memory
        result = render(run, segments, args)
        run.hold(mark, result)
        return result

    return literal_format


def _call(node: ast.Call) -> Closure:
    name = node.name.lower()
    args = tuple(compile_node(arg) for arg in node.args)
    if name == "format" and isinstance(node.args[0], ast.Literal):
        return _literal_format(to_str(node.args[0].value), args[1:])
    builtin = BUILTIN_FUNCTIONS.get(name)
    if builtin is not None:
        return lambda run: builtin(run, args)
    written = node.name

    def extension(run: Run) -> Value:
        function = run.functions.get(name)
        if function is None:
            raise evaluation_error(f"Unrecognized function: '{written}'")
        if not function.min_args <= len(args) <= function.max_args:
            few = len(args) < function.min_args
            message = f"Too {'few' if few else 'many'} parameters supplied: '{written}'"
            raise ExpressionError(message, kind=ErrorKind.PARSING)
        return function.call([arg(run) for arg in args])

    return extension


def compile_node(node: ast.Node) -> Closure:
    """The closure that evaluates `node`."""
    if isinstance(node, ast.Literal):
        value = node.value
        return lambda run: value
    if isinstance(node, ast.NamedValue):
        key = node.name.lower()
        return lambda run: run.names.get(key)
    if isinstance(node, ast.Index):
        return _index(node)
    if isinstance(node, ast.Not):
        operand = compile_node(node.operand)
        return lambda run: not is_truthy(operand(run))
    if isinstance(node, ast.Compare):
        return _compare(node)
    if isinstance(node, ast.Logical):
        return _logical(node)
    if isinstance(node, ast.Call):
        return _call(node)
    return lambda run: "*"  # a bare `*` (only reachable as `x[*.y]`) is the string "*"
