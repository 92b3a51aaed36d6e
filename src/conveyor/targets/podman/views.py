"""Replicas as the status code sees them, and as `Pod` objects (pure over the replica table).

Called by `conveyor.targets.podman.target` for workload status and for `get` of a
replica's Pod (`<deployment>-<hash>-<slot>`, `<statefulset>-<ordinal>`, `<job>-<attempt>`).
"""

from __future__ import annotations

import json
from typing import Any

from conveyor.targets.podman import names, status
from conveyor.targets.podman.replicas import ReplicaTable
from conveyor.targets.podman.status import PodView

_INTERNAL = (
    names.CONTAINER_LABEL,
    names.RESTART_LABEL,
    names.MANAGED_LABEL,
    names.TARGET_LABEL,
    names.SLOT_LABEL,
    "io.buildah.version",
)


def pod_view(table: ReplicaTable, name: str) -> PodView:
    tracked = table.tracked[name]
    replica = tracked.replica
    container = json.loads(replica.labels.get(names.CONTAINER_LABEL, "{}") or "{}")
    return PodView(
        name=replica.pod,
        spec_hash=replica.spec_hash,
        state=replica.state,
        exit_code=replica.exit_code,
        ready=table.is_ready(name),
        started_at=float(replica.started_at),
        restarts=tracked.restarts,
        image=str(container.get("image", "")),
        container=str(container.get("name", replica.pod)),
        ip=tracked.ip,
    )


def replica_pods(table: ReplicaTable) -> list[dict[str, Any]]:
    pods: list[dict[str, Any]] = []
    for name in sorted(table.tracked):
        replica = table.tracked[name].replica
        if replica.kind == "Pod" or name in table.draining:
            continue  # a bare Pod is answered from the store; draining ones are gone
        view = pod_view(table, name)
        labels = {k: v for k, v in replica.labels.items() if k not in _INTERNAL}
        policy = replica.labels.get(names.RESTART_LABEL, "Always")
        pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": replica.pod,
                    "namespace": replica.namespace,
                    "labels": labels,
                    "ownerReferences": [{"kind": replica.kind, "name": replica.owner}],
                },
                "spec": {"restartPolicy": policy},
                "status": status.pod(view, policy),
            }
        )
    return pods
