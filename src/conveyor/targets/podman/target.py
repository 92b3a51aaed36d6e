"""`PodmanTarget`: the `Target` Protocol on this host's Podman (issue 7).

`apply` validates (`validate`), stores the object (`store`) and wakes the controller,
which creates, rolls and routes replicas in the background, as Kubernetes' controllers
would; it returns at once with the live object. `get` answers with the stored object plus
the fields an API server populates and a `status` computed from what runs. Replica pods of
workloads can be read as `Pod` objects too (`<deployment>-<hash>-<slot>`). Nothing without
this target's labels is ever listed or touched.

Beyond the Protocol: `aclose()` stops the controller (the proxy keeps serving) and
`stop_proxy()` stops the data path (tests, `conveyor down`). Chosen in `conveyor.app`.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from conveyor.clients.errors import ClientError, PodmanUnavailable
from conveyor.clients.podman import Podman
from conveyor.targets.base import (
    APPLY,
    OWNER_LABEL,
    ApplyOptions,
    EventKind,
    Manifest,
    NormalizationRule,
    ObjectRef,
    Propagation,
    TargetEvent,
    TargetRejected,
    TargetUnavailable,
)
from conveyor.targets.podman import names, status
from conveyor.targets.podman.controller import Controller
from conveyor.targets.podman.routing import ProxyHandle
from conveyor.targets.podman.runtime import Runtime
from conveyor.targets.podman.services import exposed_ports
from conveyor.targets.podman.spec import SpecError
from conveyor.targets.podman.status import rfc3339
from conveyor.targets.podman.store import ObjectStore, Record
from conveyor.targets.podman.validate import CLUSTER_SCOPED, validate
from conveyor.targets.podman.views import pod_view, replica_pods
from conveyor.targets.podman.workloads import WORKLOAD_KINDS

log = logging.getLogger(__name__)

NORMALIZATION: tuple[NormalizationRule, ...] = (
    NormalizationRule(
        kind="*",
        pointers=(
            "/metadata/uid",
            "/metadata/resourceVersion",
            "/metadata/generation",
            "/metadata/creationTimestamp",
            "/status",
        ),
    ),
)


def host_limits(cgroup_root: Path = Path("/sys/fs/cgroup")) -> frozenset[str]:
    """Which `resources.limits` this host's cgroups can enforce."""
    v2 = cgroup_root / "cgroup.controllers"
    if v2.exists():
        return frozenset(v2.read_text().split()) & {"cpu", "memory"}
    found = set()
    if (cgroup_root / "memory" / "memory.limit_in_bytes").exists():
        found.add("memory")
    if (cgroup_root / "cpu" / "cpu.cfs_quota_us").exists():
        found.add("cpu")
    return frozenset(found)


class PodmanTarget:
    """Kubernetes objects run as Podman containers on this host."""

    def __init__(
        self,
        *,
        name: str = "local",
        state_dir: Path,
        podman: Podman | None = None,
        bind_address: str = "127.0.0.1",
        tick: float = 0.25,
    ) -> None:
        self._name = name
        self.state_dir = state_dir
        self.podman = podman or Podman(state_dir=state_dir / "podman")
        self.store = ObjectStore(state_dir / "objects")
        self.runtime = Runtime(self.podman, name, state_dir)
        self.proxy = ProxyHandle(state_dir / "proxy")
        self.limits = host_limits()
        self._queues: list[asyncio.Queue[TargetEvent]] = []
        self.controller = Controller(
            runtime=self.runtime,
            store=self.store,
            proxy=self.proxy,
            bind_address=bind_address,
            emit=self._emit,
            tick=tick,
        )
        self._started = False
        self._start_lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return self._name

    @property
    def normalization(self) -> tuple[NormalizationRule, ...]:
        return NORMALIZATION

    async def _start(self) -> None:
        if self._started:
            return
        async with self._start_lock:  # the reconciler calls apply/get/list concurrently
            if self.controller.running:
                self._started = True
                return
            try:
                await self.podman.ensure_available()
                await self.controller.start()
            except PodmanUnavailable as exc:
                raise TargetUnavailable(None, str(exc)) from exc
            self._started = True

    async def aclose(self) -> None:
        await self.controller.close()
        self._started = False

    def stop_proxy(self) -> None:
        self.proxy.stop()

    # -- Protocol -------------------------------------------------------------------------

    async def apply(self, obj: Manifest, *, options: ApplyOptions = APPLY) -> Manifest:
        """Stores `obj` as given: every apply here replaces (there is no other writer whose
        fields a merge would keep), so Replace and ServerSideApply write the same; with
        `options.validate` False, fields this target does not know are not refused."""
        ref = self._ref(obj)
        previous = self.store.get(ref)
        try:
            validate(
                obj,
                host_limits=self.limits,
                previous=previous.obj if previous else None,
                strict=options.validate,
            )
        except SpecError as exc:
            raise TargetRejected(ref, str(exc)) from exc
        await self._start()
        stored = copy.deepcopy(obj)
        if ref.namespace:
            stored.setdefault("metadata", {})["namespace"] = ref.namespace
        try:
            await self._prepare(ref, stored)
        except ClientError as exc:
            raise TargetUnavailable(ref, str(exc)) from exc
        record, changed = self.store.upsert(ref, stored)
        if changed and ref.kind in WORKLOAD_KINDS:
            hash_now = self.controller.workloads.current_hash(record)
            if record.extra.get("hash") != hash_now or "progress_at" not in record.extra:
                record.extra.update(hash=hash_now, progress_at=time.time())
                self.store.save(record)
        if changed:
            self.controller.wake.set()
        return self._render(record)

    async def _prepare(self, ref: ObjectRef, obj: Manifest) -> None:
        if ref.kind == "Namespace":
            await self.runtime.ensure_network(ref.name)
        elif ref.kind == "PersistentVolumeClaim":
            await self.runtime.ensure_volume(
                ref.namespace, names.volume_name(self._name, ref.namespace, ref.name)
            )

    async def delete(
        self, ref: ObjectRef, *, propagation: Propagation = Propagation.FOREGROUND
    ) -> bool:
        """A workload's replica containers are not separate objects here: every
        `propagation` removes them with it, and the call returns once they are gone."""
        del propagation  # documented in README "Sync options"
        await self._start()
        record = self.store.get(ref)
        if record is None:
            return False
        if ref.kind in WORKLOAD_KINDS:
            await self.controller.workloads.wait_pending()  # no replica appears after this
        async with self.controller.lock:
            self.store.remove(ref)
            if ref.kind in WORKLOAD_KINDS:
                await self.controller.removals.remove(self._replicas_of(ref))
            elif ref.kind == "PersistentVolumeClaim":
                # Without -f, which would first remove any container using the volume.
                volume = names.volume_name(self._name, ref.namespace, ref.name)
                result = await self.podman.run("volume", "rm", "--", volume, check=False)
                if result.returncode != 0:
                    log.info("kept volume %s: %s", volume, result.stderr.strip())
            elif ref.kind == "Namespace":
                await self._delete_namespace(ref.name)
            await self.controller.endpoints.publish()
        return True

    async def _delete_namespace(self, namespace: str) -> None:
        for record in self.store.all():
            if record.ref.namespace == namespace:
                self.store.remove(record.ref)
        table = self.controller.table
        doomed = [n for n, t in table.tracked.items() if t.replica.namespace == namespace]
        await self.controller.removals.remove(doomed)
        await self.controller.removals.wait()
        # Without -f: a container someone else attached keeps the network (and is untouched).
        network = names.network_name(self._name, namespace)
        result = await self.podman.run("network", "rm", "--", network, check=False)
        if result.returncode != 0:
            log.info("kept network %s: %s", network, result.stderr.strip())

    def _replicas_of(self, ref: ObjectRef) -> list[str]:
        return self.controller.table.owned_by(ref)

    async def get(self, ref: ObjectRef) -> Manifest | None:
        await self._start()
        record = self.store.get(ref)
        if record is not None:
            return self._render(record)
        if ref.kind == "Pod":
            for pod in replica_pods(self.controller.table):
                if pod["metadata"]["name"] == ref.name and pod["metadata"]["namespace"] == (
                    ref.namespace
                ):
                    return pod
        return None

    async def list_owned(self, app: str) -> list[Manifest]:
        await self._start()
        return [
            self._render(r)
            for r in self.store.all()
            if ((r.obj.get("metadata") or {}).get("labels") or {}).get(OWNER_LABEL) == app
        ]

    def events(self) -> AsyncIterator[TargetEvent]:
        queue: asyncio.Queue[TargetEvent] = asyncio.Queue()
        self._queues.append(queue)
        return _drain(queue)

    # -- helpers ----------------------------------------------------------------------------

    def _ref(self, obj: Manifest) -> ObjectRef:
        kind = str(obj.get("kind", ""))
        return ObjectRef.of(obj, default_namespace="" if kind in CLUSTER_SCOPED else "default")

    def _emit(self, event: TargetEvent) -> None:
        for queue in self._queues:
            queue.put_nowait(event)

    def _render(self, record: Record) -> Manifest:
        live = copy.deepcopy(record.obj)
        meta = live.setdefault("metadata", {})
        body = self._status(record)
        # Like an API server, a status change is a new resourceVersion (the reconciler
        # re-reads health only when some live object's resourceVersion moved).
        version = str(record.version)
        if body:
            version += "-" + names.spec_hash(body)
        meta.update(
            uid=record.uid,
            resourceVersion=version,
            generation=record.generation,
            creationTimestamp=rfc3339(record.created),
        )
        if body is not None:
            live["status"] = body
        return live

    def _status(self, record: Record) -> dict[str, Any] | None:
        ref, spec = record.ref, record.obj.get("spec") or {}
        # Draining replicas are terminating: like Kubernetes, status no longer counts them.
        table = self.controller.table
        live = [n for n in self._replicas_of(ref) if n not in table.draining]
        pods = [pod_view(table, n) for n in sorted(live)]
        workloads = self.controller.workloads
        current = workloads.current_hash(record) if ref.kind in WORKLOAD_KINDS else ""
        failure = workloads.failures.get(ref, "")
        progress_at = float(record.extra.get("progress_at", 0))
        if record.extra.get("hash") != current:  # a Service just changed the replicas' names
            progress_at = time.time()
        if ref.kind == "Deployment":
            return status.deployment(
                spec,
                generation=record.generation,
                current=current,
                pods=pods,
                failure=failure,
                progress_at=progress_at,
            )
        if ref.kind == "StatefulSet":
            return status.statefulset(
                spec, generation=record.generation, current=current, pods=pods
            )
        if ref.kind == "Pod":
            policy = str(spec.get("restartPolicy", "Always"))
            if pods:
                return status.pod(pods[0], policy)
            return {"phase": "Pending", "reason": failure} if failure else {"phase": "Pending"}
        if ref.kind == "Job":
            extra = record.extra
            active = sum(1 for p in pods if p.state == "running")
            return status.job(
                active=active,
                succeeded=int(extra.get("succeeded", 0)),
                failed=int(extra.get("failed", 0)),
                started=float(extra.get("started", record.created)),
                finished=float(extra.get("finished", 0)),
                backoff_limit=int(spec.get("backoffLimit", 6)),
            )
        if ref.kind == "Service":
            return self._service_status(record)
        if ref.kind == "PersistentVolumeClaim":
            return {"phase": "Bound"}
        if ref.kind == "Namespace":
            return {"phase": "Active"}
        return None

    def _service_status(self, record: Record) -> dict[str, Any]:
        ports = exposed_ports(record.obj)
        if not ports:
            return {}
        errors = self.proxy.errors()
        bind = self.controller.bind_address
        ingress = {"ip": bind, "ports": [{"port": p, "protocol": "TCP"} for p, _t in ports]}
        out: dict[str, Any] = {"loadBalancer": {"ingress": [ingress]}}
        failed = [
            f"{bind}:{p}: {errors[f'{bind}:{p}']}" for p, _t in ports if f"{bind}:{p}" in errors
        ]
        if failed:
            out["conditions"] = [
                {
                    "type": "Listening",
                    "status": "False",
                    "reason": "BindFailed",
                    "message": "; ".join(failed),
                }
            ]
        return out


async def _drain(queue: asyncio.Queue[TargetEvent]) -> AsyncIterator[TargetEvent]:
    while True:
        yield await queue.get()


__all__ = ["NORMALIZATION", "EventKind", "PodmanTarget", "host_limits"]
