"""`hashFiles(patterns…)` over a workspace: the one part of `expr` that reads files.

GitHub's rules (runner's hashFiles over @actions/glob): patterns are relative to the
workspace, one per line, `#` lines are comments, a leading `!` excludes, a matched
directory stands for the files under it, dotfiles match, files outside the workspace are
ignored; the result is the SHA-256 over the concatenated per-file SHA-256 digests in
the glob's walk order (depth first, names sorted bytewise at each level), hex-encoded;
'' when nothing matches. The engine passes the `Function` this
builds in `EvalContext.functions` for step-level keys.
"""

from __future__ import annotations

import hashlib
import os
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
        for raw in pattern.splitlines():
            line = raw.strip()
            if line and not line.startswith("#"):
                negate = line.startswith("!")
                text = _relative(line.removeprefix("!"), workspace.resolve()).rstrip("/")
                rules.append((negate, _glob_regex(text)))
    chosen: list[Path] = []
    root = workspace.resolve()
    files = (p for p in root.rglob("*") if p.is_file())
    for path in sorted(files, key=lambda p: [os.fsencode(part) for part in p.parts]):
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
