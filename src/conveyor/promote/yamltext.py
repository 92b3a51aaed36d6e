"""Round-trip YAML editing by splicing: PyYAML's composer gives every node exact start and
end offsets into the text, so an edit replaces only the bytes of one scalar (or inserts
or removes one `key: value`), and comments, key order, quoting, indentation, CRLF line
ends, flow style, anchors and other documents stay byte-identical.

Pure (PyYAML only). Used by `workloads`, `kustomize` and `paths`. The text is the file
decoded as UTF-8 with its line ends untouched (`newline=""` semantics): offsets are
character offsets into that string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import yaml

from conveyor.core.location import Location
from conveyor.promote.errors import PromoteInputError

Node = yaml.Node
MappingNode = yaml.MappingNode
SequenceNode = yaml.SequenceNode
ScalarNode = yaml.ScalarNode

_PREFIX_RE = re.compile(r"(?:[&!][^\s]*\s+)*")


@dataclass(frozen=True, slots=True, kw_only=True)
class Splice:
    """Replace `text[start:end]` with `new` (an insertion when start == end)."""

    start: int
    end: int
    new: str


def documents(text: str, file: str) -> list[Node]:
    """Every document's root node (empty documents skipped); YAML errors carry file:line:col."""
    try:
        return [doc for doc in yaml.compose_all(text, Loader=yaml.SafeLoader) if doc is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = Location(file=file, line=mark.line + 1, col=mark.column + 1) if mark else None
        raise PromoteInputError(
            f"not valid YAML: {exc.problem}", location=where, hint="fix the file first"
        ) from exc
    except yaml.YAMLError as exc:
        raise PromoteInputError(f"{file}: not valid YAML: {exc}") from exc


def location(file: str, node: Node) -> Location:
    return Location(file=file, line=node.start_mark.line + 1, col=node.start_mark.column + 1)


def mapping_get(node: Node | None, key: str) -> Node | None:
    """The value under `key` in a mapping node (the last one when a key repeats)."""
    found: Node | None = None
    if isinstance(node, MappingNode):
        for key_node, value in node.value:
            if isinstance(key_node, ScalarNode) and key_node.value == key:
                found = value
    return found


def mapping_pairs(node: Node) -> list[tuple[ScalarNode, Node]]:
    if not isinstance(node, MappingNode):
        return []
    return [(k, v) for k, v in node.value if isinstance(k, ScalarNode)]


def dig(node: Node | None, *keys: str) -> Node | None:
    for key in keys:
        node = mapping_get(node, key)
    return node


def sequence_items(node: Node | None) -> Iterator[Node]:
    if isinstance(node, SequenceNode):
        yield from node.value


def scalar_text(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) else None


def value_span(text: str, node: Node) -> tuple[int, int]:
    """Offsets of a scalar's own characters, after any `&anchor` or `!tag` prefix."""
    start, end = node.start_mark.index, node.end_mark.index
    prefix = _PREFIX_RE.match(text, start, end)
    if prefix and text[start] in "&!":
        start = prefix.end()
    return start, end


def replace_scalar(text: str, node: Node, value: str, *, file: str) -> Splice:
    """A splice that makes scalar `node` hold `value`, in the node's own quoting style
    (plain stays plain while the value still reads back as the same string, else it is
    double-quoted so `1.10` never becomes the float 1.1)."""
    if not isinstance(node, ScalarNode):
        raise PromoteInputError(
            "expected a single value here, found a list or mapping",
            location=location(file, node),
            hint="point the edit at a scalar field",
        )
    if node.style in ("|", ">"):
        raise PromoteInputError(
            "cannot edit a block scalar (| or >) in place",
            location=location(file, node),
            hint="write the value on one line",
        )
    start, end = value_span(text, node)
    return Splice(start=start, end=end, new=render_scalar(value, node.style))


def render_scalar(value: str, style: str | None) -> str:
    if style == "'" and "\n" not in value:
        return "'" + value.replace("'", "''") + "'"
    if style is None and plain_ok(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def plain_ok(value: str) -> bool:
    """Whether `value` written plain reads back as that same string, in block and flow."""
    if not value or value != value.strip() or "\n" in value:
        return False
    try:
        block: object = yaml.safe_load(f"k: {value}\n")
        flow: object = yaml.safe_load(f"[{value}]")
    except yaml.YAMLError:
        return False
    return block == {"k": value} and flow == [value]


def apply(text: str, splices: Sequence[Splice]) -> str:
    """Apply non-overlapping splices (duplicates, e.g. from YAML aliases, collapse)."""
    unique = sorted({(s.start, s.end, s.new) for s in splices}, reverse=True)
    for start, end, new in unique:
        text = text[:start] + new + text[end:]
    return text


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def line_start(text: str, index: int) -> int:
    return text.rfind("\n", 0, index) + 1


def line_end(text: str, index: int) -> int:
    """The offset just past the newline of the line holding `index` (or the text's end)."""
    found = text.find("\n", index)
    return len(text) if found < 0 else found + 1


def is_flow(node: Node) -> bool:
    return bool(getattr(node, "flow_style", False))


def add_pair(text: str, mapping: Node, key: str, value: str) -> Splice:
    """Insert `key: value` as the last entry of `mapping`, in its style and indentation."""
    pairs = mapping_pairs(mapping)
    last_value = pairs[-1][1]
    rendered = f"{key}: {render_scalar(value, None)}"
    if is_flow(mapping):
        return Splice(
            start=last_value.end_mark.index, end=last_value.end_mark.index, new=f", {rendered}"
        )
    indent = " " * pairs[0][0].start_mark.column
    at = line_end(text, last_value.end_mark.index - 1 if last_value.end_mark.index else 0)
    lead = "" if text[:at].endswith("\n") else newline_of(text)
    return Splice(start=at, end=at, new=f"{lead}{indent}{rendered}{newline_of(text)}")


def remove_pair(text: str, mapping: Node, key: str) -> Splice | None:
    """Remove `key: value` from `mapping` (None when absent); never leaves a stray `- `."""
    pairs = mapping_pairs(mapping)
    index = next((i for i, (k, _) in enumerate(pairs) if k.value == key), None)
    if index is None:
        return None
    key_node, value = pairs[index]
    if is_flow(mapping):
        if index > 0:
            return Splice(
                start=pairs[index - 1][1].end_mark.index, end=value.end_mark.index, new=""
            )
        if len(pairs) > 1:
            return Splice(start=key_node.start_mark.index, end=pairs[1][0].start_mark.index, new="")
        return Splice(start=key_node.start_mark.index, end=value.end_mark.index, new="")
    if index + 1 < len(pairs):
        return Splice(
            start=key_node.start_mark.index, end=pairs[index + 1][0].start_mark.index, new=""
        )
    start = line_start(text, key_node.start_mark.index)
    if text[start : key_node.start_mark.index].strip():  # `- key: v` alone: keep the dash
        start = key_node.start_mark.index
    return Splice(start=start, end=line_end(text, value.end_mark.index - 1), new="")
