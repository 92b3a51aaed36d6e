"""`hashFiles(patterns…)` over a workspace: the one part of `expr` that reads files.

GitHub's rules: patterns are relative to the workspace, a leading `!` excludes, matching
files (not directories) outside the workspace are ignored, and the result is the
SHA-256 over the concatenated per-file SHA-256 digests of the matched files in path
order, hex-encoded; '' when nothing matches. The engine passes the `Function` this
builds in `EvalContext.functions` for step-level keys.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from conveyor.workflow.expr.coerce import to_str
from conveyor.workflow.expr.context import Function
from conveyor.workflow.expr.values import Value


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A minimatch-like pattern (`**`, `*`, `?`, `[...]`) as a regex over '/'-paths."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
            continue
        if pattern.startswith("**", index):
            out.append(".*")
            index += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and "]" in pattern[index + 1 :]:
            end = pattern.index("]", index + 1)
            body = pattern[index + 1 : end].replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            index = end + 1
            continue
        else:
            out.append(re.escape(char))
        index += 1
    return re.compile("".join(out) + "(?:/.*)?")


def _relative(pattern: str, workspace: Path) -> str:
    path = pattern.strip()
    if Path(path).is_absolute():
        try:
            return Path(path).relative_to(workspace).as_posix()
        except ValueError:
            return "\0"  # outside the workspace: matches nothing
    return path.removeprefix("./")


def matching_files(workspace: Path, patterns: Sequence[str]) -> list[Path]:
    """Files under `workspace` the patterns select (later `!` patterns exclude), sorted."""
    rules = []
    for pattern in patterns:
        for line in pattern.splitlines():
            if line.strip():
                negate = line.strip().startswith("!")
                text = _relative(line.strip().removeprefix("!"), workspace.resolve())
                rules.append((negate, _glob_regex(text)))
    chosen: list[Path] = []
    root = workspace.resolve()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        name = path.relative_to(root).as_posix()
        included = False
        for negate, regex in rules:
            if regex.fullmatch(name):
                included = not negate
        if included:
            chosen.append(path)
    return chosen


def hash_files(workspace: Path, patterns: Sequence[str]) -> str:
    """GitHub's hashFiles value for `patterns` in `workspace`."""
    files = matching_files(workspace, patterns)
    if not files:
        return ""
    total = hashlib.sha256()
    for path in files:
        total.update(hashlib.sha256(path.read_bytes()).digest())
    return total.hexdigest()


def hash_files_function(workspace: Path) -> Function:
    """The `hashFiles` extension function for a job's workspace."""

    def call(args: Sequence[Value]) -> Value:
        return hash_files(workspace, [to_str(arg) for arg in args])

    return Function(name="hashFiles", min_args=1, max_args=255, call=call)
