"""Which of its apps a reconciler runs now, and the reconciles in flight it may cancel.

A `Reconciler` holds one `Ownership`. Unsharded, it owns every app. Sharded (several
replicas, `conveyor reconcile --shard-lease`), `reconcile.loop.Loop` gives it the
predicate on shard keys of `reconcile.membership.Membership`, and each app's shard key
comes from `reconcile.sharding.shard_keys` over the catalog (children with their parent,
`dependsOn` groups together).

`run` starts one app's reconcile as a task, so that `cancel_unowned` can stop the ones the
replica no longer owns (handed over, or fenced): a cancelled sync is left as a killed
process leaves it, Running in the store, and its next owner recovers it.

Called by `reconcile.reconciler` (set_apps, owns, run), `reconcile.loop` (set_shard,
cancel_unowned) and app/shardroute (key: whose app a request is about).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from conveyor.reconcile import sharding
from conveyor.reconcile.appmodel import Application

log = logging.getLogger(__name__)


class Ownership:
    """The shard predicate, each app's shard key, and the reconciles in flight."""

    def __init__(self) -> None:
        self._keys: dict[str, str] = {}
        self._owns_key: Callable[[str], bool] = lambda _key: True
        self._inflight: dict[str, asyncio.Task[None]] = {}

    def set_shard(self, owns_key: Callable[[str], bool]) -> None:
        """Own only the apps whose shard key `owns_key` accepts."""
        self._owns_key = owns_key

    def set_apps(self, apps: Iterable[Application]) -> None:
        links = [sharding.AppLink(a.name, a.parent or None, a.depends_on) for a in apps]
        self._keys = sharding.shard_keys(links)

    def key(self, name: str) -> str:
        """`name`'s shard key (its group's; an app not in the catalog is its own)."""
        return self._keys.get(name, name)

    def owns(self, name: str) -> bool:
        """Whether this process reconciles `name` now (always, unless sharded)."""
        return self._owns_key(self.key(name))

    async def run(self, name: str, reconcile: Callable[[str], Awaitable[None]]) -> None:
        """`reconcile(name)` as a task `cancel_unowned` can stop; skipped when not owned."""
        if not self.owns(name):
            return  # handed over while it queued
        task = asyncio.ensure_future(reconcile(name))
        self._inflight[name] = task
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not task.cancelled() or (current is not None and current.cancelling()):
                raise  # the pass itself is being cancelled
            log.warning("app %s: reconcile stopped: another replica owns it now", name)
        finally:
            self._inflight.pop(name, None)

    def cancel_unowned(self) -> list[str]:
        """Cancel the reconciles in flight of apps no longer owned; their names."""
        lost = [n for n, task in self._inflight.items() if not self.owns(n) and not task.done()]
        for name in lost:
            self._inflight[name].cancel()
        return lost
