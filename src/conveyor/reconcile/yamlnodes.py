"""YAML documents with positions: parse once, keep a mark per key path for error messages.

Called by `reconcile.applications` (Application files) and `reconcile.render_directory`
(manifest files) so that errors point at `file:line:col`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from conveyor.core.location import Location

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    data: Any
    file: str
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def where(self, *path: str | int) -> Location:
        """The location of `path`, or of its nearest ancestor that has one."""
        key: Path_ = tuple(path)
        while key and key not in self.marks:
            key = key[:-1]
        line, col = self.marks.get(key, (0, 0))
        return Location(file=self.file, line=line, col=col)


def load_documents(text: str, file: str) -> Iterator[Document]:
    """Every non-empty document of a YAML stream; raises yaml.YAMLError with marks."""
    for node in yaml.compose_all(text, Loader=yaml.SafeLoader):
        marks: dict[Path_, tuple[int, int]] = {}
        _collect(node, (), marks)
        data = yaml.SafeLoader(text).construct_document(node)
        if data is not None:
            yield Document(data=data, file=file, marks=marks)


def _collect(node: yaml.Node, path: Path_, marks: dict[Path_, tuple[int, int]]) -> None:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            marks[(*path, name)] = (key.start_mark.line + 1, key.start_mark.column + 1)
            _collect(value, (*path, name), marks)
            marks[(*path, name)] = (key.start_mark.line + 1, key.start_mark.column + 1)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _collect(item, (*path, index), marks)


def error_location(exc: yaml.YAMLError, file: str) -> Location:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is None:
        return Location(file=file)
    return Location(file=file, line=mark.line + 1, col=mark.column + 1)
