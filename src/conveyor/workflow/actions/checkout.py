"""Built-in `actions/checkout`: fill a job's workspace with the event's commit.

Called by the step executor (`conveyor.workflow.run`) when a step `uses: actions/checkout@…`
and no vendored copy of the real action exists. This is the part issue 2 needs: the run's
own repository at the event's commit (or the uncommitted working tree with `--worktree`),
honouring `ref`, `path`, `fetch-depth` and `clean`. Named repositories come with the
actions issue (#4); until then a `repository:` other than the run's own, or a local path,
fails with a message saying so.

Like the real action it leaves a Git repository whose `origin` is the source, on a local
branch named after the event's branch (detached for tags, SHAs and pull requests), with the
history depth asked for (default 1, `0` = all).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from conveyor.core.errors import ConveyorError

_NULL_SHA = "0" * 40


class CheckoutFailed(ConveyorError):
    """The checkout step failed; the message says which git command and why."""


class CheckoutEvent(Protocol):
    """What checkout needs of the triggering event (`conveyor.workflow.events.Event`)."""

    @property
    def sha(self) -> str: ...

    @property
    def ref(self) -> str: ...

    @property
    def repository(self) -> str: ...


async def _git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        detail = err.decode(errors="replace").strip().splitlines()
        reason = detail[-1] if detail else f"exit code {proc.returncode}"
        raise CheckoutFailed(f"git {args[0]} failed: {reason}")
    return out.decode(errors="replace").strip()


def _source_repo(inputs: Mapping[str, str], event: CheckoutEvent, repo_dir: Path) -> Path:
    repository = inputs.get("repository", "").strip()
    if not repository or repository.lower() == event.repository.lower():
        return repo_dir
    candidate = Path(repository)
    is_repo = (candidate / ".git").exists() or (candidate / "HEAD").exists()
    if candidate.is_absolute() and is_repo:
        return candidate
    raise CheckoutFailed(
        f"repository {repository!r} is not the run's own repository and is not available "
        "offline; check out another repository with a local path for now"
    )


async def _resolve(ref: str, source: Path) -> str:
    for candidate in (ref, f"refs/remotes/origin/{ref}", f"refs/tags/{ref}"):
        try:
            return await _git(
                "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}", cwd=source
            )
        except CheckoutFailed:
            continue
    raise CheckoutFailed(f"ref {ref!r} was not found in {source}")


def _destination(inputs: Mapping[str, str], workspace: Path) -> Path:
    rel = inputs.get("path", "").strip()
    dest = (workspace / rel).resolve() if rel else workspace
    if not dest.is_relative_to(workspace.resolve()):
        raise CheckoutFailed(f"path {rel!r} is outside the workspace {workspace}")
    return dest


def _clean(dest: Path) -> None:
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


async def _overlay_worktree(source: Path, dest: Path) -> None:
    """Copy uncommitted changes (modified, untracked, deleted) of `source` over `dest`."""
    listed = await _git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=source)
    deleted = await _git("ls-files", "-z", "--deleted", cwd=source)
    gone = {name for name in deleted.split("\0") if name}
    for name in filter(None, listed.split("\0")):
        target = dest / name
        if name in gone:
            target.unlink(missing_ok=True)
            continue
        origin = source / name
        if origin.is_file() or origin.is_symlink():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target, follow_symlinks=False)


async def checkout(
    inputs: Mapping[str, str],
    *,
    workspace: Path,
    event: CheckoutEvent,
    repo_dir: Path,
    worktree: bool,
) -> dict[str, str]:
    """Check out the commit into `workspace[/path]`; returns the action's outputs."""
    source = _source_repo(inputs, event, repo_dir)
    ref = inputs.get("ref", "").strip()
    sha = await _resolve(ref, source) if ref else event.sha
    if not sha or sha == _NULL_SHA:
        sha = await _resolve("HEAD", source)
    dest = _destination(inputs, workspace)
    dest.mkdir(parents=True, exist_ok=True)
    if inputs.get("clean", "true").strip().lower() != "false" and any(dest.iterdir()):
        _clean(dest)
    depth = inputs.get("fetch-depth", "1").strip() or "1"
    if not depth.isdigit():
        raise CheckoutFailed(f"fetch-depth must be a whole number, got {depth!r}")
    await _git("init", "-q", str(dest), cwd=workspace)
    fetch = ["fetch", "-q", "--no-tags"]
    if depth != "0":
        fetch += ["--depth", depth]
    await _git(*fetch, f"file://{source.resolve()}", sha, cwd=dest)
    await _git("remote", "add", "origin", str(source.resolve()), cwd=dest)
    event_ref = ref or event.ref
    if event_ref.startswith("refs/heads/") and not ref:
        await _git("checkout", "-q", "-B", event_ref.removeprefix("refs/heads/"), sha, cwd=dest)
    else:
        await _git("checkout", "-q", "--detach", sha, cwd=dest)
    if worktree and source == repo_dir:
        await _overlay_worktree(source, dest)
    return {"ref": event_ref, "commit": sha}
