"""Two sharded reconciler replicas behind their `--listen` endpoints (real `Loop`s,
`Reconciler`s and `reconcilerhttp` servers over one store and one memory target, Leases on
kmock's KubernetesEmulator with each replica's endpoint on its Lease): whichever replica
a request reaches, it answers for every app as the owner sees it, and a refresh by
repository reaches the apps of both."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from conveyor.app import reconcilerhttp, shardroute
from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.loop import Loop
from conveyor.reconcile.membership import (
    ENDPOINT_ANNOTATION,
    Membership,
    member_lease,
)
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env
from conveyor.reconcile.sync import SyncOptions
from conveyor.store import Store
from conveyor.targets.base import ObjectRef
from conveyor.targets.memory import MemoryTarget
from tests.clients.kubeemu import Emulated, emulated
from tests.reconcile.conftest import World, application, config_repo, configmap

NAMES = [f"app-{i}" for i in range(6)]
TOKEN = "shared-token-of-both-replicas"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    store = Store.open(tmp_path / "state.db")
    repo = config_repo(tmp_path)
    yield World(repo=repo, target=MemoryTarget(), store=store, cache=tmp_path / "cache")
    store.close()


@dataclass
class Replica:
    loop: Loop
    shard: Membership
    url: str
    server: asyncio.Server

    def owned(self) -> set[str]:
        return set(self.loop.reconciler.owned())


async def start(world: World, emu: Emulated, pod: str, docs: list[str], cache: Path) -> Replica:
    env = Env(
        targets={"memory": world.target},
        store=world.store,
        sources=Sources(cache),
        sync_options=SyncOptions(wave_timeout=5.0, poll=0.005),
    )
    apps = [a for doc in docs for a in parse_applications(doc, "apps.yaml")]
    lock = member_lease(
        emu.client(),
        namespace="conveyor",
        pod=pod,
        identity=f"{pod}_0",  # fixed: of the 6 apps a owns 2 and b 4, on every run
        duration=4,
        group="g",
    )
    shard = Membership(lock, group="g", renew_every=1.0)
    loop = Loop(Reconciler(apps, env, sharded=True), shard=shard)
    router = shardroute.Router(shard, loop.reconciler, TOKEN)
    server, url = await reconcilerhttp.listen(loop, "127.0.0.1:0", TOKEN, router=router)
    lock.annotations = {ENDPOINT_ANNOTATION: url}  # written with the Lease at the first round
    return Replica(loop, shard, url, server)


async def until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def two_replicas(world: World, tmp_path: Path) -> AsyncIterator[tuple[Replica, Replica]]:
    """Replicas a and b, running, each owning some apps, every app synced once."""
    docs = [application(n, world.repo, n, automated={"prune": True}) for n in NAMES]
    async with emulated() as emu:
        a = await start(world, emu, "a", docs, tmp_path / "cache-a")
        b = await start(world, emu, "b", docs, tmp_path / "cache-b")
        stop = asyncio.Event()
        runs = [asyncio.create_task(r.loop.run(interval=3600, stop=stop)) for r in (a, b)]
        try:
            await until(lambda: a.owned() | b.owned() == set(NAMES) and bool(a.owned()))
            await until(lambda: all(cm(world, n) == "v1" for n in NAMES))
            yield a, b
        finally:
            stop.set()
            await asyncio.gather(*runs)
            for r in (a, b):
                r.server.close()


def cm(world: World, name: str) -> str | None:
    obj = world.target.peek(ObjectRef(group="", kind="ConfigMap", namespace="prod", name=name))
    return None if obj is None else str(obj["data"]["v"])


def commit(world: World, version: str) -> str:
    for name in NAMES:
        world.repo.write_objects(f"{name}/cm.yaml", configmap(name, {"v": version}))
    return world.repo.commit(version)


async def get(url: str, path: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.get(url + path, headers={**AUTH, **headers})


async def post(url: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.post(url + path, headers=AUTH)


def run(world: World, tmp_path: Path, body: Callable[[Replica, Replica], Any]) -> None:
    async def go() -> None:
        async with two_replicas(world, tmp_path) as (a, b):
            await body(a, b)

    commit(world, "v1")
    asyncio.run(go())


def test_every_replica_lists_every_app_with_the_owners_status(world: World, tmp_path: Path) -> None:
    async def body(a: Replica, b: Replica) -> None:
        head = world.repo.commit("nothing changed")  # what every app's status must show
        await post(a.url, "/refresh?repo=" + world.repo.url)
        for replica in (a, b):

            async def listed(replica: Replica = replica) -> dict[str, Any]:
                return dict((await get(replica.url, "/apps")).json())

            deadline = time.monotonic() + 30
            while True:
                apps = await listed()
                revisions = {n: s["sync"]["revision"] for n, s in apps.items()}
                if revisions == dict.fromkeys(NAMES, head) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            assert revisions == dict.fromkeys(NAMES, head)
            assert {s["sync"]["status"] for s in apps.values()} == {"Synced"}

    run(world, tmp_path, body)


def test_app_pages_show_the_owners_run_state_through_either_replica(
    world: World, tmp_path: Path
) -> None:
    async def body(a: Replica, b: Replica) -> None:
        for name in NAMES:
            for replica in (a, b):
                reply = await get(replica.url, f"/apps/{name}")
                assert reply.status_code == 200, reply.text
                view = reply.json()
                assert view["status"]["sync"]["status"] == "Synced", (name, replica.url)
                rows = {(r["kind"], r["name"]): r for r in view["resources"]}
                assert rows["ConfigMap", name]["sync"] == "Synced"
                ref = f"/apps/{name}/object?ref=/ConfigMap/prod/{name}"
                assert (await get(replica.url, ref)).json()["changed"] is False

    run(world, tmp_path, body)


def test_a_refresh_by_repository_on_one_replica_reaches_the_apps_of_both(
    world: World, tmp_path: Path
) -> None:
    async def body(a: Replica, b: Replica) -> None:
        assert a.owned() and b.owned()
        commit(world, "v2")
        assert (await post(a.url, "/refresh?repo=" + world.repo.url)).status_code == 202
        await until(lambda: all(cm(world, n) == "v2" for n in NAMES))  # interval is 1 h

    run(world, tmp_path, body)


def test_actions_and_app_refreshes_are_forwarded_to_the_owner(world: World, tmp_path: Path) -> None:
    async def body(a: Replica, b: Replica) -> None:
        theirs = sorted(b.owned())[0]
        commit(world, "v3")
        reply = await post(a.url, f"/apps/{theirs}/sync")  # a owns it not: b syncs it
        assert reply.status_code == 200, reply.text
        assert cm(world, theirs) == "v3"
        assert (await post(a.url, f"/refresh/{theirs}")).status_code == 202

    run(world, tmp_path, body)


def test_a_forwarded_request_the_receiver_does_not_own_is_refused_not_forwarded_again(
    world: World, tmp_path: Path
) -> None:
    async def body(a: Replica, b: Replica) -> None:
        theirs = sorted(b.owned())[0]
        reply = await get(a.url, f"/apps/{theirs}", **{shardroute.FORWARDED: "someone"})
        assert reply.status_code == 503
        assert "retry" in reply.json()["error"]
        assert (await get(a.url, "/apps/nope")).status_code == 404

    run(world, tmp_path, body)


@pytest.mark.parametrize("path", ["/apps/app-0", "/refresh/app-0", "/apps/app-0/history"])
def test_app_of_names_the_app_a_request_is_about(path: str) -> None:
    assert shardroute.app_of(path + "?x=1") == "app-0"
    assert shardroute.app_of("/apps") is None
    assert shardroute.app_of("/refresh?repo=x") is None
