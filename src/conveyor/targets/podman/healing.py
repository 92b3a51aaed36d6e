"""Self-healing of a Podman target's replicas: probe loops, restarts with back-off, sidecars.

A mixin of `controller.Controller` (kept apart so the controller module stays about the
tick). The controller starts one `_probe_loop` task per running replica and calls `_heal`
once per tick: exited replicas are restarted per their restart policy (with exponential
back-off), liveness/startup failures restart the container, a paused replica is unpaused,
and a pod whose sidecar was removed by hand is replaced. A replica still being created is
left alone (a listing can show it `created` while its `podman run` is starting it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from conveyor.clients.errors import ClientError
from conveyor.targets.base import ObjectRef
from conveyor.targets.podman import names
from conveyor.targets.podman.names import RESTART_LABEL

if TYPE_CHECKING:
    from conveyor.targets.podman.controller import Tracked
    from conveyor.targets.podman.probes import ReplicaHealth
    from conveyor.targets.podman.runtime import Replica, Runtime
    from conveyor.targets.podman.workloads import Workloads

log = logging.getLogger(__name__)

RESTART_BACKOFF_MAX = 10.0


class ReplicaHealing:
    """Probing and restarting of the controller's tracked replicas."""

    __slots__ = ()

    if TYPE_CHECKING:  # provided by Controller
        runtime: Runtime
        tracked: dict[str, Tracked]
        draining: set[str]
        sidecars: dict[str, list[Replica]]
        wake: asyncio.Event
        workloads: Workloads | None
        emit_for: Callable[[ObjectRef], None]

        def owner_ref(self, replica: Replica) -> ObjectRef: ...

        def _drift(self, replica: Replica) -> None: ...

        def _health(self, replica: Replica, *, ready: bool) -> ReplicaHealth: ...

        async def remove(self, names_: list[str]) -> None: ...

    async def _probe_loop(self, name: str) -> None:
        tracked = self.tracked[name]
        me = asyncio.current_task()
        # Ends also when replaced or forgotten: a cancellation can be lost on Python 3.11
        # (see `controller.cancel_all`), and a stale loop would probe on forever.
        while tracked.replica.running and tracked.task is me and self.tracked.get(name) is tracked:
            if not tracked.ip:  # `_resolve_ips` fills it in on the next tick
                await asyncio.sleep(0.05)
                continue
            was_ready = tracked.health.ready
            try:
                await tracked.health.tick(tracked.ip, name, self.runtime.exec)
            except ClientError as exc:  # e.g. podman exec could not start: a failed probe
                log.warning("probe of %s could not run: %s", name, exc)
            if tracked.health.ready != was_ready or tracked.health.needs_restart:
                self.wake.set()
                self.emit_for(self.owner_ref(tracked.replica))
            await asyncio.sleep(0.05)

    def restart_policy(self, replica: Replica) -> str:
        return replica.labels.get(RESTART_LABEL, "Always")

    async def _heal(self) -> None:
        now = time.monotonic()
        for name, tracked in list(self.tracked.items()):
            replica = tracked.replica
            policy = self.restart_policy(replica)
            exited = replica.state in ("exited", "stopped", "created")
            wants = policy == "Always" or (policy == "OnFailure" and replica.exit_code != 0)
            if replica.kind == "Job" or name in self.draining:
                continue
            if self.workloads is not None and name in self.workloads.pending:
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
        present = self.sidecars.get(replica.name, [])
        assert self.workloads is not None
        if len(present) < want and replica.name not in self.workloads.pending:
            # a sidecar was removed by hand: the pod is broken; replace the whole replica
            log.info("a container of %s was removed outside Conveyor; replacing it", replica.name)
            self._drift(replica)
            await self.remove([replica.name])
            return
        for sidecar in present:
            if sidecar.state in ("exited", "stopped") and wants_restart:
                log.info("container %s stopped; restarting it", sidecar.name)
                self._drift(replica)
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
        for sidecar in self.sidecars.get(name, []):  # they shared the old network namespace
            await self.runtime.restart(sidecar.name)
        tracked.restarts += 1
        delay = min(RESTART_BACKOFF_MAX, 0.5 * 2 ** min(tracked.restarts, 5))
        tracked.restart_at = time.monotonic() + delay
        tracked.health = self._health(tracked.replica, ready=False)
        tracked.ip = ""
        self.runtime.forget(tracked.replica.id)
        tracked.replica = replace(tracked.replica, state="running")
        tracked.task = asyncio.create_task(self._probe_loop(name))
