"""yq-style paths (`.spec.template.spec.containers[0].image`, `.a["dotted.key"]`,
`."quoted"`, `.list[-1]`) to one scalar, and `--set 'FILE:PATH=VALUE'` expressions.

Setting a path changes the scalar in every document of the file where the path exists
(yq's behaviour for multi-document files) and never creates keys: a path that exists
nowhere is an error that says so, since a typo must not silently add a field.

Pure. Called by `planner` for Helm values (key paths declared in `promotion.yaml`, written
without the leading dot: `image.tag`) and for `--set`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from conveyor.promote import yamltext as yt
from conveyor.promote.errors import PromoteInputError
from conveyor.promote.workloads import Change, EditResult

_TOKEN_RE = re.compile(
    r"""\.(?P<bare>[^.\[\]"']+)|\.?"(?P<dq>(?:[^"\\]|\\.)*)"|\.?\[(?P<index>-?\d+)\]"""
    r"""|\.?\[(?P<q>"(?:[^"\\]|\\.)*"|'[^']*')\]"""
)

Step = str | int


@dataclass(frozen=True, slots=True, kw_only=True)
class SetExpr:
    """`--set FILE:PATH=VALUE`, parsed."""

    file: str
    path: tuple[Step, ...]
    text: str  # the path as the user wrote it
    value: str


def parse_path(text: str) -> tuple[Step, ...]:
    """`.a.b[0]` → ("a", "b", 0); `image.tag` (Helm style) is read as `.image.tag`."""
    source = text if text.startswith((".", "[")) else f".{text}"
    steps: list[Step] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN_RE.match(source, pos)
        if match is None:
            raise PromoteInputError(
                f"cannot read path {text!r} at character {pos + 1}",
                hint='write it like .spec.containers[0].image or .a["dotted.key"]',
            )
        steps.append(_step(match))
        pos = match.end()
    if not steps or source == ".":
        raise PromoteInputError(f"empty path {text!r}", hint="name the field, e.g. .image.tag")
    return tuple(steps)


def _step(match: re.Match[str]) -> Step:
    if match["bare"] is not None:
        return match["bare"]
    if match["dq"] is not None:
        return match["dq"].replace('\\"', '"').replace("\\\\", "\\")
    if match["index"] is not None:
        return int(match["index"])
    quoted = match["q"]
    inner = quoted[1:-1]
    return inner.replace('\\"', '"') if quoted[0] == '"' else inner


def parse_set(expr: str) -> SetExpr:
    """`k8s/app.yaml:.spec.replicas=3` → file, path, value (the value may hold `=`)."""
    cut = min((i for i in (expr.find(":."), expr.find(":[")) if i >= 0), default=-1)
    if cut <= 0:
        raise PromoteInputError(
            f"--set {expr!r} has no FILE:PATH part", hint="write --set 'FILE:.path.to.key=VALUE'"
        )
    file, rest = expr[:cut], expr[cut + 1 :]
    depth, quote, eq = 0, "", -1
    for index, char in enumerate(rest):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[]":
            depth += 1 if char == "[" else -1
        elif char == "=" and depth == 0:
            eq = index
            break
    if eq < 0:
        raise PromoteInputError(f"--set {expr!r} has no =VALUE", hint="write FILE:PATH=VALUE")
    path_text = rest[:eq]
    return SetExpr(file=file, path=parse_path(path_text), text=path_text, value=rest[eq + 1 :])


def find(node: yt.Node | None, path: tuple[Step, ...]) -> yt.Node | None:
    for step in path:
        if isinstance(step, int):
            items = list(yt.sequence_items(node))
            if not -len(items) <= step < len(items):
                return None
            node = items[step]
        else:
            node = yt.mapping_get(node, step)
        if node is None:
            return None
    return node


def get_values(text: str, file: str, path: tuple[Step, ...]) -> list[str]:
    """The scalar at `path` in each document that has one."""
    found = (find(doc, path) for doc in yt.documents(text, file))
    return [value for node in found if (value := yt.scalar_text(node)) is not None]


def set_value(
    text: str, file: str, path: tuple[Step, ...], value: str, *, shown: str
) -> EditResult:
    """Set the scalar at `path` in every document holding it; `found` False when none does."""
    splices: list[yt.Splice] = []
    changes: list[Change] = []
    for doc in yt.documents(text, file):
        node = find(doc, path)
        if node is None:
            continue
        old = yt.scalar_text(node)
        if old is None:
            raise PromoteInputError(
                f"{shown} is a list or mapping, not a value",
                location=yt.location(file, node),
                hint="point the path at a scalar field",
            )
        changes.append(Change(location=yt.location(file, node), old=old, new=value))
        if old != value:
            splices.append(yt.replace_scalar(text, node, value, file=file))
    return EditResult(text=yt.apply(text, splices), changes=tuple(changes), found=bool(changes))
