"""Creating one replica: labels, claims, init containers, then the app container.

`Creator.create` resolves the pod template against the stored ConfigMaps/Secrets
(`runplan`), makes sure the namespace network and claimed volumes exist, runs the
`initContainers` one after another to completion (`podman run --rm`, same volumes and env;
on the namespace network with their own address, as the target has no shared pod network
namespace), then starts the app container. It returns "" or why the replica could not be
created (shown as the workload's ReplicaFailure / the Pod's reason). Called from the
background creation tasks of `conveyor.targets.podman.workloads`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from conveyor.clients.errors import ClientError
from conveyor.targets.base import OWNER_LABEL, ObjectRef
from conveyor.targets.podman import names
from conveyor.targets.podman.names import CONTAINER_LABEL, INIT_LABEL, RESTART_LABEL
from conveyor.targets.podman.runplan import plan_container
from conveyor.targets.podman.runtime import Runtime
from conveyor.targets.podman.spec import PodContext, RunPlan, SpecError, decoded
from conveyor.targets.podman.store import ObjectStore, Record
from conveyor.targets.podman.templates import template_of

log = logging.getLogger(__name__)


def service_names(store: ObjectStore, namespace: str, labels: Mapping[str, str]) -> tuple[str, ...]:
    """Services whose selector matches: pods reach them by name on the network."""
    found = []
    for svc in store.all("Service"):
        if svc.ref.namespace != namespace:
            continue
        selector = (svc.obj.get("spec") or {}).get("selector") or {}
        if selector and all(labels.get(k) == v for k, v in selector.items()):
            found.append(svc.ref.name)
    return tuple(sorted(found))


class Creator:
    def __init__(self, runtime: Runtime, store: ObjectStore) -> None:
        self.runtime = runtime
        self.store = store

    def lookup(self, namespace: str) -> Any:
        def find(kind: str, name: str) -> dict[str, bytes] | None:
            record = self.store.get(ObjectRef(group="", kind=kind, namespace=namespace, name=name))
            return decoded(record.obj) if record else None

        return find

    async def create(self, record: Record, current: str, slot: int, pod: str) -> str:
        """Create one replica; returns "" or the reason it could not be created."""
        ref = record.ref
        template = template_of(record.obj)
        spec = template.get("spec") or {}
        labels = self.labels(record, template, current, slot, pod)
        try:
            network = await self.runtime.ensure_network(ref.namespace)
            claims = await self._claims(record, slot)
            ctx = PodContext(
                target=self.runtime.target,
                namespace=ref.namespace,
                pod=pod,
                network=network,
                aliases=(pod, *service_names(self.store, ref.namespace, labels)),
                labels=labels,
                claims=claims,
            )
            name = names.container_name(self.runtime.target, ref.namespace, pod)
            plan = plan_container(spec, ctx, self.lookup(ref.namespace))
            self.runtime.prepare(name, plan)  # volumes the init containers fill for the app
            for i, init in enumerate(spec.get("initContainers") or []):
                reason = await self._init(spec, init, ctx, name, i)
                if reason:
                    return reason
            grace = int(spec.get("terminationGracePeriodSeconds", 30))
            await self.runtime.create(name, plan, stop_timeout=grace, prepared=True)
            for sidecar in (spec.get("containers") or [])[1:]:
                await self._sidecar(spec, sidecar, ctx, name, grace)
        except SpecError as exc:
            log.warning("%s: cannot create %s: %s", ref, pod, exc)
            return f"CreateContainerConfigError: {exc}"
        except ClientError as exc:
            log.warning("%s: cannot create %s: %s", ref, pod, exc)
            return str(exc)
        return ""

    async def _init(
        self,
        spec: Mapping[str, Any],
        init: Mapping[str, Any],
        ctx: PodContext,
        name: str,
        index: int,
    ) -> str:
        labels = {
            **names.base_labels(self.runtime.target),
            INIT_LABEL: "true",
            names.NAMESPACE_LABEL: ctx.namespace,
            names.POD_LABEL: ctx.pod,
        }
        init_ctx = replace(ctx, aliases=(), labels=labels)
        plan: RunPlan = plan_container(
            {**spec, "containers": [init]}, init_ctx, self.lookup(ctx.namespace)
        )
        code = await self.runtime.run_to_completion(f"{name}--init-{index}", name, plan)
        if code != 0:
            return f"Init:Error: init container {init.get('name')!r} exited with {code}"
        return ""

    async def _sidecar(
        self,
        spec: Mapping[str, Any],
        container: Mapping[str, Any],
        ctx: PodContext,
        name: str,
        grace: int,
    ) -> None:
        labels = {
            **names.base_labels(self.runtime.target),
            names.SIDECAR_LABEL: name,
            names.NAMESPACE_LABEL: ctx.namespace,
            names.POD_LABEL: ctx.pod,
        }
        side_ctx = replace(ctx, network=f"container:{name}", aliases=(), labels=labels)
        plan = plan_container(
            {**spec, "containers": [container]}, side_ctx, self.lookup(ctx.namespace)
        )
        await self.runtime.create(
            f"{name}--{container.get('name')}", plan, stop_timeout=grace, prepared=True, run_as=name
        )

    def labels(
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
        # every container's ports: a Service may name a sidecar's port (same address)
        ports = [
            p
            for c in (template.get("spec") or {}).get("containers") or []
            for p in c.get("ports") or []
        ]
        if ports:
            probe_view["ports"] = ports
        restart = (template.get("spec") or {}).get("restartPolicy") or (
            "Never" if ref.kind == "Job" else "Always"
        )
        labels = {
            **pod_labels,
            **names.base_labels(self.runtime.target),
            names.NAMESPACE_LABEL: ref.namespace,
            names.KIND_LABEL: ref.kind,
            names.NAME_LABEL: ref.name,
            names.POD_LABEL: pod,
            names.HASH_LABEL: current,
            names.SLOT_LABEL: str(slot),
            CONTAINER_LABEL: json.dumps(probe_view, sort_keys=True),
            RESTART_LABEL: str(restart),
            names.SIDECARS_LABEL: str(
                len((template.get("spec") or {}).get("containers") or []) - 1
            ),
        }
        if owner:
            labels[OWNER_LABEL] = str(owner)
        return labels

    async def _claims(self, record: Record, slot: int) -> dict[str, str]:
        claims: dict[str, str] = {}
        ref, target = record.ref, self.runtime.target
        volumes = (template_of(record.obj).get("spec") or {}).get("volumes") or []
        for volume in volumes:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim:
                claims[volume["name"]] = names.volume_name(target, ref.namespace, claim)
                await self.runtime.ensure_volume(ref.namespace, claims[volume["name"]])
        for tmpl in (record.obj.get("spec") or {}).get("volumeClaimTemplates") or []:
            claim_name = f"{tmpl['metadata']['name']}-{ref.name}-{slot}"
            volume = names.volume_name(target, ref.namespace, claim_name)
            await self.runtime.ensure_volume(ref.namespace, volume)
            claims[tmpl["metadata"]["name"]] = volume
        return claims
