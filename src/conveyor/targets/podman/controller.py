"""The Podman target's controller loop: observe, probe, heal, roll out, route, report drift.

Kubernetes runs controllers next to the API server; on one host the target runs them
itself, in the reconciler's process. Each tick (and right after every `apply`) it lists
the target's containers, keeps one probe task per running replica, restarts exited or
liveness-failed replicas, asks `workloads` for each stored workload's next step, publishes
the ready endpoints of every exposed Service to the proxy, and emits a `TargetEvent` when
a container changed outside the target's own actions (drift). Everything it needs after a
`kill -9` is in Podman's labels, the object store and the proxy's routes file, so a new
process picks the rollout up where the old one died. Probing and restarting replicas is
the `healing.ReplicaHealing` mixin.

Created and driven by `conveyor.targets.podman.target.PodmanTarget`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from conveyor.clients.errors import ClientError
from conveyor.targets.base import OWNER_LABEL, EventKind, ObjectRef, TargetEvent
from conveyor.targets.podman import names
from conveyor.targets.podman.healing import ReplicaHealing
from conveyor.targets.podman.names import CONTAINER_LABEL
from conveyor.targets.podman.probes import ReplicaHealth
from conveyor.targets.podman.routing import ProxyHandle, Route
from conveyor.targets.podman.runtime import Replica, Runtime
from conveyor.targets.podman.services import exposed_ports, resolve_port
from conveyor.targets.podman.store import ObjectStore
from conveyor.targets.podman.watch import EventWatch
from conveyor.targets.podman.workloads import Workloads

log = logging.getLogger(__name__)

GROUPS = {"Deployment": "apps", "StatefulSet": "apps", "Job": "batch", "Pod": ""}
DRAIN_SECONDS = 1.5
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


@dataclass(slots=True, kw_only=True)
class Tracked:
    """The controller's memory of one replica (lost on restart; rebuilt from probes)."""

    replica: Replica
    health: ReplicaHealth
    ip: str = ""
    restarts: int = 0
    restart_at: float = 0.0
    task: asyncio.Task[None] | None = None
    ready_seen: bool = False


@dataclass(slots=True)
class Controller(ReplicaHealing):
    runtime: Runtime
    store: ObjectStore
    proxy: ProxyHandle
    bind_address: str
    emit: Callable[[TargetEvent], None]
    tick: float = 0.25
    idle_tick: float = 1.0
    tracked: dict[str, Tracked] = field(default_factory=dict)
    draining: set[str] = field(default_factory=set)
    removed_by_us: set[str] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    seeded: set[str] = field(default_factory=set)
    workloads: Workloads | None = None
    _task: asyncio.Task[None] | None = None
    _removals: set[asyncio.Task[None]] = field(default_factory=set)
    _closing: bool = False
    sidecars: dict[str, list[Replica]] = field(default_factory=dict)
    watch: EventWatch | None = None
    listings: int = 0  # container listings begun; `Workloads.observed` fences on it

    @property
    def running(self) -> bool:
        return self._task is not None

    async def start(self) -> None:
        if self._task is not None:
            return
        self.seeded = {host for host, _port in self.proxy.routed()}
        self.workloads = Workloads(self)
        await self.sync_once()
        self.seeded = set()  # only replicas found at start-up were serving before us
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
        if self.workloads is not None:
            await self.workloads.wait_pending()
        await self.wait_removals()
        await cancel_all([t.task for t in self.tracked.values() if t.task])
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
        if self.draining or self._removals:
            return True
        for tracked in self.tracked.values():
            replica = tracked.replica
            if replica.kind == "Job":
                if replica.running:
                    return True
            elif not (replica.running and tracked.health.ready):
                return True
        assert self.workloads is not None
        return self.workloads.unsettled()

    async def sync_once(self) -> None:
        async with self.lock:
            assert self.workloads is not None
            self.listings += 1
            listing = self.listings
            replicas, self.sidecars = await self.runtime.replicas()
            observed = {r.name: r for r in replicas}
            self._observe(observed)
            self.workloads.observed(listing)
            await self._resolve_ips()
            await self._heal()
            await self.workloads.step_all()
            await self._collect_orphans()
            await self.publish_routes()

    # -- observation, drift -------------------------------------------------------------

    def _observe(self, observed: Mapping[str, Replica]) -> None:
        for name in list(self.tracked):
            if name not in observed:
                gone = self.tracked.pop(name)
                if gone.task:
                    gone.task.cancel()
                if name not in self.removed_by_us:
                    log.info("replica %s was removed outside Conveyor; re-creating it", name)
                    self._drift(gone.replica)
                self.removed_by_us.discard(name)
                self.draining.discard(name)
        for name, replica in observed.items():
            known = self.tracked.get(name)
            if known is None:
                self._track(replica)
                continue
            if known.replica.running and not replica.running and name not in self.removed_by_us:
                log.info(
                    "replica %s stopped (%s, exit %s) outside Conveyor; restarting it",
                    name,
                    replica.state,
                    replica.exit_code,
                )
                self._drift(replica)
            if known.replica.id != replica.id:
                known.ip = ""
                known.health = self._health(replica, ready=False)
            known.replica = replica
            if replica.running and (known.task is None or known.task.done()):
                known.task = asyncio.create_task(self._probe_loop(name))

    async def _collect_orphans(self) -> None:
        """Replicas of workloads that no longer exist (deleted while one was being created,
        or by a process killed mid-delete) are removed: they carry our labels, so they are
        ours, and nothing would ever manage them again."""
        assert self.workloads is not None
        orphans = [
            n
            for n, t in self.tracked.items()
            if n not in self.draining
            and n not in self.workloads.pending
            and self.store.find(t.replica.kind, t.replica.namespace, t.replica.owner) is None
        ]
        if orphans:
            log.info("removing replicas whose workload is gone: %s", ", ".join(sorted(orphans)))
            await self.remove(orphans)

    async def _resolve_ips(self) -> None:
        """Learn new replicas' addresses; ones the proxy routed to before we started stay
        ready (no probe has failed), so a restarted reconciler never empties a Service."""
        for tracked in self.tracked.values():
            if tracked.replica.running and not tracked.ip:
                tracked.ip = await self.runtime.ip(tracked.replica)
                if tracked.ip and tracked.ip in self.seeded:
                    tracked.health = self._health(tracked.replica, ready=True)

    def _health(self, replica: Replica, *, ready: bool) -> ReplicaHealth:
        container = json.loads(replica.labels.get(CONTAINER_LABEL, "{}") or "{}")
        return ReplicaHealth.of(container, time.monotonic(), ready=ready)

    def _track(self, replica: Replica) -> None:
        tracked = Tracked(replica=replica, health=self._health(replica, ready=False))
        self.tracked[replica.name] = tracked
        if replica.running:
            tracked.task = asyncio.create_task(self._probe_loop(replica.name))

    def owner_ref(self, replica: Replica) -> ObjectRef:
        record = self.store.find(replica.kind, replica.namespace, replica.owner)
        if record is not None:
            return record.ref
        return ObjectRef(
            group=GROUPS.get(replica.kind, ""),
            kind=replica.kind,
            namespace=replica.namespace,
            name=replica.owner,
        )

    def _drift(self, replica: Replica) -> None:
        self.emit_for(self.owner_ref(replica))

    def emit_for(self, ref: ObjectRef, kind: EventKind = EventKind.CHANGED) -> None:
        record = self.store.get(ref)
        labels = ((record.obj.get("metadata") or {}).get("labels") or {}) if record else {}
        self.emit(TargetEvent(ref=ref, kind=kind, app=labels.get(OWNER_LABEL)))

    # -- removal and routing ---------------------------------------------------------------

    def is_ready(self, name: str) -> bool:
        tracked = self.tracked.get(name)
        return bool(
            tracked
            and tracked.replica.running
            and tracked.health.ready
            and tracked.ip
            and name not in self.draining
            and self._sidecars_up(tracked.replica)
        )

    def _sidecars_up(self, replica: Replica) -> bool:
        """A pod is ready only with all its further containers running."""
        want = int(replica.labels.get(names.SIDECARS_LABEL, "0") or 0)
        running = [s for s in self.sidecars.get(replica.name, []) if s.running]
        return len(running) >= want

    async def remove(self, names_: list[str]) -> None:
        """Take replicas out of rotation, let in-flight requests finish, then remove them."""
        if not names_:
            return
        self.draining.update(names_)
        await self.publish_routes()
        self.removed_by_us.update(names_)
        task = asyncio.create_task(self._remove_later(names_))
        self._removals.add(task)
        task.add_done_callback(self._removals.discard)

    async def _remove_later(self, names_: list[str]) -> None:
        # Out of rotation already; in-flight requests get DRAIN_SECONDS, then the container
        # goes. The tick does not wait for podman, so the rollout's next step starts now.
        await asyncio.sleep(DRAIN_SECONDS)
        await self.runtime.remove(names_)
        self.wake.set()

    async def wait_removals(self) -> None:
        while self._removals:
            await asyncio.gather(*list(self._removals), return_exceptions=True)
            await asyncio.sleep(0)  # let the done-callbacks empty the set

    async def publish_routes(self) -> None:
        routes: list[Route] = []
        for record in self.store.all("Service"):
            for listen_port, target_port in exposed_ports(record.obj):
                backends = self._backends(record.obj, target_port)
                routes.append(
                    Route(
                        bind=self.bind_address, port=listen_port, backends=tuple(sorted(backends))
                    )
                )
        await self.proxy.publish(tuple(routes))

    def _backends(self, service: Mapping[str, object], target_port: object) -> set[tuple[str, int]]:
        meta = service.get("metadata") or {}
        spec = service.get("spec") or {}
        assert isinstance(meta, Mapping) and isinstance(spec, Mapping)
        namespace = str(meta.get("namespace") or "default")
        selector = spec.get("selector") or {}
        assert isinstance(selector, Mapping)
        out: set[tuple[str, int]] = set()
        for name, tracked in self.tracked.items():
            labels = tracked.replica.labels
            if tracked.replica.namespace != namespace or not selector:
                continue
            if any(labels.get(k) != v for k, v in selector.items()):
                continue
            if not self.is_ready(name):
                continue
            port = resolve_port(target_port, labels)
            if port:
                out.add((tracked.ip, port))
        return out
