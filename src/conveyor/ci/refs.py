"""Which commit a `workflow_dispatch` runs, resolved exactly (issue 12, finding 10).

`git rev-parse main` prefers `refs/tags/main` over `refs/heads/main` (git's ref lookup order),
so a tag named like a protected branch used to run its own commit under the branch's name
and pass the environment's `branches:` rule. Here a short name is looked up as
`refs/heads/<name>` and only then as `refs/tags/<name>` (GitHub accepts both), a full
`refs/heads/…` or `refs/tags/…` is taken as written, and nothing else is accepted; the
name is checked as `git check-ref-format` does (no `~`, `^`, `:`, `..`, `@{`, …, so no
revision expression) and handed to `git rev-parse --verify --end-of-options`. The event's
ref is the full ref found, so branch rules see a tag as a tag. Called by `CIService.dispatch`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from conveyor.ci.errors import CIError, NotFound
from conveyor.core.gitargs import ref_name_problem

__all__ = ["ResolvedRef", "candidates", "ref_name_problem", "resolve"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedRef:
    ref: str  # refs/heads/<name> or refs/tags/<name>
    sha: str


def candidates(ref: str) -> tuple[str, ...]:
    """The full refs `ref` may name, in the order they are tried."""
    if ref.startswith(("refs/heads/", "refs/tags/")):
        return (ref,)
    if ref.startswith("refs/"):
        return ()
    return (f"refs/heads/{ref}", f"refs/tags/{ref}")


def resolve(git_dir: Path, ref: str) -> ResolvedRef:
    """The branch or tag `ref` names and its commit; `NotFound` when there is none."""
    problem = ref_name_problem(ref)
    if problem:
        raise CIError(f"ref {ref[:80]!r} {problem}")  # answered 400
    for full in candidates(ref):
        sha = commit_of(git_dir, full)
        if sha is not None:
            return ResolvedRef(ref=full, sha=sha)
    raise NotFound(f"no branch or tag {ref!r} (give a branch, a tag, or refs/heads/… refs/tags/…)")


def commit_of(git_dir: Path, ref: str) -> str | None:
    """The commit the full ref `ref` points at in `git_dir`, or None (also used by
    `ci.webhooks` to check that a delivery's commit is on its ref)."""
    done = subprocess.run(
        [
            "git",
            "--git-dir",
            str(git_dir),
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{ref}^{{commit}}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() if done.returncode == 0 else None
