"""Small conversions from validated nodes to model values, shared by the `build_*` modules.

Called only after `reader` found no problem, so shapes are the schema's; still, nothing
here raises on an odd shape (it returns the empty value instead).
"""

from __future__ import annotations

from conveyor.core.location import Location
from conveyor.workflow.model.values import Raw
from conveyor.workflow.schema.nodes import Map, Node, Scalar, Seq


def raw(node: Node | None) -> Raw:
    """The plain YAML value (keys as GitHub's strings)."""
    if node is None:
        return None
    if isinstance(node, Scalar):
        return node.value
    if isinstance(node, Seq):
        return [raw(item) for item in node.items]
    return raw_map(node)


def raw_map(node: Node | None) -> dict[str, Raw]:
    """A mapping's pairs; expression keys stay templates (the engine evaluates them)."""
    if not isinstance(node, Map):
        return {}
    out: dict[str, Raw] = {}
    for key, value in node.items():
        out[_unique(key.text, out)] = raw(value)
    return out


def _unique(text: str, taken: dict[str, Raw]) -> str:
    """`text`, or for a repeated expression key (two `${{ insert }}`s) the same expression
    with one more space before its `}}`, so neither is lost and both evaluate alike."""
    while text in taken and text.endswith("}}") and "${{" in text:
        text = text[:-2] + " }}"
    return text


def text(node: Node | None) -> str | None:
    """A scalar as GitHub's string (None when absent or not a scalar)."""
    return node.text if isinstance(node, Scalar) else None


def texts(node: Node | None) -> tuple[str, ...] | None:
    """A string or a sequence of strings as a tuple; None when absent."""
    if isinstance(node, Scalar):
        return (node.text,)
    if isinstance(node, Seq):
        return tuple(item.text for item in node.items if isinstance(item, Scalar))
    return None


def flag(node: Node | None, default: bool = False) -> bool:
    if isinstance(node, Scalar) and isinstance(node.value, bool):
        return node.value
    return default


def at(file: str, node: Node) -> Location:
    return Location(file=file, line=node.line, col=node.col)


def field(node: Node | None, key: str) -> Node | None:
    return node.get(key) if isinstance(node, Map) else None
