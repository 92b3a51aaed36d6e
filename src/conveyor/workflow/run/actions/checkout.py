"""Built-in `actions/checkout`: fill a job's workspace with the event's commit.

Called by the step executor (`conveyor.workflow.run`) when a step `uses: actions/checkout@…`
and no vendored copy of the real action exists. This is the part issue 2 needs: the run's
own repository at the event's commit (or the uncommitted working tree with `--worktree`),
honouring `ref`, `path`, `fetch-depth` and `clean`; or a named repository (`repository:`,
see `_source_repo`), fetched with `token` when it comes from a Git server.

Like the real action it leaves a Git repository whose `origin` is the source, on a local
branch named after the event's branch (detached for tags, SHAs and pull requests), with the
history depth asked for (default 1, `0` = all).
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from conveyor.core.errors import ConveyorError
from conveyor.core.gitargs import (
    UnsafeArgument,
    commit_id,
    ref_name,
    remote_url,
    repository_name,
    revision,
)

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


def _source_repo(inputs: Mapping[str, str], event: CheckoutEvent, repo_dir: Path) -> Path | str:
    """The run's own repository, a local repository, or a Git URL for `repository:`.

    `owner/name` other than the run's own is looked up, in order: under
    `$CONVEYOR_REPOSITORIES` (`<dir>/<owner>/<name>[.git]`, a local mirror of hosted
    repositories), then as `<base>/<owner>/<name>.git` where base is `github-server-url` or
    `$CONVEYOR_GIT_URL` (a Git server: fetched over the network with `token`).
    """
    repository = inputs.get("repository", "").strip()
    if not repository or repository.lower() == event.repository.lower():
        return repo_dir
    candidate = Path(repository).expanduser()
    if candidate.is_absolute() and _is_repo(candidate):
        return candidate
    mirrors = os.environ.get("CONVEYOR_REPOSITORIES")
    if mirrors and "/" in repository:
        for name in (repository, f"{repository}.git"):
            if _is_repo(Path(mirrors) / name):
                return Path(mirrors) / name
    base = inputs.get("github-server-url", "").strip() or os.environ.get("CONVEYOR_GIT_URL", "")
    if base and "/" in repository:
        return f"{base.rstrip('/')}/{repository_name(repository)}.git"
    raise CheckoutFailed(
        f"repository {repository!r} is not the run's own repository and is not available "
        "offline: put a clone at $CONVEYOR_REPOSITORIES/<owner>/<name>, set CONVEYOR_GIT_URL "
        "(or `github-server-url`) to a Git server holding it, or give an absolute local path"
    )


def _is_repo(path: Path) -> bool:
    return (path / ".git").exists() or (path / "HEAD").is_file()


def _auth(token: str) -> list[str]:
    """`-c http.extraheader=…` as actions/checkout sets it (basic x-access-token)."""
    if not token:
        return []
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return ["-c", f"http.extraheader=AUTHORIZATION: basic {basic}"]


async def _checkout_url(
    url: str, inputs: Mapping[str, str], dest: Path, depth: str, token: str
) -> dict[str, str]:
    ref = revision(inputs.get("ref", "").strip() or "HEAD")
    url = remote_url(url, local=True, what="repository")
    await _git("init", "-q", "--end-of-options", str(dest), cwd=dest.parent)
    await _git(
        *_auth(token),
        "fetch",
        "-q",
        "--no-tags",
        *(["--depth", depth] if depth != "0" else []),
        "--end-of-options",
        url,
        ref,
        cwd=dest,
    )
    sha = commit_id(await _git("rev-parse", "FETCH_HEAD", cwd=dest))
    await _git("remote", "add", "--end-of-options", "origin", url, cwd=dest)
    if inputs.get("persist-credentials", "true").strip().lower() != "false" and token:
        key, _, value = _auth(token)[1].partition("=")
        await _git("config", "--local", "--end-of-options", key, value, cwd=dest)
    branch = ref.removeprefix("refs/heads/")
    if ref == "HEAD" or (not branch.startswith(("refs/", "v")) and len(branch) != 40):
        name = branch if ref != "HEAD" else "main"
        head = ""
        if ref == "HEAD":
            head = await _git(
                *_auth(token), "ls-remote", "--symref", "--end-of-options", url, "HEAD", cwd=dest
            )
        for line in head.splitlines():
            if line.startswith("ref: refs/heads/"):
                name = line.split()[1].removeprefix("refs/heads/")
        await _git("checkout", "-q", "-B", ref_name(name, what="branch"), commit_id(sha), cwd=dest)
        return {"ref": f"refs/heads/{name}", "commit": sha}
    await _git("checkout", "-q", "--detach", commit_id(sha), cwd=dest)
    return {"ref": ref, "commit": sha}


async def _resolve(ref: str, source: Path) -> str:
    for candidate in (ref, f"refs/remotes/origin/{ref}", f"refs/tags/{ref}"):
        try:
            return commit_id(
                await _git(
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    "--end-of-options",
                    f"{candidate}^{{commit}}",
                    cwd=source,
                )
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


async def _fetch_into(dest: Path, source: Path, sha: str, depth: str, workspace: Path) -> None:
    await _git("init", "-q", "--end-of-options", str(dest), cwd=workspace)
    url = f"file://{source.resolve()}"
    await _git(
        "fetch",
        "-q",
        "--no-tags",
        *(["--depth", depth] if depth != "0" else []),
        "--end-of-options",
        url,
        sha,
        cwd=dest,
    )
    await _git("remote", "add", "--end-of-options", "origin", str(source.resolve()), cwd=dest)


async def checkout(
    inputs: Mapping[str, str],
    *,
    workspace: Path,
    event: CheckoutEvent,
    repo_dir: Path,
    worktree: bool,
) -> dict[str, str]:
    """Check out the commit into `workspace[/path]`; returns the action's outputs.

    A `ref`, `repository` or server URL that git could read as an option, or a revision
    expression, fails the step (issue 12, finding 4): they come from workflow files and
    event payloads (`${{ github.head_ref }}`), and reach `git fetch` as positionals."""
    try:
        return await _checkout(
            inputs, workspace=workspace, event=event, repo_dir=repo_dir, worktree=worktree
        )
    except UnsafeArgument as exc:
        raise CheckoutFailed(str(exc)) from exc


async def _checkout(
    inputs: Mapping[str, str],
    *,
    workspace: Path,
    event: CheckoutEvent,
    repo_dir: Path,
    worktree: bool,
) -> dict[str, str]:
    source = _source_repo(inputs, event, repo_dir)
    dest = _destination(inputs, workspace)
    dest.mkdir(parents=True, exist_ok=True)
    if inputs.get("clean", "true").strip().lower() != "false" and any(dest.iterdir()):
        _clean(dest)
    depth = inputs.get("fetch-depth", "1").strip() or "1"
    if not depth.isdigit():
        raise CheckoutFailed(f"fetch-depth must be a whole number, got {depth!r}")
    if isinstance(source, str):
        return await _checkout_url(source, inputs, dest, depth, inputs.get("token", ""))
    ref = revision(inputs.get("ref", "").strip()) if inputs.get("ref", "").strip() else ""
    own = source == repo_dir
    sha = await _resolve(ref, source) if ref else (event.sha if own else "")
    if not sha or sha == _NULL_SHA:
        sha = await _resolve("HEAD", source)
    if not own and not ref:  # another repository: its default branch, as GitHub does
        branch = await _git("symbolic-ref", "--short", "-q", "HEAD", cwd=source)
        await _fetch_into(dest, source, sha, depth, workspace)
        await _git("checkout", "-q", "-B", ref_name(branch), commit_id(sha), cwd=dest)
        return {"ref": f"refs/heads/{branch}", "commit": sha}
    await _fetch_into(dest, source, sha, depth, workspace)
    event_ref = ref or event.ref
    if event_ref.startswith("refs/heads/") and not ref:
        branch = event_ref.removeprefix("refs/heads/")
        await _git("checkout", "-q", "-B", ref_name(branch), commit_id(sha), cwd=dest)
    else:
        await _git("checkout", "-q", "--detach", commit_id(sha), cwd=dest)
    if worktree and source == repo_dir:
        await _overlay_worktree(source, dest)
    return {"ref": event_ref, "commit": sha}
