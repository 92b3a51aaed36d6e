"""A pass's Git work done once for many apps: fetch each repository, resolve path trees.

`Reconciler` calls `fetch_repositories` at the start of a pass (and before a manual sync or
diff) with the repositories of the apps it owns, so a repository shared by many apps is
fetched once; a failed fetch is recorded in `env.fetch_errors` (shown in each app's status)
and the apps keep their last good revision. `prefetch_trees` resolves the tree ids of every
app path with one git process per repository and revision, so the apps' renders that follow
find their exports cached. Neither raises for a source error: each app's own fetch step
reports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from conveyor.reconcile import steps
from conveyor.reconcile.errors import SourceError
from conveyor.reconcile.runtime import AppRuntime

log = logging.getLogger(__name__)


async def fetch_repositories(env: steps.Env, urls: Iterable[str]) -> None:
    """Fetch every repository in `urls` at once; a failure is recorded, never raised."""

    async def one(url: str) -> None:
        try:
            await env.sources.fetch(url)
            env.fetch_errors.pop(url, None)
        except SourceError as exc:
            env.fetch_errors[url] = str(exc)
            env.metrics.count_fetch_error(url)
            log.warning("fetch of %s failed: %s; keeping the last good revision", url, exc)

    await asyncio.gather(*(one(url) for url in sorted(set(urls))))


async def prefetch_trees(env: steps.Env, runtimes: Iterable[AppRuntime]) -> None:
    """Resolve the Git paths (not charts) of `runtimes`, one git process per repository."""
    groups: dict[tuple[str, str], list[str]] = {}
    for rt in runtimes:
        for src in rt.app.rendering_sources:
            if not src.chart:
                groups.setdefault((src.repo_url, src.target_revision), []).append(src.path)
    for (url, revision), paths in groups.items():
        with contextlib.suppress(SourceError):
            sha = await env.sources.resolve(url, revision)
            await env.sources.prefetch_exports(url, sha, paths)
