"""Raw values as they come from YAML, before any expression is evaluated.

A field that GitHub lets hold `${{ }}` keeps its YAML value here (`Raw`); the run layer
compiles and evaluates it with `conveyor.workflow.expr` (compiled templates are cached, so
each distinct string is parsed once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

Scalar: TypeAlias = str | int | float | bool | None
Raw: TypeAlias = Scalar | list["Raw"] | dict[str, "Raw"]
RawMap: TypeAlias = Mapping[str, Raw]

EMPTY: RawMap = {}
