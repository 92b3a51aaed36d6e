"""Reading a repository without a work tree: a commit's files through one long-lived
`git cat-file --batch` process (`Snapshot`), and commit ancestry (`is_ancestor`).

Used by `conveyor.clients.gitwrite` (snapshots of the promotion cache) and by
`conveyor.promote.writeback` (`--only-if-newer` ordering by commit ancestry in the app
repo). Read-only; failures to start git become `ClientError` in the callers' adapters.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


class Snapshot:
    """Files of one commit, read through a single `git cat-file --batch` process."""

    def __init__(self, git_dir: Path, commit: str) -> None:
        self.commit = commit
        env = {**os.environ, "GIT_DIR": str(git_dir), "LC_ALL": "C"}
        self._proc = subprocess.Popen(
            ["git", "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self._trees: dict[str, dict[str, tuple[str, str]]] = {}

    def close(self) -> None:
        if self._proc.stdin:
            self._proc.stdin.close()
        self._proc.wait()
        if self._proc.stdout:
            self._proc.stdout.close()

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _object(self, name: str) -> tuple[str, bytes] | None:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(name.encode() + b"\n")
        self._proc.stdin.flush()
        header = self._proc.stdout.readline().decode().split()
        if len(header) != 3:
            return None
        data = self._proc.stdout.read(int(header[2]) + 1)[:-1]
        return header[1], data

    def _tree(self, path: str) -> dict[str, tuple[str, str]] | None:
        """Entries of directory `path` ('' = root): name → (mode, sha)."""
        if path in self._trees:
            return self._trees[path]
        found = self._object(f"{self.commit}:{path}" if path else f"{self.commit}^{{tree}}")
        if found is None or found[0] != "tree":
            return None
        entries: dict[str, tuple[str, str]] = {}
        data, pos = found[1], 0
        while pos < len(data):
            space = data.index(b" ", pos)
            nul = data.index(b"\0", space)
            sha = data[nul + 1 : nul + 21].hex()
            entries[data[space + 1 : nul].decode()] = (data[pos:space].decode(), sha)
            pos = nul + 21
        self._trees[path] = entries
        return entries

    def entry(self, path: str) -> tuple[str, str] | None:
        parent, _, name = path.rpartition("/")
        tree = self._tree(parent)
        return tree.get(name) if tree is not None else None

    def is_dir(self, path: str) -> bool:
        return path == "" or self._tree(path) is not None

    def mode(self, path: str) -> str:
        found = self.entry(path)
        return found[0] if found else "100644"

    def read(self, path: str) -> bytes | None:
        found = self.entry(path)
        if found is None or not found[0].startswith("100"):
            return None
        obj = self._object(found[1])
        return obj[1] if obj else None

    def files_under(self, path: str) -> list[str]:
        """Every regular file below directory `path`, sorted."""
        tree = self._tree(path)
        if tree is None:
            return []
        files: list[str] = []
        for name, (mode, _) in sorted(tree.items()):
            child = f"{path}/{name}" if path else name
            if mode == "40000":
                files += self.files_under(child)
            elif mode.startswith("100"):
                files.append(child)
        return files


def is_ancestor(repo: Path, older: str, newer: str) -> bool | None:
    """Whether commit `older` is an ancestor of `newer` in `repo`; None when unknown."""
    try:
        done = subprocess.run(
            [
                "git",
                "-C",
                str(repo),
                "merge-base",
                "--is-ancestor",
                "--end-of-options",
                older,
                newer,
            ],
            capture_output=True,
            check=False,
        )
    except OSError:
        return None
    return {0: True, 1: False}.get(done.returncode)
