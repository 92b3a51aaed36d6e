"""Render: a checked-out source into manifests, cached by (content key, path, options).

Source types (Argo CD's): `directory` (plain manifests), `kustomize` (the real binary)
and `helm` — the seam for a later issue: a `helm` source (or a `Chart.yaml` in the path)
yields a RenderError saying so, never a partial render. Without an explicit type the
files decide: a kustomization file ⇒ kustomize, `Chart.yaml` ⇒ helm, else directory.

The cache key is the export's content key (the tree id of the path, or the commit for
whole exports), so an unchanged app is never re-rendered, whatever else was committed.
`digest` hashes the canonical JSON of the manifests: history entries are keyed by it.
Called by `reconcile.reconciler`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conveyor.reconcile.applications import Source
from conveyor.reconcile.errors import RenderError
from conveyor.reconcile.render_directory import render_directory
from conveyor.reconcile.render_kustomize import KUSTOMIZATION_FILES, render_kustomize
from conveyor.targets.base import Manifest


def detect_kind(source: Source, directory: Path) -> str:
    if source.kind:
        return source.kind
    if any((directory / name).is_file() for name in KUSTOMIZATION_FILES):
        return "kustomize"
    if (directory / "Chart.yaml").is_file():
        return "helm"
    return "directory"


def digest(manifests: Sequence[Manifest]) -> str:
    text = json.dumps(list(manifests), sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    manifests: tuple[Manifest, ...]
    digest: str


@dataclass(slots=True)
class RenderCache:
    """Render results by (content key, path, options); bounded, oldest dropped first."""

    limit: int = 20_000
    timeout: float = 90.0
    hits: int = 0
    _entries: dict[tuple[str, ...], Rendered] = field(default_factory=dict)

    async def render(self, source: Source, *, root: Path, key: str) -> Rendered:
        path = source.path.strip("/") or "."
        cache_key = (
            key,
            path,
            source.kind,
            str(source.recurse),
            source.include,
            source.exclude,
            *source.images,
            source.name_prefix,
        )
        cached = self._entries.get(cache_key)
        if cached is not None:
            self.hits += 1
            return cached
        manifests = await self._render(source, root=root, path=path)
        rendered = Rendered(manifests=tuple(manifests), digest=digest(manifests))
        if len(self._entries) >= self.limit:
            del self._entries[next(iter(self._entries))]
        self._entries[cache_key] = rendered
        return rendered

    async def _render(self, source: Source, *, root: Path, path: str) -> list[Manifest]:
        directory = root / path
        kind = detect_kind(source, directory)
        if kind == "kustomize":
            return await render_kustomize(
                root,
                path,
                images=source.images,
                name_prefix=source.name_prefix,
                timeout=self.timeout,
            )
        if kind == "helm":
            raise RenderError(
                f"{path}: Helm sources are not supported yet",
                hint="render the chart into plain manifests or use Kustomize",
            )
        return render_directory(
            directory,
            recurse=source.recurse,
            include=source.include,
            exclude=source.exclude,
            display_root=root,
        )
