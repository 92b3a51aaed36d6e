"""GitHub's template schema (`workflow-v1.0.json`, `action-v1.0.json`) as typed definitions.

The schema is data from npm's `@actions/workflow-parser` (installed by `make install` under
`<venv>/node/node_modules`); `CONVEYOR_WORKFLOW_SCHEMA_DIR` points elsewhere. Each definition
is one of: mapping (properties, loose key/value types), sequence (item type), one-of (a list
of definitions, or `allowed-values` constants), or a scalar (string with constant /
require-non-empty, boolean, number, null). `context` lists the named contexts and functions
(`name(min,max)`) an expression at that key may use; children inherit their parent's list.

Read once per process and per file (`load_schema` is cached). Called by `reader`.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from conveyor.core.errors import UserError

_PACKAGE_DIST = ("node", "node_modules", "@actions", "workflow-parser", "dist")
WORKFLOW_SCHEMA = "workflow-v1.0.min.json"
ACTION_SCHEMA = "action-v1.0.min.json"
ANY = "any"


class Kind(StrEnum):
    MAPPING = "mapping"
    SEQUENCE = "sequence"
    ONE_OF = "one-of"
    STRING = "string"
    BOOLEAN = "boolean"
    NUMBER = "number"
    NULL = "null"


SCALAR_KINDS = frozenset({Kind.STRING, Kind.BOOLEAN, Kind.NUMBER, Kind.NULL})


@dataclass(frozen=True, slots=True, kw_only=True)
class Property:
    """A mapping property: its definition name and whether it is required."""

    type: str
    required: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Definition:
    """One schema definition (see the module docstring for the kinds)."""

    name: str
    kind: Kind
    context: tuple[str, ...] = ()
    properties: Mapping[str, Property] = field(default_factory=dict)
    loose_key_type: str | None = None
    loose_value_type: str | None = None
    item_type: str = ANY
    one_of: tuple[str, ...] = ()
    constant: str = ""
    require_non_empty: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Schema:
    """Every definition of one schema file, by name."""

    definitions: Mapping[str, Definition]

    def get(self, name: str) -> Definition:
        return self.definitions[name]

    def of_kind(self, definition: Definition, kind: Kind) -> list[Definition]:
        """`definition` itself or its one-of members of that kind (one level, like GitHub)."""
        if definition.kind == kind:
            return [definition]
        if definition.kind != Kind.ONE_OF:
            return []
        nested = (self.definitions[name] for name in definition.one_of)
        return [d for d in nested if d.kind == kind]

    def scalars(self, definition: Definition) -> list[Definition]:
        """Every scalar definition reachable through nested one-ofs."""
        if definition.kind in SCALAR_KINDS:
            return [definition]
        if definition.kind != Kind.ONE_OF:
            return []
        found: list[Definition] = []
        for name in definition.one_of:
            found.extend(self.scalars(self.definitions[name]))
        return found


def schema_dir() -> Path:
    """Where the schema JSON files are; a `UserError` saying how to install them if absent."""
    override = os.environ.get("CONVEYOR_WORKFLOW_SCHEMA_DIR")
    directory = Path(override) if override else Path(sys.prefix).joinpath(*_PACKAGE_DIST)
    if not (directory / WORKFLOW_SCHEMA).is_file():
        raise UserError(
            f"GitHub's workflow schema is missing: {directory / WORKFLOW_SCHEMA}",
            hint="run `make install` (or `npm install --prefix .venv/node "
            "@actions/workflow-parser`), or set CONVEYOR_WORKFLOW_SCHEMA_DIR",
        )
    return directory


def load_schema(file_name: str) -> Schema:
    """Read and convert one schema file (once per process and directory)."""
    return _load(schema_dir() / file_name)


@functools.cache
def _load(path: Path) -> Schema:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read GitHub's schema {path}: {exc}") from exc
    return parse_schema(raw)


#: Known slips in the published schema, corrected by definition name. In
#: @actions/workflow-parser 0.3.61 `repository-dispatch-string` carries the constant
#: `branch_protection_rule` (a copy-paste slip), so `on: repository_dispatch`, which GitHub
#: runs, would be rejected.
_ERRATA_CONSTANTS = {"repository-dispatch-string": "repository_dispatch"}


def parse_schema(raw: Mapping[str, Any]) -> Schema:
    """Convert the JSON form into definitions, adding GitHub's built-in ones."""
    definitions: dict[str, Definition] = dict(_builtins())
    for name, body in raw["definitions"].items():
        definitions[name] = _definition(name, body)
        if name in _ERRATA_CONSTANTS and definitions[name].kind == Kind.STRING:
            definitions[name] = replace(definitions[name], constant=_ERRATA_CONSTANTS[name])
        for value in body.get("allowed-values", ()):
            key = f"{name}-{value}"
            definitions[key] = Definition(name=key, kind=Kind.STRING, constant=value)
    return Schema(definitions=definitions)


def _builtins() -> dict[str, Definition]:
    scalars = {k: Definition(name=k.value, kind=k) for k in SCALAR_KINDS}
    return {
        **{k.value: d for k, d in scalars.items()},
        "sequence": Definition(name="sequence", kind=Kind.SEQUENCE, item_type=ANY),
        "mapping": Definition(
            name="mapping", kind=Kind.MAPPING, loose_key_type="string", loose_value_type=ANY
        ),
        ANY: Definition(
            name=ANY,
            kind=Kind.ONE_OF,
            one_of=("null", "boolean", "number", "string", "sequence", "mapping"),
        ),
    }


def _definition(name: str, body: Mapping[str, Any]) -> Definition:
    context = tuple(body.get("context", ()))
    if "mapping" in body:
        spec = body["mapping"]
        props = {k: _property(v) for k, v in spec.get("properties", {}).items()}
        return Definition(
            name=name,
            kind=Kind.MAPPING,
            context=context,
            properties=props,
            loose_key_type=spec.get("loose-key-type"),
            loose_value_type=spec.get("loose-value-type"),
        )
    if "sequence" in body:
        item = body["sequence"].get("item-type", ANY)
        return Definition(name=name, kind=Kind.SEQUENCE, context=context, item_type=item)
    if "one-of" in body:
        return Definition(
            name=name, kind=Kind.ONE_OF, context=context, one_of=tuple(body["one-of"])
        )
    if "allowed-values" in body:
        members = tuple(f"{name}-{v}" for v in body["allowed-values"])
        return Definition(name=name, kind=Kind.ONE_OF, context=context, one_of=members)
    if "string" in body:
        spec = body["string"] or {}
        return Definition(
            name=name,
            kind=Kind.STRING,
            context=context,
            constant=spec.get("constant", ""),
            require_non_empty=bool(spec.get("require-non-empty", False)),
        )
    for kind in (Kind.BOOLEAN, Kind.NUMBER, Kind.NULL):
        if kind.value in body:
            return Definition(name=name, kind=kind, context=context)
    raise ValueError(f"schema definition {name!r} has no known type")


def _property(value: str | Mapping[str, Any]) -> Property:
    if isinstance(value, str):
        return Property(type=value)
    return Property(type=value["type"], required=bool(value.get("required", False)))
