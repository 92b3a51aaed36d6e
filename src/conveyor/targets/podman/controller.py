"""The Podman target's controller loop: observe, probe, heal, roll out, route, report drift.

Kubernetes runs controllers next to the API server; on one host the target runs them
itself, in the reconciler's process. Each tick (and right after every `apply`) it lists
the target's containers into the replica table (`replicas.ReplicaTable`), has the healer
(`healing.Healer`) keep one probe task per running replica and restart exited or
liveness-failed replicas, asks the workload controllers (`workloads.Workloads`) for each
stored workload's next step, publishes the ready endpoints of every exposed Service to
the proxy (`endpoints.Endpoints`), and emits a `TargetEvent` (`events.Events`) when a
container changed outside the target's own actions (drift). Everything it needs after a
`kill -9` is in Podman's labels, the object store and the proxy's routes file, so a new
process picks the rollout up where the old one died.

The controller composes those collaborators: each is handed the replica table and the
few callables it needs, none holds the controller. Created and driven by
`conveyor.targets.podman.target.PodmanTarget`, which also uses `removals`, `endpoints`,
`workloads` and `table` directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping

from conveyor.clients.errors import ClientError
from conveyor.targets.base import TargetEvent
from conveyor.targets.podman.creation import Creator
from conveyor.targets.podman.endpoints import Endpoints
from conveyor.targets.podman.events import Events
from conveyor.targets.podman.healing import Healer
from conveyor.targets.podman.removal import Removals
from conveyor.targets.podman.replicas import ReplicaTable, Tracked, fresh_health
from conveyor.targets.podman.routing import ProxyHandle
from conveyor.targets.podman.runtime import Replica, Runtime
from conveyor.targets.podman.store import ObjectStore
from conveyor.targets.podman.watch import EventWatch
from conveyor.targets.podman.workloads import Workloads

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 30.0


async def cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the tasks and wait until each has ended.

    Once is not enough on Python 3.11: `asyncio.wait_for` (a probe's HTTP check) drops a
    cancellation that arrives as the awaited call completes (CPython gh-86296, fixed in
    3.12), and the probe loop then runs on; so a task still running is cancelled again.
    """
    for task in tasks:
        task.cancel()
    while pending := [t for t in tasks if not t.done()]:
        await asyncio.wait(pending, timeout=0.1)
        for task in pending:
            task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            task.result()


class Controller:
    """The tick over the replica table, and the collaborators that act on it."""

    def __init__(
        self,
        *,
        runtime: Runtime,
        store: ObjectStore,
        proxy: ProxyHandle,
        bind_address: str,
        emit: Callable[[TargetEvent], None],
        tick: float = 0.25,
        idle_tick: float = 1.0,
    ) -> None:
        self.runtime = runtime
        self.store = store
        self.proxy = proxy
        self.bind_address = bind_address
        self.tick = tick
        self.idle_tick = idle_tick
        self.wake = asyncio.Event()
        self.lock = asyncio.Lock()
        self.table = ReplicaTable()
        self.events = Events(store, emit)
        self.endpoints = Endpoints(
            table=self.table, store=store, proxy=proxy, bind_address=bind_address
        )
        self.removals = Removals(
            table=self.table,
            delete=runtime.remove,
            publish=self.endpoints.publish,
            wake=self.wake.set,
        )
        self.workloads = Workloads(
            table=self.table,
            store=store,
            creator=Creator(runtime, store),
            target=runtime.target,
            remove=self.removals.remove,
            wake=self.wake.set,
            changed=self.events.changed,
        )
        self.healer = Healer(
            table=self.table,
            runtime=runtime,
            wake=self.wake.set,
            changed=self.events.replica_changed,
            remove=self.removals.remove,
            creating=self.workloads.creating,
        )
        self.watch: EventWatch | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def running(self) -> bool:
        return self._task is not None

    async def start(self) -> None:
        if self._task is not None:
            return
        self.table.seeded = {host for host, _port in self.proxy.routed()}
        await self.sync_once()
        self.table.seeded = set()  # only replicas found at start-up were serving before us
        self.watch = EventWatch(self.runtime.podman, self.runtime.target, self._on_event)
        self.watch.start()
        self._task = asyncio.create_task(self._loop(), name="podman-target-controller")

    def _on_event(self, status: str) -> None:
        if status not in ("exec_died", "exec", "health_status"):  # our own probes
            self.wake.set()

    async def close(self) -> None:
        """Stop the loop after its current tick (never mid-podman-call), then the probes.

        Cancelling a task inside `Podman.run` can surface as ProcessLookupError instead of
        CancelledError (the adapter kills an already-exited process), so the loop is asked
        to stop rather than cancelled; it is cancelled only if a tick hangs.
        """
        self._closing = True
        self.wake.set()
        if self.watch is not None:
            await self.watch.stop()
            self.watch = None
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), CLOSE_TIMEOUT)
            except TimeoutError:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.workloads.wait_pending()
        await self.removals.wait()
        await cancel_all([t.task for t in self.table.tracked.values() if t.task])
        self._task = None
        self._closing = False

    async def _loop(self) -> None:
        while True:
            # Fast ticks while anything is in motion; a slower bounded poll when all is
            # settled: `idle_tick`, or 5x that while podman's event stream wakes us.
            idle = self.idle_tick * (5 if self.watch and self.watch.streaming else 1)
            wait = self.tick if self._busy() else max(self.tick, idle)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), wait)
            self.wake.clear()
            if self._closing:
                return
            try:
                await self.sync_once()
            except ClientError as exc:  # podman hiccup: say so, retry next tick
                log.warning("podman target tick failed: %s; retrying in %.2fs", exc, self.tick)
            except Exception:  # a bug must not stop self-healing for every other workload
                log.exception("podman target tick failed; retrying in %.2fs", self.tick)

    def _busy(self) -> bool:
        if self.removals.busy or self.table.in_motion():
            return True
        return self.workloads.unsettled()

    async def sync_once(self) -> None:
        async with self.lock:
            self.table.listings += 1
            listing = self.table.listings
            replicas, self.table.sidecars = await self.runtime.replicas()
            observed = {r.name: r for r in replicas}
            self._observe(observed)
            self.workloads.observed(listing)
            await self._resolve_ips()
            await self.healer.heal()
            await self.workloads.step_all()
            await self._collect_orphans()
            await self.endpoints.publish()

    # -- observation, drift -------------------------------------------------------------

    def _observe(self, observed: Mapping[str, Replica]) -> None:
        table = self.table
        for name in list(table.tracked):
            if name not in observed:
                gone = table.tracked.pop(name)
                if gone.task:
                    gone.task.cancel()
                if name not in table.removed_by_us:
                    log.info("replica %s was removed outside Conveyor; re-creating it", name)
                    self.events.replica_changed(gone.replica)
                table.removed_by_us.discard(name)
                table.draining.discard(name)
        for name, replica in observed.items():
            known = table.tracked.get(name)
            if known is None:
                self._track(replica)
                continue
            if known.replica.running and not replica.running and name not in table.removed_by_us:
                log.info(
                    "replica %s stopped (%s, exit %s) outside Conveyor; restarting it",
                    name,
                    replica.state,
                    replica.exit_code,
                )
                self.events.replica_changed(replica)
            if known.replica.id != replica.id:
                known.ip = ""
                known.health = fresh_health(replica, ready=False)
            known.replica = replica
            if replica.running and (known.task is None or known.task.done()):
                self.healer.start_probe(known)

    def _track(self, replica: Replica) -> None:
        tracked = Tracked(replica=replica, health=fresh_health(replica, ready=False))
        self.table.tracked[replica.name] = tracked
        if replica.running:
            self.healer.start_probe(tracked)

    async def _collect_orphans(self) -> None:
        """Replicas of workloads that no longer exist (deleted while one was being created,
        or by a process killed mid-delete) are removed: they carry our labels, so they are
        ours, and nothing would ever manage them again."""
        orphans = [
            n
            for n, t in self.table.tracked.items()
            if n not in self.table.draining
            and not self.workloads.creating(n)
            and self.store.find(t.replica.kind, t.replica.namespace, t.replica.owner) is None
        ]
        if orphans:
            log.info("removing replicas whose workload is gone: %s", ", ".join(sorted(orphans)))
            await self.removals.remove(orphans)

    async def _resolve_ips(self) -> None:
        """Learn new replicas' addresses; ones the proxy routed to before we started stay
        ready (no probe has failed), so a restarted reconciler never empties a Service."""
        for tracked in self.table.tracked.values():
            if tracked.replica.running and not tracked.ip:
                tracked.ip = await self.runtime.ip(tracked.replica)
                if tracked.ip and tracked.ip in self.table.seeded:
                    tracked.health = fresh_health(tracked.replica, ready=True)
