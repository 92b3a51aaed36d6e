"""Self-healing of a Podman target's replicas: probe loops, restarts with back-off, sidecars.

`Healer` works on the replica table it is given (`replicas.ReplicaTable`): the controller
asks it to `start_probe` for each running replica it observes (one probe task each, kept
in the replica's `Tracked`) and calls `heal` once per tick: exited replicas are restarted
per their restart policy (with exponential back-off), liveness/startup failures restart
the container, a paused replica is unpaused, and a pod whose sidecar was removed by hand
is replaced. A replica still being created (`creating`, from `workloads.Workloads`) is
left alone (a listing can show it `created` while its `podman run` is starting it).
Built and driven by `controller.Controller`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from conveyor.clients.errors import ClientError
from conveyor.targets.podman import names
from conveyor.targets.podman.names import RESTART_LABEL
from conveyor.targets.podman.replicas import ReplicaTable, Tracked, fresh_health
from conveyor.targets.podman.runtime import Replica, Runtime

log = logging.getLogger(__name__)

RESTART_BACKOFF_MAX = 10.0


def restart_policy(replica: Replica) -> str:
    return replica.labels.get(RESTART_LABEL, "Always")


class Healer:
    """Probes the table's running replicas and restarts or replaces the broken ones."""

    def __init__(
        self,
        *,
        table: ReplicaTable,
        runtime: Runtime,
        wake: Callable[[], None],
        changed: Callable[[Replica], None],
        remove: Callable[[list[str]], Awaitable[None]],
        creating: Callable[[str], bool],
    ) -> None:
        """`wake` asks the controller for a tick, `changed` reports a replica's change as
        an event of its workload, `remove` drains and removes replicas (`Removals`), and
        `creating` says whether a name's creation task is still running."""
        self.table = table
        self.runtime = runtime
        self.wake = wake
        self.changed = changed
        self.remove = remove
        self.creating = creating

    def start_probe(self, tracked: Tracked) -> None:
        tracked.task = asyncio.create_task(self._probe_loop(tracked.replica.name))

    async def _probe_loop(self, name: str) -> None:
        tracked = self.table.tracked[name]
        me = asyncio.current_task()
        # Ends also when replaced or forgotten: a cancellation can be lost on Python 3.11
        # (see `controller.cancel_all`), and a stale loop would probe on forever.
        while (
            tracked.replica.running
            and tracked.task is me
            and self.table.tracked.get(name) is tracked
        ):
            if not tracked.ip:  # `_resolve_ips` fills it in on the next tick
                await asyncio.sleep(0.05)
                continue
            was_ready = tracked.health.ready
            try:
                await tracked.health.tick(tracked.ip, name, self.runtime.exec)
            except ClientError as exc:  # e.g. podman exec could not start: a failed probe
                log.warning("probe of %s could not run: %s", name, exc)
            if tracked.health.ready != was_ready or tracked.health.needs_restart:
                self.wake()
                self.changed(tracked.replica)
            await asyncio.sleep(0.05)

    async def heal(self) -> None:
        now = time.monotonic()
        for name, tracked in list(self.table.tracked.items()):
            replica = tracked.replica
            policy = restart_policy(replica)
            exited = replica.state in ("exited", "stopped", "created")
            wants = policy == "Always" or (policy == "OnFailure" and replica.exit_code != 0)
            if replica.kind == "Job" or name in self.table.draining:
                continue
            if self.creating(name):
                continue  # still being created: `podman run` is starting it right now
            if replica.state == "paused":
                log.info("replica %s was paused outside Conveyor; unpausing it", name)
                await self.runtime.unpause(name)  # `_observe` already reported the drift
            elif exited and wants and now >= tracked.restart_at:
                await self._restart(tracked, start=True)
            elif replica.running and tracked.health.needs_restart:
                log.info("replica %s failed its liveness/startup probe; restarting it", name)
                await self._restart(tracked, start=False)
            elif replica.running:
                await self._heal_sidecars(tracked, wants_restart=policy != "Never")

    async def _heal_sidecars(self, tracked: Tracked, *, wants_restart: bool) -> None:
        replica = tracked.replica
        want = int(replica.labels.get(names.SIDECARS_LABEL, "0") or 0)
        present = self.table.sidecars.get(replica.name, [])
        if len(present) < want and not self.creating(replica.name):
            # a sidecar was removed by hand: the pod is broken; replace the whole replica
            log.info("a container of %s was removed outside Conveyor; replacing it", replica.name)
            self.changed(replica)
            await self.remove([replica.name])
            return
        for sidecar in present:
            if sidecar.state in ("exited", "stopped") and wants_restart:
                log.info("container %s stopped; restarting it", sidecar.name)
                self.changed(replica)
                await self.runtime.start(sidecar.name)

    async def _restart(self, tracked: Tracked, *, start: bool) -> None:
        name = tracked.replica.name
        if tracked.task:
            tracked.task.cancel()
            tracked.task = None
        if start:
            await self.runtime.start(name)
        else:
            await self.runtime.restart(name)
        # the sidecars shared the old network namespace
        for sidecar in self.table.sidecars.get(name, []):
            await self.runtime.restart(sidecar.name)
        tracked.restarts += 1
        delay = min(RESTART_BACKOFF_MAX, 0.5 * 2 ** min(tracked.restarts, 5))
        tracked.restart_at = time.monotonic() + delay
        tracked.health = fresh_health(tracked.replica, ready=False)
        tracked.ip = ""
        self.runtime.forget(tracked.replica.id)
        tracked.replica = replace(tracked.replica, state="running")
        self.start_probe(tracked)
