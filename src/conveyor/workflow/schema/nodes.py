"""YAML text to nodes that keep their line and column, read the way GitHub reads workflows.

GitHub reads workflow YAML with the YAML 1.2 core schema (so `on`, `yes` and `no` are
strings, `0o17` is octal, `12_345` is a string) and accepts explicit tags only from the core
schema. PyYAML's resolver is YAML 1.1, so this module reads PyYAML's *events* (from the C
parser when available) and resolves plain scalars itself.

Aliases (GitHub reads them since August 2025, actions/runner#1182) resolve to the anchored
node itself, so an error inside aliased content is reported where the anchor's content is
written, as GitHub's parsers do (both replay the anchored events with their own positions).
The YAML 1.1 merge key `<<` is an ordinary key, as on GitHub. A file whose aliases expand
past `MAX_NODES` (GitHub's limit of one million parse events) is not read: an alias bomb
would otherwise make every later check walk billions of nodes.

Called by `reader` (validation), the semantic checkers and the `build_*` modules.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, TypeAlias

import yaml

from conveyor.workflow.schema.positions import Cursor, content_start
from conveyor.workflow.schema.problems import Sink

ScalarValue: TypeAlias = str | int | float | bool | None

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_NULL = re.compile(r"^(~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_OCT = re.compile(r"^0o[0-7]+$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"^\.(nan|NaN|NAN)$")
_STYLES = {"'": "SingleQuoted", '"': "DoubleQuoted", "|": "Literal", ">": "Folded"}
#: GitHub's `ParseOptions.MaxParseEvents`; here counted as nodes after alias expansion
MAX_NODES = 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Scalar:
    """A scalar with its YAML 1.2 core value; `style` is PyYAML's (None when plain)."""

    value: ScalarValue
    line: int
    col: int
    end_line: int
    style: str | None = None

    @property
    def text(self) -> str:
        """The value as GitHub's string coercion writes it (null is '')."""
        return literal_text(self.value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Seq:
    """A YAML sequence and where it starts."""

    items: tuple[Node, ...]
    line: int
    col: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Map:
    """A YAML mapping (pairs in file order) and where it starts."""

    pairs: tuple[tuple[Node, Node], ...]
    line: int
    col: int

    def get(self, key: str) -> Node | None:
        """The value of the first entry whose key is exactly `key`."""
        for k, v in self.pairs:
            if isinstance(k, Scalar) and k.value == key:
                return v
        return None

    def items(self) -> list[tuple[Scalar, Node]]:
        """Entries whose key is a scalar (others were reported by the reader)."""
        return [(k, v) for k, v in self.pairs if isinstance(k, Scalar)]


Node: TypeAlias = Scalar | Seq | Map


def literal_text(value: ScalarValue) -> str:
    """GitHub's string form of a YAML literal: null '', booleans lower-case, JS numbers."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _number_text(value)
    return str(value)


def _number_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    mantissa, sep, exponent = text.partition("e")
    if not sep:
        return text
    sign = "-" if exponent.startswith("-") else "+"
    return f"{mantissa}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"


def resolve_plain(text: str) -> ScalarValue:
    """Resolve an untagged plain scalar with the YAML 1.2 core schema."""
    if _NULL.match(text):
        return None
    if _BOOL.match(text):
        return text.lower() == "true"
    if _INT.match(text):
        return int(text)
    if _OCT.match(text):
        return int(text[2:], 8)
    if _HEX.match(text):
        return int(text[2:], 16)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return -math.inf if text.startswith("-") else math.inf
    if _NAN.match(text):
        return math.nan
    return text


def parse_yaml(text: str, sink: Sink) -> Node | None:
    """Parse one YAML document; syntax errors and unsupported features go to `sink`."""
    try:
        events = list(yaml.parse(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = exc.problem or exc.context or "invalid YAML"
        sink.add(line, col, f"Invalid YAML: {problem}", "yaml")
        return None
    except yaml.YAMLError as exc:
        sink.add(0, 0, f"Invalid YAML: {exc}", "yaml")
        return None
    return _Composer(events, sink, text).document()


class _Unreadable(Exception):
    """Raised out of the composer on an undefined alias or one expanding past `MAX_NODES`.

    The problem is already in the sink; like a syntax error, the file is not read further.
    """


class _Composer:
    """Builds nodes from a flat event list (recursive; depth is bounded by the YAML).

    `_anchors` maps each anchor to its node and how many nodes it expands to; `_count` is
    the running total after expansion, checked against `MAX_NODES`.
    """

    def __init__(self, events: list[Any], sink: Sink, text: str) -> None:
        self._events = events
        self._pos = 0
        self._sink = sink
        self._text = text
        self._anchors: dict[str, tuple[Node, int]] = {}
        self._count = 0

    def document(self) -> Node | None:
        roots: list[Node] = []
        starts: list[tuple[int, int]] = []
        for index, event in enumerate(self._events):
            if index < self._pos:
                continue
            if isinstance(event, yaml.DocumentStartEvent):
                self._pos = index + 1
                if isinstance(self._events[self._pos], yaml.DocumentEndEvent):
                    continue
                try:
                    roots.append(self._root(event))
                except _Unreadable:
                    return None
                # GitHub's parser names a second document at its `---` line.
                mark, node = event.start_mark, roots[-1]
                start = (node.line, node.col)
                if event.explicit and mark is not None:
                    start = (mark.line + 1, mark.column + 1)
                starts.append(start)
        if len(roots) > 1:
            line, col = starts[1]
            self._sink.add(line, col, "Multiple YAML documents are not supported", "yaml")
        return roots[0] if roots else None

    def _root(self, start: Any) -> Node:
        node = self._node()
        empty = isinstance(node, Scalar) and node.value is None and node.style is None
        if empty and start.explicit and start.end_mark is not None:
            # A document that is only `---`: GitHub's parser places its empty value
            # right after the marker, not on the next line.
            mark = start.end_mark
            return Scalar(
                value=None, line=mark.line + 1, col=mark.column + 1, end_line=mark.line + 1
            )
        return node

    def _next(self) -> Any:
        event = self._events[self._pos]
        self._pos += 1
        return event

    def _node(self) -> Node:
        event = self._next()
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event)
        before = self._count
        self._count += 1
        node = self._build(event)
        if event.anchor is not None:
            self._anchors[event.anchor] = (node, self._count - before)
        return node

    def _alias(self, event: Any) -> Node:
        line, col = event.start_mark.line + 1, event.start_mark.column + 1
        found = self._anchors.get(event.anchor)
        if found is None:
            # Also an alias inside its own anchor's node: YAML allows no cycles.
            self._sink.add(
                line, col, f"Invalid YAML: found undefined alias '{event.anchor}'", "yaml"
            )
            raise _Unreadable
        node, size = found
        self._count += size
        if self._count > MAX_NODES:
            self._sink.add(
                line,
                col,
                f"The aliases expand to more than {MAX_NODES:,} YAML nodes (GitHub's limit); the "
                f"file is not read. The alias '*{event.anchor}' crosses it: nest fewer aliases",
                "yaml-alias",
            )
            raise _Unreadable
        return node

    def _build(self, event: Any) -> Node:
        start = self._cursor(event)
        if event.anchor is not None:
            end: Any = event.end_mark
            limit = end.index if isinstance(event, yaml.ScalarEvent) else len(self._text)
            start = content_start(self._text, start, limit)
        line, col = start.line, start.col
        if isinstance(event, yaml.ScalarEvent):
            return self._scalar(event, start)
        if isinstance(event, yaml.SequenceStartEvent):
            self._check_collection_tag(event, "seq", line, col)
            items: list[Node] = []
            while not isinstance(self._events[self._pos], yaml.SequenceEndEvent):
                items.append(self._node())
            self._pos += 1
            return Seq(items=tuple(items), line=line, col=col)
        self._check_collection_tag(event, "map", line, col)
        pairs: list[tuple[Node, Node]] = []
        while not isinstance(self._events[self._pos], yaml.MappingEndEvent):
            key = self._node()
            pairs.append((key, self._node()))
        self._pos += 1
        return Map(pairs=tuple(pairs), line=line, col=col)

    @staticmethod
    def _cursor(event: Any) -> Cursor:
        mark = event.start_mark
        return Cursor(index=mark.index, line=mark.line + 1, col=mark.column + 1)

    def _check_collection_tag(self, event: Any, kind: str, line: int, col: int) -> None:
        if event.tag is not None and event.tag != _TAG + kind:
            self._sink.add(line, col, f"Unexpected tag '{event.tag}'", "yaml-tag")

    def _scalar(self, event: Any, start: Cursor) -> Scalar:
        line, col = start.line, start.col
        end_line = event.end_mark.line + 1
        text: str = event.value
        style = event.style or None
        tag = event.tag if event.tag not in (None, "!") else None
        value: ScalarValue = text
        if tag is None:
            value = resolve_plain(text) if style is None else text
        else:
            value = self._tagged(tag, text, style, line, col)
        return Scalar(value=value, line=line, col=col, end_line=end_line, style=style)

    def _tagged(self, tag: str, text: str, style: str | None, line: int, col: int) -> ScalarValue:
        if tag == _TAG + "str":
            return text
        kind = tag.removeprefix(_TAG)
        if kind not in ("null", "bool", "int", "float"):
            self._sink.add(line, col, f"Unexpected tag '{tag}'", "yaml-tag")
            return text
        if style is not None:
            self._sink.add(
                line,
                col,
                f"The scalar style '{_STYLES.get(style, style)}' on line {line} and column "
                f"{col} is not valid with the tag '{tag}'",
                "yaml-tag",
            )
            return text
        value = resolve_plain(text)
        ok = {
            "null": value is None,
            "bool": isinstance(value, bool),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool),
        }[kind]
        if not ok:
            self._sink.add(
                line,
                col,
                f"The value '{text}' on line {line} and column {col} is invalid for the type "
                f"'{tag}'",
                "yaml-tag",
            )
            return text
        return float(value) if kind == "float" and isinstance(value, int) else value
