"""The action store: vendored copies of remote actions and reusable workflows, offline.

Called by `resolve` (to find `owner/repo[/path]@ref`), by `conveyor.workflow.run.selection`
(remote reusable workflows) and by `conveyor.app.cmd_actions` (`vendor`, `list`, `needed`).
Layout of the store directory (`--action-dir`, `CONVEYOR_ACTIONS`, else
`$CONVEYOR_HOME/actions`, else `~/.conveyor/actions`):

    <store>/<owner>/<repo>@<ref>/...      a vendored tree (action.yml at its root or in a subpath)
    <store>/<owner>/<repo>.git            a Git mirror; a ref is extracted on first use

Names are matched case-insensitively on owner and repo, as GitHub does; refs exactly.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from conveyor.clients.git import Git
from conveyor.core.errors import UserError

ENV_VARIABLE = "CONVEYOR_ACTIONS"


class StoreError(UserError):
    """Vendoring or extracting an action failed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRef:
    """`owner/repo[/path]@ref`, parsed."""

    owner: str
    repo: str
    path: str
    ref: str

    @property
    def name(self) -> str:
        """`owner/repo[/path]` in lower case (what built-ins are keyed by)."""
        base = f"{self.owner}/{self.repo}".lower()
        return f"{base}/{self.path}" if self.path else base

    @property
    def spec(self) -> str:
        """`owner/repo@ref` (what `conveyor actions vendor` takes)."""
        return f"{self.owner}/{self.repo}@{self.ref}"


def parse_ref(uses: str) -> ActionRef | None:
    """Parse a remote `uses:`; None for `./local`, `docker://` or a malformed value."""
    if uses.startswith(("./", "docker://", "/")) or "@" not in uses:
        return None
    name, _, ref = uses.partition("@")
    parts = name.split("/")
    if len(parts) < 2 or not parts[0] or not parts[1] or not ref:
        return None
    return ActionRef(owner=parts[0], repo=parts[1], path="/".join(parts[2:]), ref=ref)


def default_store() -> Path:
    """The store directory from the environment (see the module docstring)."""
    given = os.environ.get(ENV_VARIABLE)
    if given:
        return Path(given).expanduser().resolve()
    home = os.environ.get("CONVEYOR_HOME")
    return (Path(home) if home else Path.home() / ".conveyor") / "actions"


def _entry_dir(root: Path, owner: str, repo: str) -> Path | None:
    if not root.is_dir():
        return None
    for child in root.iterdir():
        if child.name.lower() == owner.lower() and child.is_dir():
            return child
    return None


class ActionStore:
    """One store directory; `find` never touches the network."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or default_store()

    def _tree(self, ref: ActionRef) -> Path | None:
        owner_dir = _entry_dir(self.root, ref.owner, ref.repo)
        if owner_dir is None:
            return None
        wanted = f"{ref.repo}@{ref.ref}".lower()
        mirror = None
        for child in owner_dir.iterdir():
            if child.name.lower() == wanted and child.is_dir():
                return child
            if child.name.lower() == f"{ref.repo}.git".lower():
                mirror = child
        if mirror is not None:
            return self._extract(mirror, owner_dir / f"{ref.repo}@{ref.ref}", ref.ref)
        return None

    def tree(self, ref: ActionRef) -> Path | None:
        """The vendored copy of `owner/repo@ref` (whatever its subpath), or None."""
        return self._tree(ref)

    def find(self, ref: ActionRef) -> Path | None:
        """The directory of the action (its subpath included), or None when not vendored."""
        tree = self._tree(ref)
        if tree is None:
            return None
        target = tree / ref.path if ref.path else tree
        return target if target.exists() else None

    def _extract(self, mirror: Path, dest: Path, ref: str) -> Path | None:
        commit = Git(mirror).commit_of(ref)
        if commit is None:
            return None
        tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest.parent))
        try:
            archive = subprocess.run(
                [
                    "git",
                    "-C",
                    str(mirror),
                    "archive",
                    "--format=tar",
                    "--end-of-options",
                    commit,
                ],
                capture_output=True,
                check=True,
            )
            subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
            if not dest.exists():  # a parallel job may have extracted it first
                tmp.replace(dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dest

    def entries(self) -> list[str]:
        """`owner/repo@ref` of every vendored tree, and `owner/repo (mirror)` entries."""
        out: list[str] = []
        if not self.root.is_dir():
            return out
        for owner in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for child in sorted(owner.iterdir()):
                if child.name.endswith(".git"):
                    out.append(f"{owner.name}/{child.name[:-4]} (git mirror, any ref)")
                elif "@" in child.name and child.is_dir():
                    out.append(f"{owner.name}/{child.name}")
        return out

    def vendor(self, spec: str, source: str) -> Path:
        """Copy `owner/repo@ref` from a directory or a Git repository/URL into the store."""
        ref = parse_ref(spec)
        if ref is None or ref.path:
            raise StoreError(f"{spec!r}: expected owner/repo@ref")
        dest = self.root / ref.owner / f"{ref.repo}@{ref.ref}"
        src = Path(source).expanduser()
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".vendor-", dir=dest.parent))
        try:
            if src.is_dir() and not (src / ".git").exists() and not (src / "HEAD").is_file():
                shutil.copytree(src, staging / "tree", symlinks=True)
            else:
                _git_fetch(source if not src.is_dir() else str(src.resolve()), ref.ref, staging)
            if dest.exists():
                shutil.rmtree(dest)
            (staging / "tree").replace(dest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return dest


def _git_fetch(url: str, ref: str, staging: Path) -> None:
    tree = staging / "tree"
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args], cwd=tree, capture_output=True, text=True, env=env, check=False
        )

    tree.mkdir()
    git("init", "-q")
    fetched = git("fetch", "-q", "--depth", "1", "--end-of-options", url, ref)
    if fetched.returncode != 0:  # a SHA the server will not serve shallowly: fetch everything
        fetched = git("fetch", "-q", "--end-of-options", url, "+refs/*:refs/remotes/src/*")
        if fetched.returncode != 0:
            raise StoreError(f"cannot fetch {url}: {fetched.stderr.strip()}")
        target = ref
    else:
        target = "FETCH_HEAD"
    # checkout takes no --end-of-options (git 2.39); switch does
    done = git("switch", "-q", "--detach", "--end-of-options", target)
    if done.returncode != 0:
        raise StoreError(f"ref {ref!r} not found in {url}: {done.stderr.strip()}")
    shutil.rmtree(tree / ".git")


def vendor_hint(ref: ActionRef, store: Path) -> str:
    """How to add the missing action (part of every 'not vendored' error)."""
    return (
        f"vendor it: `conveyor actions vendor {ref.spec} --from <directory or Git URL of "
        f"{ref.owner}/{ref.repo}>` (store: {store}; or pass --action-dir)"
    )
