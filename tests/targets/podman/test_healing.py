"""The healer and the removals work on a replica table they are handed, without a
controller: built here from a table, a scripted runtime and recording callables."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import cast

import pytest

from conveyor.targets.podman import names, removal
from conveyor.targets.podman.controller import cancel_all
from conveyor.targets.podman.healing import Healer
from conveyor.targets.podman.removal import Removals
from conveyor.targets.podman.replicas import ReplicaTable, Tracked, fresh_health
from conveyor.targets.podman.runtime import Replica, Runtime

from .fakes import replica

NAME = "t_demo_web-h-0"


class ScriptedRuntime:
    """The calls the healer makes, recorded; probes always pass."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.restarted: list[str] = []

    async def exec(self, name: str, argv: Sequence[str], timeout: float) -> int:
        return 0

    async def start(self, name: str) -> None:
        self.started.append(name)

    async def restart(self, name: str) -> None:
        self.restarted.append(name)

    async def unpause(self, name: str) -> None:
        pass

    def forget(self, container_id: str) -> None:
        pass


class Recorder:
    def __init__(self) -> None:
        self.changed: list[Replica] = []
        self.removed: list[list[str]] = []
        self.wakes = 0

    def change(self, replica: Replica) -> None:
        self.changed.append(replica)

    async def remove(self, names_: list[str]) -> None:
        self.removed.append(names_)

    def wake(self) -> None:
        self.wakes += 1


def healer_over(
    state: str, *, creating: bool = False, labels: dict[str, str] | None = None
) -> tuple[Healer, ReplicaTable, ScriptedRuntime, Recorder]:
    table = ReplicaTable()
    one = replica(NAME, "web-h-0", "h", 0, state=state)
    one = replace(one, labels={**one.labels, **(labels or {})})
    table.tracked[NAME] = Tracked(replica=one, health=fresh_health(one, ready=False))
    runtime, seen = ScriptedRuntime(), Recorder()
    healer = Healer(
        table=table,
        runtime=cast(Runtime, runtime),
        wake=seen.wake,
        changed=seen.change,
        remove=seen.remove,
        creating=lambda _name: creating,
    )
    return healer, table, runtime, seen


async def _stop_probes(table: ReplicaTable) -> None:
    await cancel_all([t.task for t in table.tracked.values() if t.task])


def test_an_exited_replica_is_started_then_waits_its_backoff() -> None:
    async def scenario() -> None:
        healer, table, runtime, _seen = healer_over("exited")
        tracked = table.tracked[NAME]
        try:
            await healer.heal()
            assert runtime.started == [NAME]
            assert (tracked.restarts, tracked.replica.state) == (1, "running")
            assert tracked.task is not None  # probing the restarted replica
            tracked.replica = replace(tracked.replica, state="exited")  # it exits again
            await healer.heal()
            assert runtime.started == [NAME]  # not before `restart_at`
        finally:
            await _stop_probes(table)

    asyncio.run(scenario())


def test_a_replica_still_being_created_is_left_alone() -> None:
    async def scenario() -> None:
        healer, _table, runtime, seen = healer_over("created", creating=True)
        await healer.heal()
        assert (runtime.started, seen.changed, seen.removed) == ([], [], [])

    asyncio.run(scenario())


def test_a_pod_whose_sidecar_was_removed_is_replaced() -> None:
    async def scenario() -> None:
        healer, _table, _runtime, seen = healer_over("running", labels={names.SIDECARS_LABEL: "1"})
        await healer.heal()
        assert [r.name for r in seen.changed] == [NAME]
        assert seen.removed == [[NAME]]

    asyncio.run(scenario())


def test_removals_drain_first_then_remove(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(removal, "DRAIN_SECONDS", 0.0)

    async def scenario() -> None:
        table, seen = ReplicaTable(), Recorder()
        published: list[set[str]] = []
        deleted: list[list[str]] = []

        async def publish() -> None:
            published.append(set(table.draining))

        async def delete(names_: Sequence[str]) -> None:
            deleted.append(list(names_))

        removals = Removals(table=table, delete=delete, publish=publish, wake=seen.wake)
        await removals.remove([NAME])
        assert published == [{NAME}]  # out of rotation before anything is removed
        assert (table.removed_by_us, removals.busy, deleted) == ({NAME}, True, [])
        await removals.wait()
        assert (deleted, seen.wakes, removals.busy) == ([[NAME]], 1, False)

    asyncio.run(scenario())
