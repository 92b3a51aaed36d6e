"""Per-kind workload controllers: Deployment, StatefulSet, Pod and Job on Podman.

Each step compares one stored workload with its observed replicas, asks `rollout` (or the
Job rules below) what to do, and does it: creations through `creation.Creator`, removals
through the `remove` it is handed (`removal.Removals`), both over the replica table
(`replicas.ReplicaTable`) it shares with the controller and the healer. Creations run as
background tasks (init containers may take a while, and the tick must keep routing and
healing everything else); a replica being created counts as an unready replica, so it is
never created twice. It stays pending after its task finished, until the controller has
observed a container listing begun after that (`observed`): a `podman ps` already running
when `podman run` returned does not show the new container, and without this fence the
next step would create the same name again (and `Runtime.create` would replace the running
replica with a fresh, unready one). A failed creation is recorded as the workload's
`ReplicaFailure` (Kubernetes' `FailedCreate`) and retried after 1 s, 2 s, 4 s … (capped
at 10 s). Removals are drained out of the Service first. Jobs run one attempt at a time;
a failed attempt is retried with the same backoff (shorter than the kubelet's 10 s base,
so sync hooks stay quick) until `backoffLimit` failures.
Built by `conveyor.targets.podman.controller.Controller`, which calls `observed` and
`step_all` each tick; `target.PodmanTarget` reads `current_hash` and `failures`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from conveyor.targets.base import ObjectRef
from conveyor.targets.podman import names
from conveyor.targets.podman.creation import Creator, service_names
from conveyor.targets.podman.replicas import ReplicaTable
from conveyor.targets.podman.rollout import Step, View, plan_deployment, plan_statefulset
from conveyor.targets.podman.store import ObjectStore, Record
from conveyor.targets.podman.templates import WORKLOAD_KINDS, template_hash, template_of

__all__ = ["WORKLOAD_KINDS", "Workloads", "template_hash", "template_of"]
BACKOFF_MAX = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Pending:
    """A replica whose creation task is running."""

    ref: ObjectRef
    spec_hash: str
    slot: int
    task: asyncio.Task[str]


def backoff(failures: int) -> float:
    return float(min(BACKOFF_MAX, 2.0 ** max(failures - 1, 0)))


class Workloads:
    """The workload controllers of every stored Deployment, StatefulSet, Pod and Job."""

    def __init__(
        self,
        *,
        table: ReplicaTable,
        store: ObjectStore,
        creator: Creator,
        target: str,
        remove: Callable[[list[str]], Awaitable[None]],
        wake: Callable[[], None],
        changed: Callable[[ObjectRef], None],
    ) -> None:
        """`target` names the containers, `remove` drains and removes replicas
        (`Removals`), `wake` asks the controller for a tick, and `changed` reports that a
        workload changed (a Job attempt ended)."""
        self.table = table
        self.store = store
        self.creator = creator
        self.target = target
        self.remove = remove
        self.wake = wake
        self.changed = changed
        self.failures: dict[ObjectRef, str] = {}
        self.pending: dict[str, Pending] = {}
        #: pending names whose task finished, with the table's listing count then
        self._finished: dict[str, int] = {}
        self._retry: dict[ObjectRef, tuple[int, float]] = {}  # failures, not before

    def creating(self, name: str) -> bool:
        """Whether `name` is still being created (or not yet seen in a listing since)."""
        return name in self.pending

    def replicas_of(self, ref: ObjectRef) -> list[str]:
        t = self.table
        return sorted(n for n in t.owned_by(ref) if n not in t.draining)

    def views(self, ref: ObjectRef) -> list[View]:
        views = [
            View(
                name=n,
                spec_hash=self.table.tracked[n].replica.spec_hash,
                slot=self.table.tracked[n].replica.slot,
                ready=self.table.is_ready(n),
            )
            for n in self.replicas_of(ref)
        ]
        views += [
            View(name=n, spec_hash=p.spec_hash, slot=p.slot, ready=False)
            for n, p in self.pending.items()
            if p.ref == ref and n not in self.table.tracked
        ]
        return views

    def current_hash(self, record: Record) -> str:
        if record.ref.kind == "Job":  # immutable, run once: no aliases to keep current
            return template_hash(record.obj)
        labels = (template_of(record.obj).get("metadata") or {}).get("labels") or {}
        return template_hash(record.obj, service_names(self.store, record.ref.namespace, labels))

    def unsettled(self) -> bool:
        """Whether a workload still has replicas to create or remove (keep ticking fast)."""
        if self.pending:
            return True
        for kind in ("Deployment", "StatefulSet", "Pod"):
            for record in self.store.all(kind):
                current = self.current_hash(record)
                replicas = self.replicas_of(record.ref)
                want = (
                    1 if kind == "Pod" else int((record.obj.get("spec") or {}).get("replicas", 1))
                )
                stale = any(self.table.tracked[n].replica.spec_hash != current for n in replicas)
                if stale or len(replicas) != want:
                    return True
        return any(
            not (r.extra.get("succeeded") or r.extra.get("finished")) for r in self.store.all("Job")
        )

    async def step_all(self) -> None:
        for kind in WORKLOAD_KINDS:
            for record in self.store.all(kind):
                await self.step(record)

    async def step(self, record: Record) -> None:
        ref, obj = record.ref, record.obj
        current = self.current_hash(record)
        if record.extra.get("hash") != current:  # a new rollout starts its deadline now
            record.extra.update(hash=current, progress_at=time.time())
            self.store.save(record)
        if ref.kind == "Job":
            await self._job(record, current)
            return
        views = self.views(ref)
        if ref.kind == "Deployment":
            reserved = frozenset(
                self.table.tracked[n].replica.slot
                for n in self.table.draining
                if n in self.table.tracked
                and self.table.owned(n, ref)
                and self.table.tracked[n].replica.spec_hash == current
            )
            step = plan_deployment(obj.get("spec") or {}, current, views, reserved)
        elif ref.kind == "StatefulSet":
            step = plan_statefulset(obj.get("spec") or {}, current, views)
        else:
            stale = tuple(v.name for v in views if v.spec_hash != current)
            step = Step(remove=stale) if stale else Step(create=() if views else (0,))
        await self._execute(record, current, step)

    async def _execute(self, record: Record, current: str, step: Step) -> None:
        # A pending creation is not removed mid-way; a fixed name (StatefulSet ordinal, Pod)
        # still being removed is created once it is gone; a failing one waits its backoff.
        remove = [n for n in step.remove if n not in self.pending]
        create = [
            s for s in step.create if self._name(record.ref, current, s) not in self.table.tracked
        ]
        _failures, not_before = self._retry.get(record.ref, (0, 0.0))
        if time.monotonic() < not_before:
            create = []
        for slot in create:
            self.start_creation(record, current, slot)
        if create:
            self._progress(record)
        if remove:
            await self.remove(remove)
            self._progress(record)

    def _name(self, ref: ObjectRef, current: str, slot: int) -> str:
        pod = self.pod_name(ref, current, slot)
        return names.container_name(self.target, ref.namespace, pod)

    def start_creation(self, record: Record, current: str, slot: int) -> None:
        name = self._name(record.ref, current, slot)
        if name in self.pending:
            return
        pod = self.pod_name(record.ref, current, slot)
        task = asyncio.create_task(self.creator.create(record, current, slot, pod))
        self.pending[name] = Pending(ref=record.ref, spec_hash=current, slot=slot, task=task)
        task.add_done_callback(lambda done: self._created(name, record.ref, done))

    def _created(self, name: str, ref: ObjectRef, task: asyncio.Task[str]) -> None:
        if task.cancelled():
            reason = ""
        elif task.exception() is not None:
            reason = f"creation failed: {task.exception()}"
        else:
            reason = task.result()
        if reason or task.cancelled():
            self.pending.pop(name, None)  # no replica to wait for (a retry may create it)
        else:  # created: still pending until a listing begun after now (see `observed`)
            self._finished[name] = self.table.listings
        if reason:
            failures = self._retry.get(ref, (0, 0.0))[0] + 1
            self._retry[ref] = (failures, time.monotonic() + backoff(failures))
            self.failures[ref] = str(reason)
        else:
            self._retry.pop(ref, None)
            self.failures.pop(ref, None)
        self.wake()  # observe the new replica (or retry) right away

    def observed(self, listing: int) -> None:
        """The controller has observed the listing numbered `listing`: replicas created
        before that listing began are in it (or gone since), so they stop being pending."""
        for name, finished_at in list(self._finished.items()):
            if finished_at < listing:
                del self._finished[name]
                self.pending.pop(name, None)

    async def wait_pending(self) -> None:
        tasks = [p.task for p in self.pending.values()]
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _progress(self, record: Record) -> None:
        record.extra["progress_at"] = time.time()
        self.store.save(record)

    def pod_name(self, ref: ObjectRef, current: str, slot: int) -> str:
        if ref.kind == "Deployment":
            return f"{ref.name}-{current}-{slot}"
        if ref.kind in ("StatefulSet", "Job"):
            return f"{ref.name}-{slot}"
        return ref.name

    async def _job(self, record: Record, current: str) -> None:
        extra = record.extra
        spec = record.obj.get("spec") or {}
        limit = int(spec.get("backoffLimit", 6))
        if extra.get("succeeded") or int(extra.get("failed", 0)) > limit:
            return
        extra.setdefault("started", time.time())
        attempt = int(extra.get("attempt", 0))
        name = self._name(record.ref, current, attempt)
        if name in self.table.draining or name in self.pending:  # old same-named Job; starting
            return
        tracked = self.table.tracked.get(name)
        if tracked is None:
            if (
                time.time() >= float(extra.get("next_at", 0))
                and time.monotonic() >= (self._retry.get(record.ref, (0, 0.0))[1])
            ):
                self.start_creation(record, current, attempt)
                self.store.save(record)
            return
        replica = tracked.replica
        if replica.state not in ("exited", "stopped"):
            return
        if replica.exit_code == 0:
            extra["succeeded"] = 1
        else:
            extra["failed"] = int(extra.get("failed", 0)) + 1
            extra["attempt"] = attempt + 1
            extra["next_at"] = time.time() + backoff(int(extra["failed"]))
        extra["finished"] = time.time()
        self.store.save(record)
        self.changed(record.ref)
