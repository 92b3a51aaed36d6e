"""The replica table: what the Podman target knows about the replicas it runs.

One mutable state object, built by `controller.Controller` and handed to each of its
collaborators: the controller fills it from every container listing, `healing.Healer`
keeps a probe task and a restart count per replica in it, `removal.Removals` marks
replicas draining, `endpoints.Endpoints` routes to its ready replicas and
`workloads.Workloads` counts each workload's replicas in it; `views` and `target` read it
for status. It holds no collaborator and does no I/O; its methods only read it. It is lost
on restart and rebuilt from a listing and the probes (`seeded` from the proxy's routes).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from conveyor.targets.base import ObjectRef
from conveyor.targets.podman import names
from conveyor.targets.podman.probes import ReplicaHealth
from conveyor.targets.podman.runtime import Replica


@dataclass(slots=True, kw_only=True)
class Tracked:
    """The controller's memory of one replica (lost on restart; rebuilt from probes)."""

    replica: Replica
    health: ReplicaHealth
    ip: str = ""
    restarts: int = 0
    restart_at: float = 0.0
    task: asyncio.Task[None] | None = None


def fresh_health(replica: Replica, *, ready: bool) -> ReplicaHealth:
    """Probe state for a replica (re)started now, per the probes in its container label."""
    container = json.loads(replica.labels.get(names.CONTAINER_LABEL, "{}") or "{}")
    return ReplicaHealth.of(container, time.monotonic(), ready=ready)


@dataclass(slots=True)
class ReplicaTable:
    """The replicas by container name, and what is being done to them."""

    tracked: dict[str, Tracked] = field(default_factory=dict)
    #: out of rotation, removed after a drain delay (`removal.Removals`)
    draining: set[str] = field(default_factory=set)
    #: removed by the target itself: their disappearance is not drift
    removed_by_us: set[str] = field(default_factory=set)
    #: further containers of each replica's pod, from the latest listing
    sidecars: dict[str, list[Replica]] = field(default_factory=dict)
    #: addresses the proxy routed to when the controller started (ready until a probe fails)
    seeded: set[str] = field(default_factory=set)
    #: container listings begun; `Workloads.observed` fences on it
    listings: int = 0

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

    def owned(self, name: str, ref: ObjectRef) -> bool:
        """Whether the tracked replica `name` belongs to the workload `ref`."""
        r = self.tracked[name].replica
        return (r.kind, r.owner, r.namespace) == (ref.kind, ref.name, ref.namespace)

    def owned_by(self, ref: ObjectRef) -> list[str]:
        """The workload's replicas, draining ones included, in the table's order."""
        return [n for n in self.tracked if self.owned(n, ref)]

    def in_motion(self) -> bool:
        """Whether a replica drains, or runs unready (a Job's: runs at all)."""
        if self.draining:
            return True
        for tracked in self.tracked.values():
            replica = tracked.replica
            if replica.kind == "Job":
                if replica.running:
                    return True
            elif not (replica.running and tracked.health.ready):
                return True
        return False
