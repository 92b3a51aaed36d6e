"""Fetch: Git sources through a local mirror cache (`conveyor.clients.gitmirror`).

`Sources` keeps one mirror per repository URL, resolves `targetRevision` (branch, tag,
SHA, HEAD) to a commit, and exports an app's path into a directory the renderers read.
Exports are keyed by the path's tree id: a commit that touches one app yields a new
export for that app only; every other app keeps its directory and its render cache
entry. Kustomize sources may reach outside their path (`../base`), so they are exported
whole, keyed by the commit.

A Git outage raises `SourceError`; the reconciler keeps the last good revision running
and reports the error (`last_good`). Called by `reconcile.reconciler` and `rollback`.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from conveyor.clients.errors import GitError
from conveyor.clients.gitmirror import GitMirror
from conveyor.core.gitargs import UnsafeArgument
from conveyor.reconcile.errors import SourceError

log = logging.getLogger(__name__)
BATCH_EXPORT_THRESHOLD = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkout:
    """An exported path at a revision: `root / path` holds the app's files."""

    revision: str
    root: Path
    path: str
    key: str  # the render cache key for this content (tree id, or commit for whole exports)

    @property
    def directory(self) -> Path:
        return (
            self.root / self.path.strip("/") if self.path.strip("/") not in ("", ".") else self.root
        )


class Sources:
    """Mirrors, resolved revisions and exports under one cache directory."""

    def __init__(self, cache_dir: Path, *, timeout: float = 60.0) -> None:
        self.cache_dir = cache_dir
        self.timeout = timeout
        self._mirrors: dict[str, GitMirror] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._resolved: dict[tuple[str, str], str] = {}
        self._trees: dict[tuple[str, str, str], str | None] = {}
        self._exports: dict[tuple[str, str], Path] = {}
        self.last_good: dict[tuple[str, str], str] = {}

    def mirror(self, url: str) -> GitMirror:
        if url not in self._mirrors:
            self._mirrors[url] = GitMirror(url, self.cache_dir, timeout=self.timeout)
        return self._mirrors[url]

    async def fetch(self, url: str) -> None:
        """Update the mirror; forget resolutions made before this fetch."""
        lock = self._locks.setdefault(url, asyncio.Lock())
        async with lock:
            try:
                await self.mirror(url).fetch()
            except GitError as exc:
                raise SourceError(
                    f"cannot fetch {exc.argv[-1] if exc.argv else url}: {exc.stderr or exc}"
                ) from exc
            except UnsafeArgument as exc:  # repoURL `--upload-pack=…`, `ext::…` (issue 12)
                raise SourceError(f"cannot fetch: {exc}") from exc
            for key in [k for k in self._resolved if k[0] == url]:
                del self._resolved[key]

    async def resolve(self, url: str, revision: str) -> str:
        """The commit for `revision` in the (already fetched) mirror."""
        key = (url, revision)
        if key not in self._resolved:
            if not self.mirror(url).exists:
                raise SourceError(f"repository {url} has never been fetched")
            try:
                self._resolved[key] = await self.mirror(url).resolve(revision)
            except GitError as exc:
                raise SourceError(str(exc.stderr or exc)) from exc
            self.last_good[key] = self._resolved[key]
        return self._resolved[key]

    async def prefetch_trees(self, url: str, sha: str, paths: list[str]) -> None:
        """Resolve the tree ids of many paths with one git process (one per pass)."""
        missing = [p for p in paths if (url, sha, p) not in self._trees]
        if not missing:
            return
        try:
            ids = await self.mirror(url).tree_ids(sha, missing)
        except GitError as exc:
            raise SourceError(str(exc.stderr or exc)) from exc
        for path in missing:
            self._trees[(url, sha, path)] = ids.get(path.strip("/")) or ids.get(path)

    async def prefetch_exports(self, url: str, sha: str, paths: list[str]) -> None:
        """When many paths lack an export (a cold start, or a commit touching many apps),
        export the whole commit with one `git archive` instead of one per path."""
        await self.prefetch_trees(url, sha, paths)
        missing = {
            f"tree-{tree}"
            for path in paths
            if (tree := self._trees.get((url, sha, path))) is not None
            and (url, f"tree-{tree}") not in self._exports
        }
        if len(missing) < BATCH_EXPORT_THRESHOLD:
            return
        whole = await self.checkout(url, sha, ".", whole=True)
        for key in missing:
            self._exports[(url, key)] = whole.root

    async def checkout(self, url: str, sha: str, path: str, *, whole: bool) -> Checkout:
        """Export `path` at `sha` (or the whole commit when `whole`), reusing earlier exports."""
        if whole:
            key = f"commit-{sha}"
        else:
            await self.prefetch_trees(url, sha, [path])
            tree = self._trees[(url, sha, path)]
            if tree is None:
                raise SourceError(f"path {path!r} does not exist at {sha[:12]} in {url}")
            key = f"tree-{tree}"
        # A path export holds only `root/path`; two paths with the same tree id (identical
        # contents) share the id but not the layout, so the path is part of its name.
        slot = key if whole else f"{key}-{hashlib.sha256(path.encode()).hexdigest()[:8]}"
        root = self._exports.get((url, key)) or self._exports.get((url, slot))
        if root is None:
            digest = hashlib.sha256(url.encode()).hexdigest()[:16]
            root = self.cache_dir / "exports" / digest / slot
            if not root.exists():
                try:
                    await self.mirror(url).export(sha, "." if whole else path, root)
                except GitError as exc:
                    raise SourceError(str(exc.stderr or exc)) from exc
            self._exports[(url, slot)] = root
        return Checkout(revision=sha, root=root, path=path, key=key)
