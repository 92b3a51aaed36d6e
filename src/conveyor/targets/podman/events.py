"""The Podman target's events: which object changed, told to the target's subscribers.

A replica that changed (drift, a probe's verdict, a restart) is reported as a change of
the workload that owns it; the event carries the application label of the stored object
so that the reconciler can requeue just that application. Built by
`controller.Controller` around `PodmanTarget._emit`; its `replica_changed` is handed to
the controller's own observation and to `healing.Healer`, its `changed` to
`workloads.Workloads` (a Job finished).
"""

from __future__ import annotations

from collections.abc import Callable

from conveyor.targets.base import OWNER_LABEL, EventKind, ObjectRef, TargetEvent
from conveyor.targets.podman.runtime import Replica
from conveyor.targets.podman.store import ObjectStore

GROUPS = {"Deployment": "apps", "StatefulSet": "apps", "Job": "batch", "Pod": ""}


class Events:
    """Turns changed objects and replicas into `TargetEvent`s for `emit`."""

    def __init__(self, store: ObjectStore, emit: Callable[[TargetEvent], None]) -> None:
        self.store = store
        self.emit = emit

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

    def replica_changed(self, replica: Replica) -> None:
        self.changed(self.owner_ref(replica))

    def changed(self, ref: ObjectRef, kind: EventKind = EventKind.CHANGED) -> None:
        record = self.store.get(ref)
        labels = ((record.obj.get("metadata") or {}).get("labels") or {}) if record else {}
        self.emit(TargetEvent(ref=ref, kind=kind, app=labels.get(OWNER_LABEL)))
