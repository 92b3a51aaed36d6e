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

GitHub's reader limits (`limits`) apply as it reads: mappings and sequences nested deeper
than `max_depth` (aliased content counted where the alias stands), or a result larger than
GitHub's byte count allows, stop the file with GitHub's message and no other problem (GitHub
would also report schema errors it met before that point). The depth is checked as the
events arrive, so a file nested thousands deep ends at level 51 (not in libyaml's own
nesting limit at 1,000, nor in Python's recursion limit in the composer).

Called by `reader` (validation), the semantic checkers and the `build_*` modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

import yaml

from conveyor.workflow.schema.limits import (
    DEPTH_EXCEEDED,
    MAX_DEPTH,
    MAX_RESULT_BYTES,
    SIZE_EXCEEDED,
    TOKEN_BYTES,
    scalar_bytes,
)
from conveyor.workflow.schema.positions import Cursor, content_start
from conveyor.workflow.schema.problems import Sink
from conveyor.workflow.schema.scalars import ScalarValue, literal_text, resolve_plain

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
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


@dataclass(frozen=True, slots=True, kw_only=True)
class _Anchor:
    """An anchored node and what each alias to it adds: nodes, nesting levels, bytes."""

    node: Node
    nodes: int
    levels: int
    size: int


_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
_LIBYAML_DEPTH = "exceeded maximum nesting depth"


def _events(text: str, loader: Any, sink: Sink, max_depth: int) -> list[Any] | None:
    """The document's events, or None (reported) once they nest past `max_depth`."""
    events: list[Any] = []
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        events.append(event)
        if isinstance(event, _OPEN):
            depth += 1
            if depth > max_depth:
                _too_deep(sink, event.start_mark, max_depth)
                return None
        elif isinstance(event, _CLOSE):
            depth -= 1
    return events


def _syntax_error(exc: yaml.YAMLError, sink: Sink) -> None:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problem = exc.problem or exc.context or "invalid YAML"
        sink.add(line, col, f"Invalid YAML: {problem}", "yaml")
    else:
        sink.add(0, 0, f"Invalid YAML: {exc}", "yaml")


def parse_yaml(text: str, sink: Sink, *, max_depth: int = MAX_DEPTH) -> Node | None:
    """Parse one YAML document; syntax errors and unsupported features go to `sink`.

    `max_depth` is GitHub's nesting limit for the kind of file (`limits`)."""
    try:
        events = _events(text, _LOADER, sink, max_depth)
    except yaml.MarkedYAMLError as exc:
        if exc.problem != _LIBYAML_DEPTH:
            _syntax_error(exc, sink)
            return None
        # libyaml's scanner looks ahead past its own limit (1,000) before the events reach
        # GitHub's: PyYAML's Python parser looks ahead less and finds where that is
        try:
            events = _events(text, yaml.SafeLoader, sink, max_depth)
        except yaml.YAMLError as again:
            _syntax_error(again, sink)
            return None
    except yaml.YAMLError as exc:
        _syntax_error(exc, sink)
        return None
    if events is None:
        return None
    return _Composer(events, sink, text, max_depth).document()


def _too_deep(sink: Sink, mark: Any, max_depth: int, alias: str = "") -> None:
    """GitHub's message, placed as GitHub places it (on the file, no line); where the limit
    was crossed is added to it."""
    where = f"line {mark.line + 1}, column {mark.column + 1}"
    what = f"the alias '*{alias}' at {where} nests" if alias else f"at {where} the nesting is"
    sink.add(
        0,
        0,
        f"{DEPTH_EXCEEDED} ({what} deeper than {max_depth} mappings and sequences, GitHub's "
        "limit); the file is not read further",
        "yaml-depth",
    )


class _Unreadable(Exception):
    """Raised out of the composer on an undefined alias, or one expanding past `MAX_NODES`,
    GitHub's depth or its result size.

    The problem is already in the sink; like a syntax error, the file is not read further.
    """


class _Composer:
    """Builds nodes from a flat event list (recursive; depth is bounded by the YAML).

    `_anchors` maps each anchor to its node and what it expands to wherever an alias
    repeats it: nodes, nesting levels and GitHub's bytes. `_count` and `_bytes` are the
    running totals after expansion, `_depth` the current nesting, `_peak` the deepest level
    reached inside the node being built.
    """

    def __init__(self, events: list[Any], sink: Sink, text: str, max_depth: int) -> None:
        self._events = events
        self._pos = 0
        self._sink = sink
        self._text = text
        self._max_depth = max_depth
        self._anchors: dict[str, _Anchor] = {}
        self._count = 0
        self._bytes = 0
        self._depth = 0
        self._peak = 0

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
        count, size, peak = self._count, self._bytes, self._peak
        self._count += 1
        self._peak = self._depth
        node = self._build(event)
        if event.anchor is not None:
            self._anchors[event.anchor] = _Anchor(
                node=node,
                nodes=self._count - count,
                levels=self._peak - self._depth,
                size=self._bytes - size,
            )
        self._peak = max(peak, self._peak)
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
        if self._depth + found.levels > self._max_depth:
            _too_deep(self._sink, event.start_mark, self._max_depth, event.anchor)
            raise _Unreadable
        self._peak = max(self._peak, self._depth + found.levels)
        self._add_bytes(found.size, event)
        self._count += found.nodes
        if self._count > MAX_NODES:
            self._sink.add(
                line,
                col,
                f"The aliases expand to more than {MAX_NODES:,} YAML nodes (GitHub's limit); the "
                f"file is not read. The alias '*{event.anchor}' crosses it: nest fewer aliases",
                "yaml-alias",
            )
            raise _Unreadable
        return found.node

    def _add_bytes(self, size: int, event: Any) -> None:
        self._bytes += size
        if self._bytes <= MAX_RESULT_BYTES:
            return
        mark = event.start_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}"
        if isinstance(event, yaml.AliasEvent):
            where = f"the alias '*{event.anchor}' at {where}, which repeats what it names,"
        self._sink.add(
            0,
            0,
            f"{SIZE_EXCEEDED} ({where} takes the file past {MAX_RESULT_BYTES:,} bytes as "
            "GitHub counts them, its limit); the file is not read further",
            "yaml-size",
        )
        raise _Unreadable

    def _build(self, event: Any) -> Node:
        start = self._cursor(event)
        if event.anchor is not None:
            end: Any = event.end_mark
            limit = end.index if isinstance(event, yaml.ScalarEvent) else len(self._text)
            start = content_start(self._text, start, limit)
        line, col = start.line, start.col
        if isinstance(event, yaml.ScalarEvent):
            scalar = self._scalar(event, start)
            self._add_bytes(scalar_bytes(scalar.value), event)
            return scalar
        self._add_bytes(TOKEN_BYTES, event)
        self._depth += 1  # at most max_depth: `parse_yaml` checked the events
        self._peak = max(self._peak, self._depth)
        try:
            return self._collection(event, line, col)
        finally:
            self._depth -= 1

    def _collection(self, event: Any, line: int, col: int) -> Node:
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
