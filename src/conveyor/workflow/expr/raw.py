"""Whole YAML values with `${{ }}` evaluated the way GitHub's template evaluator does.

Strings are templates (`template.compile_template`); list items and mapping values are
evaluated in place. Mapping keys may be expressions too (the schema allows them wherever the
key's mapping has a `context`): a key evaluates to a string (null is '', numbers and booleans
take GitHub's string form, an object or array is "Expected a string"). The key
`${{ insert }}` merges a mapping into its parent: its value (a literal mapping or an
expression) must evaluate to a mapping ("Expected a mapping"), whose pairs are added in
order. Keys compare case-insensitively, as GitHub's; a key defined twice after evaluation is
"'<key>' is already defined".

Called by the engine for `env:`, `with:`, `strategy.matrix`, `outputs:` and friends. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from conveyor.workflow.expr.coerce import to_str
from conveyor.workflow.expr.context import EvalContext
from conveyor.workflow.expr.errors import evaluation_error
from conveyor.workflow.expr.template import Raw, compile_template
from conveyor.workflow.expr.values import Value

#: GitHub's only workflow directive: `${{ insert }}` as a whole mapping key
_INSERT = re.compile(r"^\$\{\{\s*insert\s*\}\}$")


def is_insert(key: str) -> bool:
    """Whether a mapping key is the `${{ insert }}` directive."""
    return _INSERT.match(key) is not None


def evaluate_raw(raw: Raw | Value, ctx: EvalContext) -> Value:
    """Evaluate every template inside a YAML value: strings, list items, mapping keys and
    values, `${{ insert }}` directives."""
    if isinstance(raw, str):
        return compile_template(raw).evaluate(ctx)
    if isinstance(raw, Mapping):
        return evaluate_mapping(raw, ctx)
    if isinstance(raw, list | tuple):
        return [evaluate_raw(item, ctx) for item in raw]
    return raw


def evaluate_mapping(raw: Mapping[str, Raw | Value], ctx: EvalContext) -> dict[str, Value]:
    """A mapping with its keys, values and insertions evaluated (file order kept)."""
    out: dict[str, Value] = {}
    seen: set[str] = set()
    for key, value in raw.items():
        for name, item in _pairs(key, value, ctx):
            if name.upper() in seen:
                raise evaluation_error(f"'{name}' is already defined")
            seen.add(name.upper())
            out[name] = item
    return out


def _pairs(key: str, value: Raw | Value, ctx: EvalContext) -> Iterable[tuple[str, Value]]:
    if is_insert(key):
        inserted = evaluate_raw(value, ctx)
        if not isinstance(inserted, Mapping):
            raise evaluation_error("Expected a mapping")
        return list(inserted.items())
    return [(evaluate_key(key, ctx), evaluate_raw(value, ctx))]


def evaluate_key(key: str, ctx: EvalContext) -> str:
    """A mapping key: literal text, or an expression's value as a string."""
    template = compile_template(key)
    if template.is_literal:
        return key
    value = template.evaluate(ctx)
    if isinstance(value, Mapping | list | tuple):
        raise evaluation_error("Expected a string")
    return to_str(value)
