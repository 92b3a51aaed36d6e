"""Two texts side by side, line against line, as the application pages show a manifest
diff (live | desired, or older | newer revision). Pure; called by `routes_apps`.

The texts come from the reconciler already redacted (`reconcile.diff.redact`): this
module only lines them up. Each row holds a left and a right cell; a cell's `kind` is
`del` (only on the left), `add` (only on the right), `same`, or `gap` (no line there);
templates turn kinds into CSS classes, never into inline styles. Long runs of unchanged
lines fold to `CONTEXT` lines around each change (`folded` counts what was left out).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

#: Unchanged lines kept around each change; runs longer than twice this are folded.
CONTEXT = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Cell:
    number: int | None  # 1-based line number, None for a gap
    text: str
    kind: str  # del, add, same, gap


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    left: Cell
    right: Cell
    folded: int = 0  # > 0: a fold marker standing for this many unchanged lines


GAP = Cell(number=None, text="", kind="gap")


def rows(before: str, after: str, *, context: int | None = CONTEXT) -> list[Row]:
    """The two texts lined up (`context` None keeps every unchanged line)."""
    old, new = before.splitlines(), after.splitlines()
    out: list[Row] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += _same(old, i1, i2, j1, context, first=not out, last=i2 == len(old))
            continue
        lefts = [Cell(number=i + 1, text=old[i], kind="del") for i in range(i1, i2)]
        rights = [Cell(number=j + 1, text=new[j], kind="add") for j in range(j1, j2)]
        for k in range(max(len(lefts), len(rights))):
            left = lefts[k] if k < len(lefts) else GAP
            right = rights[k] if k < len(rights) else GAP
            out.append(Row(left=left, right=right))
    return out


def _same(
    old: list[str], i1: int, i2: int, j1: int, context: int | None, *, first: bool, last: bool
) -> list[Row]:
    """Unchanged lines, folded in the middle when the run is long."""

    def row(i: int) -> Row:
        number = j1 + (i - i1) + 1
        return Row(
            left=Cell(number=i + 1, text=old[i], kind="same"),
            right=Cell(number=number, text=old[i], kind="same"),
        )

    if context is None:
        return [row(i) for i in range(i1, i2)]
    keep_head = 0 if first else context
    keep_tail = 0 if last else context
    if i2 - i1 <= keep_head + keep_tail + 1:
        return [row(i) for i in range(i1, i2)]
    head = [row(i) for i in range(i1, i1 + keep_head)]
    tail = [row(i) for i in range(i2 - keep_tail, i2)]
    hidden = i2 - i1 - keep_head - keep_tail
    fold = Row(left=GAP, right=GAP, folded=hidden)
    return [*head, fold, *tail]


def changed(table: list[Row]) -> bool:
    return any(r.left.kind in ("del", "add") or r.right.kind in ("del", "add") for r in table)
