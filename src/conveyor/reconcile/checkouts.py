"""The files of each source of an app at its pinned revision, and their render (issue 14).

A Git source is exported by path, or whole when its render may read outside the path
(a kustomization's `../base`, Jsonnet `libs` and `../` imports, a chart's value files or
`file://` dependencies elsewhere); a chart from a Helm repository or an OCI registry
comes from the chart cache; a chart in Git gets its missing dependencies built. `ref`
sources of a multi-source app are exported whole and lent to the others' renders.
Called by `reconcile.steps.render`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from conveyor.reconcile import charts as chart_files
from conveyor.reconcile.appmodel import Application, Source, SourceKind
from conveyor.reconcile.charts import Charts
from conveyor.reconcile.render import RenderCache, Rendered, combine
from conveyor.reconcile.render_kustomize import KUSTOMIZATION_FILES
from conveyor.reconcile.sources import Checkout, Sources

#: Turns one source's render into its clear form (SOPS: `reconcile.decrypt.Decryptor`).
Decrypt = Callable[[Rendered, Path], Awaitable[Rendered]]


async def render_sources(
    app: Application,
    revisions: Sequence[str],
    *,
    sources: Sources,
    charts: Charts,
    renders: RenderCache,
    decrypt: Decrypt | None = None,
) -> Rendered:
    """Every rendering source through the render cache, `ref` sources lent to them; then
    `decrypt` (SOPS documents, issue 17) over each source's cached render."""
    pinned = list(zip(app.sources, revisions, strict=False))
    refs = {
        src.ref: await checkout(src, revision, sources=sources, charts=charts, whole=True)
        for src, revision in pinned
        if src.ref
    }
    parts = []
    for src, revision in pinned:
        if not src.renders:
            continue
        whole = src.kind == SourceKind.KUSTOMIZE
        files = await checkout(src, revision, sources=sources, charts=charts, whole=whole)
        rendered = await renders.render(
            src,
            root=files.root,
            key=files.key,
            refs=refs,
            release=app.name,
            namespace=app.namespace,
        )
        parts.append(await decrypt(rendered, files.root) if decrypt else rendered)
    return combine(parts)


async def checkout(
    src: Source, revision: str, *, sources: Sources, charts: Charts, whole: bool
) -> Checkout:
    """The files of one source at `revision`. Kustomize sources may reach outside their
    path (`../base`), so they are exported whole, keyed by the commit; so are Helm charts
    that read files outside theirs. A chart from a Helm repository comes from the chart
    cache; a chart in Git gets its missing dependencies built."""
    if src.chart:
        return await charts.checkout(src, revision)
    whole = whole or bool(src.directory.jsonnet.libs)  # libs are relative to the repo root
    found = await sources.checkout(src.repo_url, revision, src.path, whole=whole)
    if not whole and _reaches_out(src, found.directory):
        found = await sources.checkout(src.repo_url, revision, src.path, whole=True)
    if _is_chart(src, found.directory):
        if not whole and chart_files.reaches_out(src.helm, found.directory / "Chart.yaml"):
            found = await sources.checkout(src.repo_url, revision, src.path, whole=True)
        found = await charts.with_dependencies(found)
    return found


def _is_chart(src: Source, directory: Path) -> bool:
    """A Helm source, declared or detected (a kustomization wins, as in `render`)."""
    if src.kind == SourceKind.HELM:
        return (directory / "Chart.yaml").is_file()
    detected = src.kind == SourceKind.DETECT and not _is_kustomize(directory)
    return detected and (directory / "Chart.yaml").is_file()


def _reaches_out(src: Source, directory: Path) -> bool:
    """Whether the render may read files outside the path: a detected kustomization
    (`../base`), or Jsonnet (imports above the app's directory)."""
    if not src.kind and _is_kustomize(directory):
        return True
    directory_source = src.kind in (SourceKind.DETECT, SourceKind.DIRECTORY)
    return directory_source and _holds_jsonnet(directory, recurse=src.directory.recurse)


@functools.lru_cache(maxsize=65_536)
def _holds_jsonnet(directory: Path, *, recurse: bool) -> bool:
    """Exports are named by their content (tree id or commit) and never change once
    written, so the answer for a directory is computed once, not on every pass."""
    pattern = "**/*.jsonnet" if recurse else "*.jsonnet"
    return next(directory.glob(pattern), None) is not None


def _is_kustomize(directory: Path) -> bool:
    return any((directory / name).is_file() for name in KUSTOMIZATION_FILES)
