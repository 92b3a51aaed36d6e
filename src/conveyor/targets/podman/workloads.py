"""Per-kind workload controllers: Deployment, StatefulSet, Pod and Job on Podman.

Each `step_*` compares one stored workload with its observed replicas, asks `rollout` (or
the Job rules below) what to do, and does it through the controller: creations first (a
failed creation is recorded as the workload's `ReplicaFailure`, like Kubernetes'
`FailedCreate`), then removals (drained out of the Service first). Jobs run one attempt at a
time; a failed attempt is retried after 1 s, 2 s, 4 s … (capped at 10 s, shorter than the
kubelet's 10 s base so sync hooks stay quick) until `backoffLimit` failures.
Called by `conveyor.targets.podman.controller.Controller.sync_once`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from conveyor.clients.errors import ClientError
from conveyor.targets.base import OWNER_LABEL, ObjectRef
from conveyor.targets.podman import names
from conveyor.targets.podman.names import CONTAINER_LABEL, RESTART_LABEL
from conveyor.targets.podman.rollout import Step, View, plan_deployment, plan_statefulset
from conveyor.targets.podman.runplan import plan_container
from conveyor.targets.podman.spec import PodContext, SpecError, decoded
from conveyor.targets.podman.store import Record

if TYPE_CHECKING:
    from conveyor.targets.podman.controller import Controller

log = logging.getLogger(__name__)

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Pod", "Job")


def template_of(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod template of a workload (a Pod is its own template)."""
    if obj.get("kind") == "Pod":
        return {"metadata": obj.get("metadata") or {}, "spec": obj.get("spec") or {}}
    template: dict[str, Any] = (obj.get("spec") or {}).get("template") or {}
    return template


def template_hash(obj: dict[str, Any], services: tuple[str, ...] = ()) -> str:
    """The identity of a workload's replicas: pod template plus the Service names they
    answer to (network aliases are fixed at creation, so a new matching Service rolls the
    replicas, without downtime, to give them its name)."""
    template = template_of(obj)
    labels = (template.get("metadata") or {}).get("labels") or {}
    body: dict[str, Any] = {"labels": labels, "spec": template.get("spec") or {}}
    if services:
        body["services"] = list(services)
    return names.spec_hash(body)


class Workloads:
    def __init__(self, controller: Controller) -> None:
        self.c = controller
        self.failures: dict[ObjectRef, str] = {}

    def replicas_of(self, ref: ObjectRef) -> list[str]:
        return sorted(
            n
            for n, t in self.c.tracked.items()
            if t.replica.kind == ref.kind
            and t.replica.owner == ref.name
            and t.replica.namespace == ref.namespace
            and n not in self.c.draining
        )

    def views(self, ref: ObjectRef) -> list[View]:
        return [
            View(
                name=n,
                spec_hash=self.c.tracked[n].replica.spec_hash,
                slot=self.c.tracked[n].replica.slot,
                ready=self.c.is_ready(n),
            )
            for n in self.replicas_of(ref)
        ]

    def unsettled(self) -> bool:
        """Whether a workload still has replicas to create or remove (keep ticking fast)."""
        for kind in ("Deployment", "StatefulSet", "Pod"):
            for record in self.c.store.all(kind):
                current = self.current_hash(record)
                replicas = self.replicas_of(record.ref)
                want = int((record.obj.get("spec") or {}).get("replicas", 1))
                if kind == "Pod":
                    want = 1
                stale = any(self.c.tracked[n].replica.spec_hash != current for n in replicas)
                if stale or len(replicas) != want:
                    return True
        return any(
            not (r.extra.get("succeeded") or r.extra.get("finished"))
            for r in self.c.store.all("Job")
        )

    async def step_all(self) -> None:
        for kind in WORKLOAD_KINDS:
            for record in self.c.store.all(kind):
                await self.step(record)

    async def step(self, record: Record) -> None:
        ref, obj = record.ref, record.obj
        current = self.current_hash(record)
        if record.extra.get("hash") != current:  # a new rollout starts its deadline now
            record.extra.update(hash=current, progress_at=time.time())
            self.c.store.save(record)
        if ref.kind == "Job":
            await self._job(record, current)
            return
        if ref.kind == "Deployment":
            reserved = frozenset(
                t.replica.slot
                for n, t in self.c.tracked.items()
                if n in self.c.draining
                and t.replica.owner == ref.name
                and t.replica.kind == ref.kind
                and t.replica.namespace == ref.namespace
                and t.replica.spec_hash == current
            )
            step = plan_deployment(obj.get("spec") or {}, current, self.views(ref), reserved)
        elif ref.kind == "StatefulSet":
            step = plan_statefulset(obj.get("spec") or {}, current, self.views(ref))
        else:
            views = self.views(ref)
            stale = tuple(v.name for v in views if v.spec_hash != current)
            step = Step(remove=stale) if stale else Step(create=() if views else (0,))
        await self._execute(record, current, step)

    async def _execute(self, record: Record, current: str, step: Step) -> None:
        # A fixed name (StatefulSet ordinal, Pod) being removed is created once it is gone.
        waiting = {
            s
            for s in step.create
            if names.container_name(record.ref.namespace, self.pod_name(record.ref, current, s))
            in self.c.tracked
        }
        step = Step(create=tuple(s for s in step.create if s not in waiting), remove=step.remove)
        if step.create:
            results = await asyncio.gather(
                *(self.create(record, current, slot) for slot in step.create)
            )
            errors = [r for r in results if r]
            if errors:
                self.failures[record.ref] = errors[0]
            else:
                self.failures.pop(record.ref, None)
            self._progress(record)
            self.c.wake.set()  # observe the new replicas right away
        if step.remove:
            await self.c.remove(list(step.remove))
            self._progress(record)

    def _progress(self, record: Record) -> None:
        record.extra["progress_at"] = time.time()
        self.c.store.save(record)

    def pod_name(self, ref: ObjectRef, current: str, slot: int) -> str:
        if ref.kind == "Deployment":
            return f"{ref.name}-{current}-{slot}"
        if ref.kind in ("StatefulSet", "Job"):
            return f"{ref.name}-{slot}"
        return ref.name

    def lookup(self, namespace: str) -> Any:
        def find(kind: str, name: str) -> dict[str, bytes] | None:
            record = self.c.store.get(
                ObjectRef(group="", kind=kind, namespace=namespace, name=name)
            )
            return decoded(record.obj) if record else None

        return find

    async def create(self, record: Record, current: str, slot: int) -> str:
        """Create one replica; returns "" or the reason it could not be created."""
        ref, obj = record.ref, record.obj
        template = template_of(obj)
        spec = template.get("spec") or {}
        pod = self.pod_name(ref, current, slot)
        labels = self._labels(record, template, current, slot, pod)
        try:
            network = await self.c.runtime.ensure_network(ref.namespace)
            claims = await self._claims(record, slot)
            ctx = PodContext(
                namespace=ref.namespace,
                pod=pod,
                network=network,
                aliases=(pod, *self.service_names(ref.namespace, labels)),
                labels=labels,
                claims=claims,
            )
            plan = plan_container(spec, ctx, self.lookup(ref.namespace))
            grace = int(spec.get("terminationGracePeriodSeconds", 30))
            await self.c.runtime.create(
                names.container_name(ref.namespace, pod), plan, stop_timeout=grace
            )
        except SpecError as exc:
            log.warning("%s: cannot create %s: %s", ref, pod, exc)
            return f"CreateContainerConfigError: {exc}"
        except ClientError as exc:
            log.warning("%s: cannot create %s: %s", ref, pod, exc)
            return str(exc)
        return ""

    def _labels(
        self, record: Record, template: dict[str, Any], current: str, slot: int, pod: str
    ) -> dict[str, str]:
        ref = record.ref
        pod_labels = dict((template.get("metadata") or {}).get("labels") or {})
        owner = ((record.obj.get("metadata") or {}).get("labels") or {}).get(OWNER_LABEL)
        container = ((template.get("spec") or {}).get("containers") or [{}])[0]
        probe_view = {
            k: container[k]
            for k in ("ports", "readinessProbe", "livenessProbe", "startupProbe", "name", "image")
            if k in container
        }
        restart = (template.get("spec") or {}).get("restartPolicy") or (
            "Never" if ref.kind == "Job" else "Always"
        )
        labels = {
            **pod_labels,
            **names.base_labels(self.c.runtime.target),
            names.NAMESPACE_LABEL: ref.namespace,
            names.KIND_LABEL: ref.kind,
            names.NAME_LABEL: ref.name,
            names.POD_LABEL: pod,
            names.HASH_LABEL: current,
            names.SLOT_LABEL: str(slot),
            CONTAINER_LABEL: json.dumps(probe_view, sort_keys=True),
            RESTART_LABEL: str(restart),
        }
        if owner:
            labels[OWNER_LABEL] = str(owner)
        return labels

    def service_names(self, namespace: str, labels: dict[str, str]) -> tuple[str, ...]:
        """Services whose selector matches: pods reach them by name on the network."""
        found = []
        for svc in self.c.store.all("Service"):
            if svc.ref.namespace != namespace:
                continue
            selector = (svc.obj.get("spec") or {}).get("selector") or {}
            if selector and all(labels.get(k) == v for k, v in selector.items()):
                found.append(svc.ref.name)
        return tuple(sorted(found))

    def current_hash(self, record: Record) -> str:
        if record.ref.kind == "Job":  # immutable, run once: no aliases to keep current
            return template_hash(record.obj)
        labels = (template_of(record.obj).get("metadata") or {}).get("labels") or {}
        return template_hash(record.obj, self.service_names(record.ref.namespace, labels))

    async def _claims(self, record: Record, slot: int) -> dict[str, str]:
        claims: dict[str, str] = {}
        ref = record.ref
        volumes = (template_of(record.obj).get("spec") or {}).get("volumes") or []
        for volume in volumes:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                claims[volume["name"]] = names.volume_name(ref.namespace, claim)
                await self.c.runtime.ensure_volume(ref.namespace, claims[volume["name"]])
        for tmpl in (record.obj.get("spec") or {}).get("volumeClaimTemplates") or []:
            claim_name = f"{tmpl['metadata']['name']}-{ref.name}-{slot}"
            volume = names.volume_name(ref.namespace, claim_name)
            await self.c.runtime.ensure_volume(ref.namespace, volume)
            claims[tmpl["metadata"]["name"]] = volume
        return claims

    async def _job(self, record: Record, current: str) -> None:
        extra = record.extra
        spec = record.obj.get("spec") or {}
        limit = int(spec.get("backoffLimit", 6))
        if extra.get("succeeded") or int(extra.get("failed", 0)) > limit:
            return
        extra.setdefault("started", time.time())
        attempt = int(extra.get("attempt", 0))
        name = names.container_name(record.ref.namespace, f"{record.ref.name}-{attempt}")
        if name in self.c.draining:  # a deleted Job of the same name (a re-created hook)
            return
        tracked = self.c.tracked.get(name)
        if tracked is None:
            if time.time() < float(extra.get("next_at", 0)):
                return
            reason = await self.create(record, current, attempt)
            if reason:
                self.failures[record.ref] = reason
            self.c.store.save(record)
            return
        replica = tracked.replica
        if replica.state not in ("exited", "stopped"):
            return
        if replica.exit_code == 0:
            extra["succeeded"] = 1
        else:
            extra["failed"] = int(extra.get("failed", 0)) + 1
            extra["attempt"] = attempt + 1
            extra["next_at"] = time.time() + min(10.0, 2.0 ** (int(extra["failed"]) - 1))
        extra["finished"] = time.time()
        self.c.store.save(record)
        self.c.emit_for(record.ref)
