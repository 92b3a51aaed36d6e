"""Render: a checked-out source into manifests, cached by (content key, path, options).

Source types (Argo CD's): `directory` (plain manifests and Jsonnet, `render_directory`),
`kustomize` (the real binary, the Application's `kustomize` block as an overlay), `helm`
(a chart rendered with Helm's library, `render_helm`); a `plugin` source is refused when
the Application is read. Never a partial or empty render that reports Synced
(`render_foreign`). Without an explicit type the files decide: a kustomization file ⇒
kustomize, `Chart.yaml` ⇒ helm, else directory.

The cache key is the export's content key (the tree id of the path, or the commit for
whole exports), so an unchanged app is never re-rendered, whatever else was committed.
`digest` hashes the canonical JSON of the manifests: history entries are keyed by it.
Called by `reconcile.reconciler`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from conveyor.reconcile.appmodel import Source, SourceKind
from conveyor.reconcile.render_directory import render_tree
from conveyor.reconcile.render_helm import helm_request, render_helm
from conveyor.reconcile.render_jsonnet import Limits
from conveyor.reconcile.render_kustomize import KUSTOMIZATION_FILES, render_kustomize
from conveyor.reconcile.sources import Checkout
from conveyor.targets.base import Manifest


def detect_kind(source: Source, directory: Path) -> SourceKind:
    if source.kind:
        return source.kind
    if any((directory / name).is_file() for name in KUSTOMIZATION_FILES):
        return SourceKind.KUSTOMIZE
    if (directory / "Chart.yaml").is_file():
        return SourceKind.HELM
    return SourceKind.DIRECTORY


def digest(manifests: Sequence[Manifest]) -> str:
    text = json.dumps(list(manifests), sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    manifests: tuple[Manifest, ...]
    digest: str


def combine(parts: Sequence[Rendered]) -> Rendered:
    """The manifests of several sources, in order; one part is returned as it is."""
    if len(parts) == 1:
        return parts[0]
    manifests = tuple(m for part in parts for m in part.manifests)
    return Rendered(manifests=manifests, digest=digest(manifests))


_NO_REFS: Mapping[str, Checkout] = MappingProxyType({})


@dataclass(slots=True)
class RenderCache:
    """Render results by (content key, path, options); bounded, oldest dropped first."""

    limit: int = 20_000
    timeout: float = 90.0
    hits: int = 0
    _entries: dict[tuple[str, ...], Rendered] = field(default_factory=dict)

    async def render(
        self,
        source: Source,
        *,
        root: Path,
        key: str,
        refs: Mapping[str, Checkout] = _NO_REFS,
        release: str = "",
        namespace: str = "",
    ) -> Rendered:
        """The source's manifests; `refs` are the checkouts of a multi-source app's `ref`
        sources, whose files `$name/…` paths (Helm value files) point into. `release` and
        `namespace` (the app's name and destination namespace) are a chart's defaults."""
        path = source.path.strip("/") or "."
        lent = tuple(sorted((name, co.key) for name, co in refs.items()))
        cache_key = (key, path, source.cache_key(), *(f"{n}={k}" for n, k in lent))
        cache_key += (release, namespace)
        cached = self._entries.get(cache_key)
        if cached is not None:
            self.hits += 1
            return cached
        manifests = await self._render(
            source, root=root, path=path, refs=refs, release=release, namespace=namespace
        )
        rendered = Rendered(manifests=tuple(manifests), digest=digest(manifests))
        if len(self._entries) >= self.limit:
            del self._entries[next(iter(self._entries))]
        self._entries[cache_key] = rendered
        return rendered

    async def _render(
        self,
        source: Source,
        *,
        root: Path,
        path: str,
        refs: Mapping[str, Checkout],
        release: str,
        namespace: str,
    ) -> list[Manifest]:
        directory = root / path
        kind = detect_kind(source, directory)
        env = build_env(source, app=release, namespace=namespace)
        if kind == "kustomize":
            return await render_kustomize(
                root,
                path,
                spec=source.kustomize,
                env=env,
                timeout=self.timeout,
            )
        if kind == "helm":
            return await render_helm(
                helm_request(
                    source, root=root, path=path, refs=refs, release=release, namespace=namespace
                ),
                timeout=self.timeout,
            )
        return await render_tree(
            directory,
            spec=source.directory,
            root=root,
            env=env,
            limits=Limits(timeout=self.timeout),
        )


def build_env(source: Source, *, app: str = "", namespace: str = "") -> dict[str, str]:
    """Argo CD's build environment as far as the render cache key covers it (Jsonnet vars
    and kustomize values): not `ARGOCD_APP_REVISION`, which would make every commit a new
    render of an unchanged tree."""
    named = {"ARGOCD_APP_NAME": app, "ARGOCD_APP_NAMESPACE": namespace} if app else {}
    return named | {
        "ARGOCD_APP_SOURCE_REPO_URL": source.repo_url,
        "ARGOCD_APP_SOURCE_PATH": source.path,
        "ARGOCD_APP_SOURCE_TARGET_REVISION": source.target_revision,
    }
