"""`toJSON` and `fromJSON` as the runner writes and reads JSON.

`to_json` is the runner's pretty form (two-space indent, `": "` after keys, numbers in
G15, Newtonsoft's string escaping). `from_json` reads one JSON value and, like
Newtonsoft's `JToken.ReadFrom`, ignores text after it; all numbers become doubles.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from conveyor.workflow.expr.coerce import to_str
from conveyor.workflow.expr.errors import evaluation_error
from conveyor.workflow.expr.values import Value

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
for _code in [*range(0x20), 0x85, 0x2028, 0x2029]:
    _ESCAPES.setdefault(chr(_code), f"\\u{_code:04x}")
_TABLE = str.maketrans(_ESCAPES)


def json_string(text: str) -> str:
    """A JSON string literal, escaped as Newtonsoft escapes by default."""
    return '"' + text.translate(_TABLE) + '"'


def _write(value: object, level: int, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(json_string(value))
    elif value is None or isinstance(value, bool | int | float):
        out.append("null" if value is None else to_str(value))
    elif isinstance(value, Mapping):
        if not value:
            out.append("{}")
            return
        out.append("{")
        for position, (key, item) in enumerate(value.items()):
            out.append(("," if position else "") + "\n" + "  " * (level + 1))
            out.append(json_string(key if isinstance(key, str) else to_str(key)) + ": ")
            _write(item, level + 1, out)
        out.append("\n" + "  " * level + "}")
    elif not isinstance(value, list | tuple):
        out.append("{}")  # an object the runner cannot traverse
    else:
        if not value:
            out.append("[]")
            return
        out.append("[")
        for position, item in enumerate(value):
            out.append(("," if position else "") + "\n" + "  " * (level + 1))
            _write(item, level + 1, out)
        out.append("\n" + "  " * level + "]")


def to_json(value: Value) -> str:
    """GitHub's `toJSON(value)`."""
    out: list[str] = []
    _write(value, 0, out)
    return "".join(out)


def from_json(text: str) -> Value:
    """GitHub's `fromJSON(text)`; raises an evaluation `ExpressionError` on bad JSON."""
    decoder = json.JSONDecoder(strict=False, parse_int=float)
    try:
        value, _ = decoder.raw_decode(text, len(text) - len(text.lstrip(" \t\n\r")))
    except (ValueError, RecursionError) as exc:
        raise evaluation_error(f"Error reading JToken from JsonReader: {exc}") from exc
    return value  # type: ignore[no-any-return]
