"""The loop with a shard: two reconciler replicas (real `Loop`s and `Reconciler`s over one
store and one memory target, each with its own Git cache and its own lightkube client of
kmock's KubernetesEmulator) split the apps, and take over the apps of one that leaves."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kmock
import pytest
import yaml

from conveyor.reconcile.applications import Catalog, parse_applications
from conveyor.reconcile.errors import ReconcileError
from conveyor.reconcile.loop import Loop
from conveyor.reconcile.membership import LEASE_PREFIX, Membership, member_lease
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env
from conveyor.reconcile.sync import SyncOptions
from conveyor.store import OperationRecord
from conveyor.targets.base import ObjectRef
from conveyor.targets.memory import MemoryTarget
from tests.clients.kubeemu import Emulated, emulated

from .conftest import World, application, configmap

NAMES = [f"app-{i}" for i in range(8)]
LEASES = kmock.resource("coordination.k8s.io", "v1", "leases")


class Deleters:
    """The shared memory target seen through one replica: its deletes are noted by name."""

    def __init__(self, inner: MemoryTarget, who: str, noted: list[tuple[str, str]]) -> None:
        self.inner, self.who, self.noted = inner, who, noted

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def delete(self, ref: ObjectRef, **options: Any) -> bool:
        self.noted.append((self.who, ref.name))
        return await self.inner.delete(ref, **options)


def replica(
    world: World,
    emu: Emulated,
    pod: str,
    docs: list[str],
    cache: Path,
    *,
    deletes: list[tuple[str, str]] | None = None,
) -> Loop:
    target = world.target if deletes is None else Deleters(world.target, pod, deletes)
    env = Env(
        targets={"memory": target},  # type: ignore[dict-item]
        store=world.store,
        sources=Sources(cache),
        sync_options=SyncOptions(wave_timeout=5.0, poll=0.005),
    )
    apps = [a for doc in docs for a in parse_applications(doc, "apps.yaml")]
    lock = member_lease(
        emu.client(),
        namespace="conveyor",
        pod=pod,
        identity=f"{pod}_{time.monotonic_ns():x}",
        duration=1,
        group="g",
    )
    return Loop(
        Reconciler(apps, env, sharded=True), shard=Membership(lock, group="g", renew_every=0.25)
    )


def reconciled(loop: Loop) -> set[str]:
    """Apps this replica has rendered (a replica that never ran an app has no desired state)."""
    return {rt.app.name for rt in loop.reconciler.runtimes() if rt.desired is not None}


async def until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def test_replicas_split_the_apps_and_take_over_those_of_one_that_stops(
    world: World, tmp_path: Path
) -> None:
    for name in NAMES:
        world.repo.write_objects(f"{name}/cm.yaml", configmap(f"cm-{name}"))
    world.repo.commit()
    docs = [application(n, world.repo, n, automated={"prune": True}) for n in NAMES]
    # a sync of app-0 that a dead replica left Running: recovered by whoever gains app-0
    left = OperationRecord(app="app-0", revision="0" * 40, digest="d", state="Running", started=1)
    world.store.begin_operation(left)

    async def go() -> None:
        async with emulated() as emu:
            a = replica(world, emu, "a", docs, tmp_path / "cache-a")
            b = replica(world, emu, "b", docs, tmp_path / "cache-b")
            # a sharded replica does not close other replicas' syncs when it starts
            assert [op.state for op in world.store.operations("app-0")] == ["Running"]
            stop_a, stop_b = asyncio.Event(), asyncio.Event()
            runs = [
                asyncio.create_task(a.run(interval=3600, stop=stop_a)),
                asyncio.create_task(b.run(interval=3600, stop=stop_b)),
            ]
            await until(lambda: reconciled(a) | reconciled(b) == set(NAMES))
            assert world.store.operations("app-0")[0].state == "Interrupted"
            assert reconciled(a) and reconciled(b)  # both have a share
            assert not reconciled(a) & reconciled(b)  # and no app was run by both
            for name in NAMES:
                assert world.target.peek(
                    ObjectRef(group="", kind="ConfigMap", namespace="prod", name=f"cm-{name}")
                )
            only_b = sorted(reconciled(b))
            with pytest.raises(ReconcileError, match="another reconciler replica"):
                await a.reconciler.sync(only_b[0])
            stop_b.set()
            await runs[1]  # b's loop ends, then it releases its Lease
            await until(lambda: reconciled(a) == set(NAMES))  # a was triggered for b's apps
            stop_a.set()
            await runs[0]

    asyncio.run(go())


def test_a_replica_cut_off_mid_sync_cancels_it_before_its_lease_can_expire(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The sync is slow (each apply takes 3 s); the replica loses the API server while it
    runs. Fencing must cancel the sync before `renewTime + leaseDurationSeconds` of the
    last renewal, the earliest another replica could take the app."""
    world.repo.write_objects("slow/cm.yaml", configmap("cm-slow"))
    world.repo.commit()
    world.target.apply_delay = 3.0
    docs = [application("slow", world.repo, "slow", automated={"prune": True})]

    async def go() -> None:
        async with emulated() as emu:
            a = replica(world, emu, "a", docs, tmp_path / "cache-a")
            stop = asyncio.Event()
            run = asyncio.create_task(a.run(interval=3600, stop=stop))
            await until(lambda: [op.state for op in world.store.operations("slow")] == ["Running"])
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                closed = probe.getsockname()[1]
            assert isinstance(a.shard, Membership)
            a.shard.lock.client = Emulated(None, f"http://127.0.0.1:{closed}").client()
            await until(lambda: "stopped the reconcile of slow" in caplog.text)
            stopped = next(r for r in caplog.records if "stopped the reconcile" in r.message)
            lease = emu.emulator.objects[LEASES, "conveyor", LEASE_PREFIX + "a"]
            renewed = dt.datetime.fromisoformat(lease["spec"]["renewTime"])
            expires = renewed.timestamp() + lease["spec"]["leaseDurationSeconds"]
            assert stopped.created < expires
            assert world.store.operations("slow")[0].state == "Running"  # as a killed pod
            stop.set()
            await run
            await a.shard.lock.client.close()

    with caplog.at_level(logging.WARNING, logger="conveyor.reconcile.loop"):
        asyncio.run(go())


def test_an_app_removed_from_git_is_deleted_once_by_its_owner_only(
    world: World, tmp_path: Path
) -> None:
    for name in NAMES[:4]:
        world.repo.write_objects(f"{name}/cm.yaml", configmap(f"cm-{name}"))
    world.repo.commit()
    docs = {n: application(n, world.repo, n, automated={"prune": True}) for n in NAMES[:4]}
    doomed = yaml.safe_load(docs["app-0"])
    doomed["metadata"]["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
    docs["app-0"] = yaml.safe_dump(doomed)
    ref = ObjectRef(group="", kind="ConfigMap", namespace="prod", name="cm-app-0")
    deletes: list[tuple[str, str]] = []
    loops: list[Loop] = []
    owner: list[str] = []

    async def reload() -> Catalog:
        return Catalog(apps=tuple(a for d in docs.values() for a in parse_applications(d, "x")))

    async def go() -> None:
        async with emulated() as emu:
            loops[:] = [
                replica(world, emu, p, list(docs.values()), tmp_path / p, deletes=deletes)
                for p in "ab"
            ]
            stop = asyncio.Event()
            runs = [
                asyncio.create_task(x.run(interval=0.3, stop=stop, reload=reload)) for x in loops
            ]
            await until(lambda: reconciled(loops[0]) | reconciled(loops[1]) == set(NAMES[:4]))
            owner.extend(p for p, x in zip("ab", loops, strict=True) if "app-0" in reconciled(x))
            del docs["app-0"]  # both replicas re-read the apps on their next pass
            await until(lambda: world.target.peek(ref) is None)
            await asyncio.sleep(1.0)  # more passes of both: nobody deletes it again
            stop.set()
            await asyncio.gather(*runs)
        assert world.target.journal.count(f"delete {ref}") == 1
        assert [who for who, name in deletes if name == "cm-app-0"] == owner

    asyncio.run(go())
