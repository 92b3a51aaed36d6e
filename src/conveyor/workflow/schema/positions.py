"""Where an anchored YAML node's content starts, found by walking its source text.

PyYAML's marks put an anchored node at its `&name`; GitHub's npm parser (the oracle of
tests/workflow/oracle) puts it where its content starts, after the anchor, a tag, blanks,
comments and
line breaks, and reports errors in it there, also when an alias replays it elsewhere.
(YamlDotNet, under GitHub's C# reader, marks the `&` like PyYAML; the two differ only for
an anchor written on the line before its block collection.)

Line breaks are libyaml's (CRLF, CR, LF, NEL, LS, PS), so lines agree with PyYAML's marks;
columns count characters from 1. Called by `nodes`. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BREAKS = "\r\n\x85\u2028\u2029"
# What may stand between a node's start mark and its content: properties and blanks.
_PROPERTY = re.compile(
    r"[&!][^\s,\[\]{}]*|[ \t]+|#[^\r\n\x85\u2028\u2029]*|\r\n|[\r\n\x85\u2028\u2029]"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Cursor:
    """A character index in the text and its 1-based line and column."""

    index: int
    line: int
    col: int


def advance(text: str, start: Cursor, index: int) -> Cursor:
    """The cursor at `index` (at or after `start.index`)."""
    line, col, i = start.line, start.col, start.index
    while i < index:
        char = text[i]
        if char in _BREAKS:
            if char == "\r" and text[i + 1 : i + 2] == "\n":
                i += 1
            line, col = line + 1, 1
        else:
            col += 1
        i += 1
    return Cursor(index=index, line=line, col=col)


def content_start(text: str, start: Cursor, limit: int) -> Cursor:
    """Where a node's content begins: past its anchor, tag and blanks, but not past `limit`."""
    i = start.index
    while i < limit:
        found = _PROPERTY.match(text, i)
        if found is None or found.end() == i:
            break
        i = found.end()
    return advance(text, start, min(i, limit))
