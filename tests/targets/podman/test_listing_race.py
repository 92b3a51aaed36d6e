"""The controller against a scripted Podman: a replica whose `podman run` returns while a
`podman ps` is already running must not be created a second time, and one that a listing
shows `created` while its `podman run` is still starting it is not "healed".

Without the listing fence in `Workloads.observed`, the tick that used that older listing
saw no replica and no pending creation, and created the same name again; on real Podman
`Runtime.create` then force-removed the running, ready replica to make room (the flaky
`readyReplicas == 1` of the failing-readiness rollout test).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from conveyor.targets.base import ObjectRef
from conveyor.targets.podman import names
from conveyor.targets.podman.controller import Controller
from conveyor.targets.podman.replicas import ReplicaTable
from conveyor.targets.podman.routing import ProxyHandle, Route
from conveyor.targets.podman.runtime import Replica, Runtime
from conveyor.targets.podman.store import ObjectStore, Record
from conveyor.targets.podman.workloads import Workloads

from .fakes import replica
from .manifests import deployment

REF = ObjectRef(group="apps", kind="Deployment", namespace="demo", name="web")


class ScriptedPodman:
    """Containers in a dict; `podman ps` snapshots them, then lets `during_listing` run
    (a creation finishing meanwhile) before it returns the snapshot."""

    target = "t"

    def __init__(self) -> None:
        self.containers: dict[str, Replica] = {}
        self.created: Counter[str] = Counter()
        self.removed: list[str] = []
        self.started: list[str] = []
        self.during_listing: asyncio.Event | None = None  # set: finish the creation now
        self.creation_done = asyncio.Event()

    async def replicas(self) -> tuple[list[Replica], dict[str, list[Replica]]]:
        snapshot = list(self.containers.values())
        if self.during_listing is not None:
            self.during_listing.set()
            self.during_listing = None
            await self.creation_done.wait()
            for _ in range(3):  # the creation task's done-callback runs meanwhile
                await asyncio.sleep(0)
        return snapshot, {}

    async def ip(self, replica: Replica) -> str:
        return f"10.0.0.{replica.slot + 1}"

    def forget(self, container_id: str) -> None:
        pass

    async def exec(self, name: str, argv: Sequence[str], timeout: float) -> int:
        return 0

    async def start(self, name: str) -> None:
        self.started.append(name)

    async def restart(self, name: str) -> None:
        self.started.append(name)

    async def remove(self, names_: Sequence[str]) -> None:
        for name in names_:
            self.containers.pop(name, None)
            self.removed.append(name)


class ScriptedCreator:
    """`Creator.create` that waits for `release`, then adds the container running; with
    `created_first`, the container is listed as `created` meanwhile (as `podman run` makes
    it before it starts it)."""

    def __init__(self, podman: ScriptedPodman, *, created_first: bool = False) -> None:
        self.podman = podman
        self.release = asyncio.Event()
        self.created_first = created_first

    async def create(self, record: Record, current: str, slot: int, pod: str) -> str:
        name = names.container_name("t", record.ref.namespace, pod)
        if self.created_first:
            self.podman.containers[name] = replica(name, pod, current, slot, state="created")
        await self.release.wait()
        self.podman.created[name] += 1
        self.podman.containers[name] = replica(name, pod, current, slot)
        self.podman.creation_done.set()
        return ""


class NoProxy:
    def routed(self) -> set[tuple[str, int]]:
        return set()

    async def publish(self, routes: tuple[Route, ...]) -> None:
        pass


def scripted(tmp_path: Path, creator: ScriptedCreator) -> tuple[Controller, Workloads]:
    """A controller (not started: the test ticks it) over `creator.podman`, one Deployment."""
    store = ObjectStore(tmp_path / "objects")
    store.upsert(REF, deployment("web", replicas=1))
    controller = Controller(
        runtime=cast(Runtime, creator.podman),
        store=store,
        proxy=cast(ProxyHandle, NoProxy()),
        bind_address="127.0.0.1",
        emit=lambda _event: None,
    )
    controller.workloads.creator = cast(Any, creator)
    return controller, controller.workloads


def ready(table: ReplicaTable) -> list[bool]:
    return [table.is_ready(n) for n in table.tracked]


def test_a_replica_created_during_a_listing_is_not_created_again(tmp_path: Path) -> None:
    async def scenario() -> None:
        podman = ScriptedPodman()
        creator = ScriptedCreator(podman)
        controller, workloads = scripted(tmp_path, creator)
        store = controller.store
        try:
            await controller.sync_once()  # nothing yet: the creation of slot 0 starts
            assert len(workloads.pending) == 1
            # The next listing begins before `podman run` returns and ends after it.
            podman.during_listing = creator.release
            await controller.sync_once()
            await controller.sync_once()  # a listing begun after the creation: sees it
            await asyncio.gather(*(p.task for p in workloads.pending.values()))  # any second
            await controller.sync_once()
            current = workloads.current_hash(cast(Record, store.get(REF)))
            assert dict(podman.created) == {f"t_demo_web-{current}-0": 1}
            assert podman.removed == []
            assert workloads.pending == {}
            assert ready(controller.table) == [True]
        finally:
            creator.release.set()  # close() waits for the creation
            await controller.close()

    asyncio.run(scenario())


def test_a_replica_still_being_created_is_not_started_by_healing(tmp_path: Path) -> None:
    async def scenario() -> None:
        podman = ScriptedPodman()
        creator = ScriptedCreator(podman, created_first=True)
        controller, workloads = scripted(tmp_path, creator)
        try:
            await controller.sync_once()  # the creation starts
            await asyncio.sleep(0)  # it has made the container, not yet started it
            await controller.sync_once()  # lists it `created`: podman run is on it
            assert [t.replica.state for t in controller.table.tracked.values()] == ["created"]
            creator.release.set()
            await asyncio.gather(*(p.task for p in workloads.pending.values()))
            await controller.sync_once()
            await controller.sync_once()
            assert podman.started == []  # no `podman start` racing `podman run`
            assert ready(controller.table) == [True]
        finally:
            creator.release.set()  # close() waits for the creation
            await controller.close()

    asyncio.run(scenario())
