"""The values expressions compute with, and their kinds as GitHub names them.

A `Value` is plain JSON-shaped Python data. Numbers may arrive as `int` (from YAML or
JSON contexts) but behave as IEEE doubles, as in GitHub's runner. `FilteredArray` marks
the result of an object filter (`.*`, `[*]`): a later `.name` maps over its elements.
"""

from __future__ import annotations

from typing import TypeAlias

Value: TypeAlias = bool | int | float | str | list["Value"] | dict[str, "Value"] | None


class FilteredArray(list[Value]):
    """The array an object filter produces; indexing it applies the index to each element."""

    __slots__ = ()


def kind_of(value: Value) -> str:
    """GitHub's kind name: Null, Boolean, Number, String, Array or Object."""
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int | float):
        return "Number"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list | tuple):
        return "Array"
    return "Object"


def is_primitive(value: Value) -> bool:
    """Null, booleans, numbers and strings (not arrays or objects)."""
    return value is None or isinstance(value, bool | int | float | str)
