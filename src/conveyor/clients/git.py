"""A small synchronous adapter over the `git` CLI (subprocess), for reading a local repository.

Called by `conveyor.workflow.events` to synthesize event payloads, and later by `promote` and
`reconcile`. Each method is one `git` process (start-up time matters: `conveyor run` of a
one-step workflow must be as fast as act), so callers get batched answers: `head()` returns
the commit, its refs (branch, tags) and its changed files from a single `git log`.
Failures become `GitError` (`raise … from exc`), never a silent empty string.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from conveyor.clients.errors import GitError
from conveyor.core.gitargs import commit_id

ZERO_SHA = "0" * 40
_FIELDS = ("%H", "%P", "%an", "%ae", "%aI", "%cn", "%ce", "%cI", "%D", "%B")
_LOG_FORMAT = "%x1e" + "".join(f"{field}%x00" for field in _FIELDS)


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    """A commit's author or committer."""

    name: str
    email: str
    date: str  # strict ISO 8601 with offset, as GitHub's payloads show timestamps


@dataclass(frozen=True, slots=True, kw_only=True)
class FileChange:
    """One path a commit changed, with git's one-letter status."""

    status: str  # A, M, D, T (renames are split into D + A)
    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Commit:
    """One commit with the refs that point at it and its diff against its first parent."""

    sha: str
    parents: tuple[str, ...]
    author: Person
    committer: Person
    message: str
    refs: tuple[str, ...] = ()  # full names: refs/heads/main, refs/tags/v1, HEAD
    head_branch: str | None = None  # the branch HEAD is on, when this commit is HEAD
    changes: tuple[FileChange, ...] = ()

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(r.removeprefix("refs/tags/") for r in self.refs if r.startswith("refs/tags/"))

    @property
    def first_parent(self) -> str | None:
        return self.parents[0] if self.parents else None


@dataclass(frozen=True, slots=True, kw_only=True)
class BranchInfo:
    """What the repository says its default branch is, and the tips of candidate branches."""

    default: str | None
    tips: dict[str, str]  # short branch name -> sha, for main/master/origin's default


class Git:
    """Read-only git operations on the repository at `repo_dir`."""

    def __init__(self, repo_dir: Path, *, executable: str = "git") -> None:
        self.repo_dir = repo_dir
        self.executable = executable

    def run(
        self, *args: str, ok_codes: Sequence[int] = (0,), env: Mapping[str, str] | None = None
    ) -> str:
        """Run `git -C repo_dir args…` and return stdout; raise GitError on other codes."""
        argv = [self.executable, "-C", str(self.repo_dir), *args]
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
        try:
            done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        except OSError as exc:
            raise GitError(argv, -1, f"cannot run git: {exc}") from exc
        if done.returncode not in ok_codes:
            raise GitError(argv, done.returncode, done.stderr)
        return done.stdout

    def head(self, *, with_changes: bool = True) -> Commit:
        """HEAD's commit, refs, branch and (optionally) changed files: one `git log`."""
        return self.log("HEAD", max_count=1, with_changes=with_changes)[0]

    def log(
        self,
        revs: str,
        *,
        max_count: int | None = None,
        with_changes: bool = True,
    ) -> list[Commit]:
        """Commits of `revs` (e.g. `a..b`), newest first, with their changed files."""
        args = ["log", "-z", "--decorate=full", "--no-color", f"--format={_LOG_FORMAT}"]
        if max_count is not None:
            args.append(f"--max-count={max_count}")
        if with_changes:
            args += ["--name-status", "--no-renames", "--diff-merges=first-parent"]
        out = self.run(*args, "--end-of-options", revs, "--")
        return [_parse_record(record) for record in out.split("\x1e")[1:]]

    def rev_parse(self, rev: str) -> str:
        return self.run(
            "rev-parse", "--verify", "-q", "--end-of-options", f"{rev}^{{commit}}"
        ).strip()

    def commit_of(self, rev: str) -> str | None:
        """The commit `rev` names, or None when it names none (`rev_parse` raises)."""
        out = self.run(
            "rev-parse",
            "--verify",
            "-q",
            "--end-of-options",
            f"{rev}^{{commit}}",
            ok_codes=(0, 1, 128),
        )
        return out.strip() or None

    def current_branch(self) -> str | None:
        """The checked-out branch, or None on a detached HEAD."""
        out = self.run("symbolic-ref", "--quiet", "--short", "HEAD", ok_codes=(0, 1))
        return out.strip() or None

    def tags_at(self, rev: str = "HEAD") -> tuple[str, ...]:
        return tuple(self.run("tag", "--points-at", rev).split())

    def changed_files(self, base: str, head: str) -> tuple[str, ...]:
        """Paths that differ between `base` and `head` (a rename counts as both paths)."""
        out = self.run(
            "diff", "-z", "--name-only", "--no-renames", "--end-of-options", base, head, "--"
        )
        return tuple(path for path in out.split("\0") if path)

    def merge_commit(self, base: str, head: str, *, committer: Person) -> str | None:
        """A merge of `head` into `base` written to the object store without touching the
        work tree, index or any ref (like GitHub's `refs/pull/N/merge` test merge), or None
        when the two conflict or git is older than 2.38 (no `merge-tree --write-tree`).
        Dated by `committer` so the same inputs always give the same commit."""
        try:  # exit 1 means conflicts; anything else: a git without --write-tree
            tree = self.run(
                "merge-tree", "--write-tree", "--no-messages", "--end-of-options", base, head
            ).strip()
        except GitError:
            return None
        who = {
            "GIT_AUTHOR_NAME": committer.name,
            "GIT_AUTHOR_EMAIL": committer.email,
            "GIT_AUTHOR_DATE": committer.date,
            "GIT_COMMITTER_NAME": committer.name,
            "GIT_COMMITTER_EMAIL": committer.email,
            "GIT_COMMITTER_DATE": committer.date,
        }
        message = f"Merge {head} into {base}"
        # commit-tree takes no --end-of-options (git 2.39): the tree is checked instead
        return self.run(
            "commit-tree", "-p", base, "-p", head, "-m", message, commit_id(tree), env=who
        ).strip()

    def merge_base(self, left: str, right: str) -> str | None:
        out = self.run("merge-base", "--end-of-options", left, right, ok_codes=(0, 1))
        return out.strip() or None

    def remote_url(self, remote: str = "origin") -> str | None:
        out = self.run("config", "--get", f"remote.{remote}.url", ok_codes=(0, 1))
        return out.strip() or None

    def branches(self) -> BranchInfo:
        """origin/HEAD's target when known, else `main`/`master` if present: one process."""
        out = self.run(
            "for-each-ref",
            "--format=%(refname)%00%(symref)%00%(objectname)",
            "refs/remotes/origin/HEAD",
            "refs/heads/main",
            "refs/heads/master",
        )
        tips: dict[str, str] = {}
        default: str | None = None
        for line in out.splitlines():
            name, symref, sha = line.split("\0")
            if name == "refs/remotes/origin/HEAD" and symref:
                default = symref.removeprefix("refs/remotes/origin/")
            else:
                tips[name.removeprefix("refs/heads/")] = sha
        if default is None:
            default = next((b for b in ("main", "master") if b in tips), None)
        return BranchInfo(default=default, tips=tips)


def _parse_record(record: str) -> Commit:
    parts = record.split("\0")
    sha, parents, an, ae, ad, cn, ce, cd, decoration, message = parts[: len(_FIELDS)]
    refs, head_branch = _parse_decoration(decoration)
    return Commit(
        sha=sha,
        parents=tuple(parents.split()),
        author=Person(name=an, email=ae, date=ad),
        committer=Person(name=cn, email=ce, date=cd),
        message=message,
        refs=refs,
        head_branch=head_branch,
        changes=_parse_changes(parts[len(_FIELDS) :]),
    )


def _parse_decoration(text: str) -> tuple[tuple[str, ...], str | None]:
    refs: list[str] = []
    head_branch: str | None = None
    for item in filter(None, (part.strip() for part in text.split(","))):
        if item.startswith("HEAD -> "):
            target = item.removeprefix("HEAD -> ")
            head_branch = target.removeprefix("refs/heads/")
            refs += ["HEAD", target]
        else:
            refs.append(item.removeprefix("tag: "))
    return tuple(refs), head_branch


def _parse_changes(tokens: Sequence[str]) -> tuple[FileChange, ...]:
    rest = list(tokens)
    while rest and not rest[0].strip():
        rest.pop(0)
    if rest:
        rest[0] = rest[0].lstrip("\n")
    changes: list[FileChange] = []
    for index in range(0, len(rest) - 1, 2):
        status, path = rest[index], rest[index + 1]
        if not status:
            break
        changes.append(FileChange(status=status[0], path=path))
    return tuple(changes)
