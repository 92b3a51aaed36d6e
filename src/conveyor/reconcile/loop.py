"""The control loop around a `Reconciler`: the work queue, the triggers and the requeues.

`Loop` holds the `Reconciler` and owns everything that decides *when* it runs; the
reconciler knows nothing of the loop (issue 13: loops point one way, as kopf's queue
knows only its processor):

* a full pass every `interval` (after re-reading the Application files through `reload`;
  when they cannot be read, the apps read last carry on);
* between passes, triggered apps are reconciled at once: `Loop.trigger` / `trigger_repo`
  (the refresh API, a webhook, the post-receive hook of a Conveyor-hosted repo) and target
  events (a live object changed: drift is noticed without waiting for the interval);
* requeues: apps still Progressing are triggered again after `PROGRESS_REQUEUE` seconds,
  so health turns Healthy promptly, and the dependents of an app that became Ready are
  triggered, so a `dependsOn` chain moves without waiting a full interval per link;
* sharding (several replicas, `conveyor reconcile --shard-lease`): with a `Shard`
  (`reconcile.membership.Membership`) the loop renews this replica's Lease beside the
  passes, reconciles only the apps the shard owns, triggers the apps it gains at once
  (a handed-over shard is reconciled without waiting for the interval), and on stop lets
  the in-flight reconcile end before releasing the Lease; a reconcile in flight for an app
  the replica loses (handed over, or fenced) is cancelled.

Called by `conveyor reconcile` (app/cmd_reconcile, with its refresh endpoint in
app/reconcilerhttp), by the server when it runs a reconciler, and by tests and the bench.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from conveyor.core.errors import ConveyorError
from conveyor.reconcile.applications import Catalog
from conveyor.reconcile.model import HealthStatus
from conveyor.reconcile.reconciler import Reconciler
from conveyor.targets.base import Target

log = logging.getLogger(__name__)

PROGRESS_REQUEUE = 1.0


class Shard(Protocol):
    """Which shard keys this replica owns, kept current by `run` (`membership`)."""

    def owns_key(self, key: str) -> bool: ...

    def on_change(self, listener: Callable[[], None]) -> None: ...

    async def run(self, stop: asyncio.Event) -> None: ...

    async def release(self) -> None: ...


class Loop:
    """Runs a `Reconciler` until stopped: passes on an interval, triggers in between."""

    def __init__(self, reconciler: Reconciler, *, shard: Shard | None = None) -> None:
        self.reconciler = reconciler
        self.shard = shard
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._owned: set[str] = set()
        if shard is not None:
            reconciler.ownership.set_shard(shard.owns_key)
            shard.on_change(self.reshard)

    # -- triggers -----------------------------------------------------------------------

    def trigger(self, name: str) -> None:
        """Reconcile `name` as soon as possible (refresh API, webhook, post-receive hook)."""
        self._queue.put_nowait(name)

    def trigger_repo(self, url: str) -> None:
        """Trigger every app whose source is the repository at `url`."""
        for rt in self.reconciler.runtimes():
            if url in rt.app.git_urls:
                self.trigger(rt.app.name)

    # -- the loop -----------------------------------------------------------------------

    async def run(
        self,
        *,
        interval: float,
        stop: asyncio.Event,
        reload: Callable[[], Awaitable[Catalog]] | None = None,
    ) -> None:
        """Full passes every `interval` and triggered apps in between, until `stop` is set."""
        rec = self.reconciler
        watchers = [asyncio.create_task(self._watch(t)) for t in rec.env.targets.values()]
        renewing, shard_stop = None, asyncio.Event()
        if self.shard is not None:
            renewing = asyncio.create_task(self.shard.run(shard_stop))
        try:
            while not stop.is_set():
                if reload is not None:
                    await self._reload(reload)
                await rec.reconcile_all()
                self.requeue()
                deadline = rec.env.clock() + interval
                while not stop.is_set() and rec.env.clock() < deadline:
                    names = await self.next_triggers(deadline - rec.env.clock(), stop)
                    if names:
                        await rec.reconcile_apps(names)
                        self.requeue(names)
        finally:
            for task in watchers:
                task.cancel()
            if renewing is not None and self.shard is not None:
                shard_stop.set()
                await renewing
                await self.shard.release()  # after the last reconcile of this replica ended

    async def _reload(self, reload: Callable[[], Awaitable[Catalog]]) -> None:
        """Re-read the Application files (ApplicationSets re-evaluated); an invalid document
        is reported on its app (InvalidSpec). When the files cannot be read at all (the
        apps repository or a git generator's is unreachable), the apps read last keep
        running and the error is logged each pass until it is fixed."""
        try:
            catalog = await reload()
        except ConveyorError as exc:
            log.error("applications not re-read: %s; keeping the ones read last", exc)
            return
        self.reconciler.set_catalog(catalog)

    async def next_triggers(self, timeout: float, stop: asyncio.Event) -> list[str]:
        """App names triggered within `timeout` (all queued ones), or [] on timeout/stop."""
        getter = asyncio.ensure_future(self._queue.get())
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait(
            {getter, stopper}, timeout=max(timeout, 0), return_when=asyncio.FIRST_COMPLETED
        )
        stopper.cancel()
        if getter not in done:
            getter.cancel()
            return []
        names = [getter.result()]
        while not self._queue.empty():
            names.append(self._queue.get_nowait())
        return names

    def reshard(self) -> None:
        """The shard's owned keys may have changed: trigger the apps gained (handed over
        by a replica that left, or by this one's warm-up ending), log the ones lost."""
        for name in self.reconciler.ownership.cancel_unowned():
            log.warning("shard: stopped the reconcile of %s: handed over", name)
        owned = set(self.reconciler.owned())
        gained, lost = sorted(owned - self._owned), sorted(self._owned - owned)
        if gained or lost:
            log.info("shard: %d apps gained, %d handed over", len(gained), len(lost))
        for name in gained:
            self.reconciler.recover(name)  # a sync its last owner left Running, if it died
            self.trigger(name)
        self._owned = owned

    def requeue(self, names: Iterable[str] | None = None) -> None:
        """Re-trigger Progressing apps later, and dependents of apps that are now Ready."""
        loop = asyncio.get_running_loop()
        runtimes = {rt.app.name: rt for rt in self.reconciler.runtimes()}
        for name in names if names is not None else list(runtimes):
            rt = runtimes.get(name)
            if rt is None:
                continue
            if rt.app.interval > 0:
                self._every(rt.app.name, rt.app.interval)
            if rt.health and rt.health.status == HealthStatus.PROGRESSING:
                loop.call_later(PROGRESS_REQUEUE, self.trigger, name)
            if rt.ready:
                for other in runtimes.values():
                    if name in other.app.depends_on and not other.ready:
                        self.trigger(other.app.name)

    def _every(self, name: str, interval: float) -> None:
        """An app with its own interval (a Flux Kustomization's `spec.interval`) is
        reconciled again that long after its last reconcile, whatever the loop's pass
        interval is; one timer per app, restarted by each reconcile."""
        if (timer := self._timers.pop(name, None)) is not None:
            timer.cancel()
        loop = asyncio.get_running_loop()
        self._timers[name] = loop.call_later(interval, self.trigger, name)

    async def _watch(self, target: Target) -> None:
        async for event in target.events():
            if event.app:  # names of apps this reconciler does not manage are dropped later
                self.trigger(event.app)
