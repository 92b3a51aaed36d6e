"""`--only-if-newer`: is the new image newer than what the file holds?

Three orders, tried in this sequence:
1. an explicit `--build-number`, compared with the `Conveyor-Build-Number` of the last
   promotion of the same image to the same place (recorded in its commit trailers);
2. semantic versions when both tags are semver (`v` prefix allowed, pre-releases order
   below their release, build metadata ignored, as semver.org §11);
3. commit ancestry when both tags are commit SHAs and the app repository is reachable:
   the new one must not be an ancestor of the current one;
4. otherwise the same ancestry test on the `Conveyor-Source-Commit` of the last promotion
   and the new `--source-commit`, when the app repository is reachable.
When none applies the promotion is refused (exit 2): guessing could roll production back.

Pure except through the injected `is_ancestor` callable. Called by `writeback`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from conveyor.promote.errors import PromoteInputError

_SEMVER_RE = re.compile(
    r"v?(?P<core>\d+(?:\.\d+){0,2})(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)
_SHA_RE = re.compile(r"[0-9a-f]{7,40}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    newer: bool
    reason: str


def semver_key(tag: str) -> tuple[tuple[int, ...], tuple[tuple[int, int | str], ...]] | None:
    match = _SEMVER_RE.fullmatch(tag)
    if match is None:
        return None
    core = tuple(int(x) for x in match["core"].split("."))
    core += (0,) * (3 - len(core))
    if match["pre"] is None:
        return core, ((2, 0),)  # a release sorts after every pre-release of it
    pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in match["pre"].split("."))
    return core, ((1, 0), *pre)


def compare_semver(current: str, new: str) -> int | None:
    """-1/0/1 like cmp(current, new) on semver, or None when either is not semver."""
    left, right = semver_key(current), semver_key(new)
    if left is None or right is None:
        return None
    return (left > right) - (left < right)


def decide(
    *,
    current_tag: str | None,
    new_tag: str | None,
    current_build: int | None,
    new_build: int | None,
    is_ancestor: Callable[[str, str], bool | None] | None = None,
    current_source: str | None = None,
    new_source: str | None = None,
) -> Verdict:
    """Whether replacing `current_tag` (built as `current_build`) by `new_tag` moves forward."""
    if new_build is not None:
        if current_build is None:
            return Verdict(newer=True, reason="no earlier build number recorded")
        return Verdict(
            newer=new_build > current_build,
            reason=f"build {new_build} vs current build {current_build}",
        )
    if current_tag is None or new_tag is None or current_tag == new_tag:
        return Verdict(newer=True, reason="nothing to compare")
    order = compare_semver(current_tag, new_tag)
    if order is not None:
        return Verdict(newer=order < 0, reason=f"semver {new_tag} vs current {current_tag}")
    if _SHA_RE.fullmatch(current_tag) and _SHA_RE.fullmatch(new_tag) and is_ancestor:
        older = is_ancestor(new_tag, current_tag)
        if older is not None:
            return Verdict(
                newer=not older, reason=f"commit {new_tag[:12]} vs current {current_tag[:12]}"
            )
    if current_source and new_source and is_ancestor and current_source != new_source:
        older = is_ancestor(new_source, current_source)
        if older is not None:
            return Verdict(
                newer=not older,
                reason=f"source commit {new_source[:12]} vs current {current_source[:12]}",
            )
    raise PromoteInputError(
        f"--only-if-newer cannot order {current_tag!r} and {new_tag!r}",
        hint="use semver tags, give --build-number, or --app-repo for commit-SHA tags",
    )
