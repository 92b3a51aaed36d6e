"""An asyncio adapter over the `git` CLI for the reconciler's read side: a local mirror
cache per repository URL, revision resolution, per-path tree ids, exports of a path at a
commit, and the write of a revert commit for `conveyor app rollback --revert`.

Why tree ids: a commit that touches one app changes the tree id of that app's path only,
so the reconciler re-renders one app instead of all apps of a monorepo (the cost Argo CD
documents under "Monorepo Scaling Considerations").

Each call is one `git` process with a timeout; a failure raises `GitError` (with git's own
stderr, credentials masked), which `conveyor.reconcile.sources` maps to a fetch error.
Called only by `conveyor.reconcile.sources` and `conveyor.reconcile.rollback`.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from conveyor.clients.archives import extract_all
from conveyor.clients.errors import GitError, NothingToCommit
from conveyor.core.gitargs import commit_id, ref_name, remote_url

DEFAULT_TIMEOUT = 60.0
_USERINFO = re.compile(r"(://)[^/@\s]*@")


def mask_url(text: str) -> str:
    """Remove `user:token@` from URLs inside `text`."""
    return _USERINFO.sub(r"\1***@", text)


async def git(
    *args: str,
    cwd: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
) -> bytes:
    """Run `git args…`; return stdout bytes; raise GitError on failure or timeout."""
    argv = ["git", *args]
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=full_env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise GitError([mask_url(a) for a in argv], -1, f"cannot run git: {exc}") from exc
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError as exc:
        proc.kill()
        await proc.wait()
        raise GitError([mask_url(a) for a in argv], -1, f"timed out after {timeout:g}s") from exc
    if proc.returncode != 0:
        raise GitError(
            [mask_url(a) for a in argv],
            proc.returncode or -1,
            mask_url(err.decode(errors="replace")),
        )
    return out


class GitMirror:
    """A bare mirror of one remote under `cache_dir`, fetched on demand."""

    def __init__(self, url: str, cache_dir: Path, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        digest = hashlib.sha256(url.encode()).hexdigest()[:16]
        self.path = cache_dir / "mirrors" / digest
        self.timeout = timeout

    async def fetch(self) -> None:
        """Clone the mirror on first use, else fetch every ref (pruning deleted ones)."""
        if not (self.path / "HEAD").exists():
            url = remote_url(self.url, local=True, what="repoURL")  # before anything is made
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=self.path.parent, prefix=".clone-"))
            await git(
                "clone",
                "--mirror",
                "--quiet",
                "--end-of-options",
                url,
                str(tmp),
                timeout=self.timeout,
            )
            tmp.rename(self.path)
            return
        await git("fetch", "--prune", "--quiet", "origin", cwd=self.path, timeout=self.timeout)

    @property
    def exists(self) -> bool:
        return (self.path / "HEAD").exists()

    async def resolve(self, revision: str) -> str:
        """The commit SHA of a branch, tag, SHA or HEAD in the mirror."""
        rev = revision or "HEAD"
        for candidate in (f"refs/heads/{rev}", f"refs/tags/{rev}", rev):
            try:
                out = await git(
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    "--end-of-options",
                    f"{candidate}^{{commit}}",
                    cwd=self.path,
                    timeout=self.timeout,
                )
            except GitError:
                continue
            return out.decode().strip()
        raise GitError(
            ["git", "rev-parse", "--end-of-options", rev],
            1,
            f"revision {rev!r} not found in {mask_url(self.url)}",
        )

    async def branch_of(self, revision: str) -> str:
        """The branch `revision` names (HEAD: the remote's default branch)."""
        if revision in ("", "HEAD"):
            out = await git("symbolic-ref", "--short", "HEAD", cwd=self.path, timeout=self.timeout)
            return out.decode().strip()
        try:
            await git(
                "rev-parse",
                "--verify",
                "--quiet",
                f"refs/heads/{ref_name(revision, what='targetRevision')}",
                cwd=self.path,
                timeout=self.timeout,
            )
        except GitError as exc:
            raise GitError(
                exc.argv,
                exc.returncode,
                f"{revision!r} is not a branch: cannot commit a revert to it",
            ) from exc
        return revision

    async def tree_ids(self, sha: str, paths: Sequence[str]) -> dict[str, str | None]:
        """Tree (or blob) id of each path at `sha`, from one `git ls-tree`."""
        wanted = [p.strip("/") for p in paths if p.strip("/") not in ("", ".")]
        ids: dict[str, str | None] = dict.fromkeys(wanted)
        if wanted:
            out = await git(
                "ls-tree",
                "-z",
                "--end-of-options",
                sha,
                "--",
                *wanted,
                cwd=self.path,
                timeout=self.timeout,
            )
            for entry in out.decode().split("\0"):
                if entry:
                    meta, _, name = entry.partition("\t")
                    ids[name] = meta.split()[2]
        roots = [p for p in paths if p.strip("/") in ("", ".")]
        if roots:
            out = await git(
                "rev-parse",
                "--end-of-options",
                f"{sha}^{{tree}}",
                cwd=self.path,
                timeout=self.timeout,
            )
            ids.update(dict.fromkeys(roots, out.decode().strip()))
        return ids

    async def export(self, sha: str, path: str, dest: Path) -> None:
        """Write the files under `path` at `sha` into `dest` (atomically: all or nothing)."""
        spec = [] if path.strip("/") in ("", ".") else [path.strip("/")]
        data = await git(  # paths after --end-of-options (archive reads a later `--` as a path)
            "archive",
            "--format=tar",
            "--end-of-options",
            sha,
            *spec,
            cwd=self.path,
            timeout=self.timeout,
        )
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=".export-"))
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            extract_all(tar, tmp)
        try:
            tmp.rename(dest)
        except OSError:  # another task exported the same tree first
            if not dest.exists():
                raise


async def revert_path(
    url: str,
    *,
    branch: str,
    revision: str,
    path: str,
    message: str,
    author: tuple[str, str],
    workdir: Path,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Clone `url`, make `path` on `branch` equal to `path` at `revision` in one new commit
    (a `git revert` of every later change to that path, leaving other paths alone), push
    it, and return the new commit's SHA. `NothingToCommit` when `path` on `branch` already
    equals `path` at `revision` (an earlier revert restored it)."""
    clone = workdir / "revert"
    await git(
        "clone",
        "--quiet",
        "--branch",
        ref_name(branch, what="branch"),
        "--end-of-options",
        remote_url(url, local=True),
        str(clone),
        timeout=timeout,
    )
    who = {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": author[0],
        "GIT_COMMITTER_EMAIL": author[1],
    }
    spec = path.strip("/") or "."
    await git("rm", "-r", "-q", "--ignore-unmatch", "--", spec, cwd=clone, timeout=timeout)
    # checkout takes no --end-of-options (git 2.39): the revision must be a commit id
    await git(
        "checkout", commit_id(revision, what="revision"), "--", spec, cwd=clone, timeout=timeout
    )
    try:
        await git("diff", "--cached", "--quiet", cwd=clone, timeout=timeout)
    except GitError as exc:
        if exc.returncode != 1:  # 1: there are staged changes
            raise
    else:
        raise NothingToCommit(f"{spec} on {branch} already equals it at {revision[:12]}")
    await git("commit", "--quiet", "-m", message, cwd=clone, env=who, timeout=timeout)
    await git("push", "--quiet", "origin", f"HEAD:refs/heads/{branch}", cwd=clone, timeout=timeout)
    out = await git("rev-parse", "HEAD", cwd=clone, timeout=timeout)
    return out.decode().strip()


async def commits_touching(mirror: GitMirror, *, since: str, until: str, path: str) -> list[str]:
    """Commits in `since..until` that changed `path`, newest first."""
    out = await git(
        "rev-list",
        "--end-of-options",
        f"{since}..{until}",
        "--",
        path.strip("/") or ".",
        cwd=mirror.path,
        timeout=mirror.timeout,
    )
    return out.decode().split()
