"""Field selection for `ignoreDifferences` and target normalisation rules. Pure.

Two notations, as Argo CD's `spec.ignoreDifferences` accepts:

* JSON pointers (RFC 6901): `/spec/replicas`, `/metadata/annotations/a~1b` (`~1` is `/`,
  `~0` is `~`). Conveyor also reads a `*` segment as "every list item / every key".
* jq-style paths (the subset Argo CD users write in `jqPathExpressions`):
  `.spec.replicas`, `.metadata.annotations["a/b"]`, `.spec.containers[]`, `.items[0]`,
  `.spec.template.spec.containers[] | select(.name == "sidecar") | .image`.

`remove_pointer` / `remove_jq` delete the selected fields from a document in place
(callers pass a copy). Called by `reconcile.diff`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conveyor.core.errors import UserError

_Loc = tuple[Any, Any]  # (container, key) whose value is selected


_ANY = object()


def remove_pointer(doc: Any, pointer: str, *, equal_to: Any = _ANY) -> None:
    """Delete what `pointer` selects (only values equal to `equal_to`, when given);
    a pointer that selects nothing is not an error."""
    parts = _parse_pointer(pointer)
    locs: list[_Loc] = [(None, doc)]
    for part in parts:
        locs = [loc for parent in locs for loc in _children(_value(parent), part)]
    if equal_to is not _ANY:
        locs = [loc for loc in locs if _value(loc) == equal_to]
    _delete(locs)


def remove_jq(doc: Any, expression: str) -> None:
    """Delete what the jq-style path selects."""
    locs: list[_Loc] = [(None, doc)]
    for op in _compile_jq(expression):
        locs = op(locs)
    _delete(locs)


@functools.lru_cache(maxsize=4096)
def _parse_pointer(pointer: str) -> tuple[str, ...]:
    if not pointer.startswith("/"):
        raise UserError(
            f"JSON pointer {pointer!r} must start with '/'", hint="write e.g. /spec/replicas"
        )
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/"))


def select_pointer(doc: Any, pointer: str) -> list[Any]:
    """Values `pointer` selects (for tests and defaults)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.strip("/").split("/")]
    locs: list[_Loc] = [(None, doc)]
    for part in parts:
        locs = [loc for parent in locs for loc in _children(_value(parent), part)]
    return [_value(loc) for loc in locs]


def _value(loc: _Loc) -> Any:
    container, key = loc
    return key if container is None else container[key]


def _children(node: Any, part: str) -> list[_Loc]:
    if isinstance(node, dict):
        if part == "*":
            return [(node, k) for k in node]
        return [(node, part)] if part in node else []
    if isinstance(node, list):
        if part == "*":
            return [(node, i) for i in range(len(node))]
        if part.isdigit() and int(part) < len(node):
            return [(node, int(part))]
    return []


def _delete(locs: list[_Loc]) -> None:
    # delete list items from the highest index down so earlier indices stay valid
    for container, key in sorted(
        (loc for loc in locs if loc[0] is not None),
        key=lambda loc: loc[1] if isinstance(loc[1], int) else -1,
        reverse=True,
    ):
        if isinstance(container, dict):
            container.pop(key, None)
        elif isinstance(container, list) and isinstance(key, int) and key < len(container):
            del container[key]


# -- jq subset ------------------------------------------------------------------------

_Op = Callable[[list[_Loc]], list[_Loc]]
_SELECT = re.compile(r"^select\(\s*(\.[^=!]*?)\s*(==|!=)\s*(.+?)\s*\)$")
_TOKEN = re.compile(
    r'\.([A-Za-z_][\w-]*)|\."((?:[^"\\]|\\.)*)"|\["((?:[^"\\]|\\.)*)"\]|\[(\d*)\]\??|(\.)$'
)


@dataclass(frozen=True, slots=True)
class _Select:
    path: tuple[_Op, ...]
    negate: bool
    literal: Any

    def __call__(self, locs: list[_Loc]) -> list[_Loc]:
        kept = []
        for loc in locs:
            found: list[_Loc] = [(None, _value(loc))]
            for op in self.path:
                found = op(found)
            hit = any(_value(f) == self.literal for f in found)
            if hit != self.negate:
                kept.append(loc)
        return kept


@functools.lru_cache(maxsize=1024)
def _compile_jq(expression: str) -> tuple[_Op, ...]:
    ops: list[_Op] = []
    for segment in (s.strip() for s in expression.split("|")):
        match = _SELECT.match(segment)
        if match:
            literal = _literal(match.group(3), expression)
            ops.append(
                _Select(
                    tuple(_compile_path(match.group(1), expression)),
                    match.group(2) == "!=",
                    literal,
                )
            )
        else:
            ops.extend(_compile_path(segment, expression))
    return tuple(ops)


def _compile_path(text: str, expression: str) -> list[_Op]:
    ops: list[_Op] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise UserError(
                f"unsupported jq path {expression!r} at {text[pos:]!r}",
                hint='use .a.b, .a["k"], .a[], .a[0] and select(.f == "v")',
            )
        name, quoted, bracket, index, dot = match.groups()
        if dot is None:
            ops.append(_step(name, quoted, bracket, index))
        pos = match.end()
    return ops


def _step(name: str | None, quoted: str | None, bracket: str | None, index: str | None) -> _Op:
    key = name or (json.loads(f'"{quoted}"') if quoted is not None else None)
    if key is None and bracket is not None:
        key = json.loads(f'"{bracket}"')
    if key is not None:
        field = key
        return lambda locs: [
            c
            for loc in locs
            for c in _children(_value(loc), field)
            if isinstance(_value(loc), dict)
        ]
    if index:
        part = index
        return lambda locs: [c for loc in locs for c in _children(_value(loc), part)]
    return lambda locs: [c for loc in locs for c in _children(_value(loc), "*")]


def _literal(text: str, expression: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(
            f"jq path {expression!r}: {text!r} is not a JSON literal",
            hint="quote strings with double quotes",
        ) from exc
