"""Git for tests: the one way a test runs the `git` CLI on a repository it builds.

Tests across the suite create repositories, commit, tag, clone and push with the real
`git` program (DESIGN.md: real git for integration). They all call `git` here, or the two
shortcuts built on it (`init`, `commit`), so every one of them runs git the same way:

- a fixed author and committer (`IDENTITY`), so commits never depend on who runs the suite;
- no user or system git config; the caller's other `GIT_*` variables pass through (a test
  sets `GIT_SSL_CAINFO` in `os.environ` so that its own push trusts a test CA);
- a failure raises `GitFailed` (a `CalledProcessError`) whose message includes git's stderr.

`git_env` builds that environment; pass its result as `env=` when a test needs something
else (a HOME, the repository's own `user.name` instead of `IDENTITY`, extra variables).
Product code never imports this module: `conveyor.clients.git` is the product's adapter.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IDENTITY", "GitFailed", "Identity", "commit", "git", "git_env", "init", "write_files"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """Who authors and commits: set through `GIT_AUTHOR_*` and `GIT_COMMITTER_*`."""

    name: str
    email: str

    def env(self) -> dict[str, str]:
        return {
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": self.email,
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": self.email,
        }


IDENTITY = Identity(name="Test", email="test@example.invalid")


class GitFailed(subprocess.CalledProcessError):
    """A git command exited non-zero; `str()` shows the command and git's stderr."""

    def __str__(self) -> str:
        return f"{super().__str__()}\n{self.stderr}"


def git_env(
    *,
    identity: Identity | None = IDENTITY,
    home: Path | None = None,
    extra: Mapping[str, str] | None = None,
    isolated: bool = False,
) -> dict[str, str]:
    """The environment `git` runs with: the caller's (without its `GIT_*` variables when
    `isolated`), without user or system config, plus `identity` (None: the repository's own
    `user.name`/`user.email` decide), `HOME` when given, then `extra`."""
    env = {k: v for k, v in os.environ.items() if not (isolated and k.startswith("GIT_"))}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    if identity is not None:
        env.update(identity.env())
    if home is not None:
        env["HOME"] = str(home)
    env.update(extra or {})
    return env


def git(cwd: Path, *args: str, env: Mapping[str, str] | None = None, strip: bool = True) -> str:
    """Run `git *args` in `cwd` with `env` (default `git_env()`); its stdout, stripped unless
    `strip=False` (to compare file contents shown by `git show`). Raises `GitFailed`."""
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=dict(env) if env is not None else git_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise GitFailed(done.returncode, done.args, done.stdout, done.stderr)
    return done.stdout.strip() if strip else done.stdout


def init(
    path: Path, *, branch: str = "main", bare: bool = False, env: Mapping[str, str] | None = None
) -> Path:
    """Create `path` (and its parents) as a new repository on `branch`; returns `path`."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", *(["--bare"] if bare else []), "-b", branch, env=env)
    return path


def write_files(root: Path, files: Mapping[str, str | None]) -> None:
    """Write each `files` entry under `root` (creating directories); None deletes the file."""
    for name, text in files.items():
        path = root / name
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def commit(
    repo: Path,
    message: str = "commit",
    files: Mapping[str, str | None] | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> str:
    """Write `files` (see `write_files`), stage everything and commit (empty commits too);
    returns the new HEAD's SHA."""
    write_files(repo, files or {})
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "--allow-empty", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD", env=env)
