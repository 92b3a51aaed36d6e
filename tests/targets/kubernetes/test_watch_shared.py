"""One watch per kind shared by every app, and drift from re-lists, on recorded traffic.

Request counts and resourceVersions need a server that keeps them: the answers are
written by hand in the API server's wire format (`watch_traffic`), not captured from a
cluster, and served over real HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx2 as httpx

from conveyor.clients.kube_watch import HttpListWatch, Scope
from conveyor.targets.base import EventKind, ObjectRef, TargetEvent
from conveyor.targets.kubernetes.informer import Backoff
from conveyor.targets.kubernetes.watch import Watches
from conveyor.targets.kubernetes.watch_events import DriftFeed
from tests.targets.kubernetes.watch_traffic import (
    CONFIGMAPS,
    SHOP,
    RecordedApiServer,
    configmap,
    event,
    expired,
    list_body,
    until,
)


@contextlib.asynccontextmanager
async def shared(server: RecordedApiServer) -> AsyncIterator[tuple[Watches, DriftFeed]]:
    source = HttpListWatch(
        httpx.AsyncClient(base_url=server.url, timeout=httpx.Timeout(5, read=None))
    )
    feed = DriftFeed()
    watches = Watches(source, backoff=Backoff(initial=0.05), on_start=feed.attach)
    try:
        yield watches, feed
    finally:
        await watches.close()
        await source.aclose()


def collect(feed: DriftFeed) -> list[TargetEvent]:
    seen: list[TargetEvent] = []

    async def read() -> None:
        async for item in feed.events():
            seen.append(item)

    asyncio.get_running_loop().create_task(read())
    return seen


def test_apps_needing_one_kind_share_one_watch_until_the_last_releases_it() -> None:
    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(list_body("100"))
            first = server.open_watch()
            second = server.open_watch()
            async with shared(server) as (watches, _):
                shop = watches.acquire(CONFIGMAPS, SHOP)
                cart = watches.acquire(CONFIGMAPS, SHOP)
                assert shop is cart and watches.users(CONFIGMAPS, SHOP) == 2
                await until(lambda: len(server.watches()) == 1)
                await watches.release(CONFIGMAPS, SHOP)
                first.close()  # still one user: the informer resumes
                await until(lambda: len(server.watches()) == 2)
                await watches.release(CONFIGMAPS, SHOP)
                assert watches.users(CONFIGMAPS, SHOP) == 0 and watches.informers() == []
                second.close()  # nobody uses it: no watch again
                await asyncio.sleep(0.3)
                assert len(server.watches()) == 2 and len(server.lists()) == 1

    asyncio.run(scenario())


def test_each_scope_gets_its_own_informer() -> None:
    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(list_body("100"))
            server.answer_list(list_body("100"))
            async with shared(server) as (watches, _):
                one = watches.acquire(CONFIGMAPS, SHOP)
                every = watches.acquire(CONFIGMAPS, Scope(label_selector="conveyor.dev/app"))
                assert one is not every
                await until(lambda: len(server.lists()) == 2)
                paths = sorted(r.path for r in server.lists())
                assert paths == ["/api/v1/configmaps", "/api/v1/namespaces/shop/configmaps"]

    asyncio.run(scenario())


def test_an_object_deleted_while_the_watch_was_gone_is_drift_after_the_relist() -> None:
    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(list_body("100", configmap("a", "90"), configmap("b", "91")))
            stream = server.open_watch()
            server.answer_list(list_body("300", configmap("a", "90")))
            async with shared(server) as (watches, feed):
                seen = collect(feed)
                watches.acquire(CONFIGMAPS, SHOP)
                await until(lambda: len(server.watches()) == 1)
                stream.send(event("ERROR", expired("100", "300")))
                await until(lambda: len(seen) == 1)
                b = ObjectRef(group="", kind="ConfigMap", namespace="shop", name="b")
                assert seen == [TargetEvent(ref=b, kind=EventKind.DELETED, app="shop")]

    asyncio.run(scenario())


def test_the_reconcilers_own_write_is_not_reported_back_as_drift() -> None:
    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(list_body("100", configmap("a", "90")))
            stream = server.open_watch()
            async with shared(server) as (watches, feed):
                seen = collect(feed)
                watches.acquire(CONFIGMAPS, SHOP)
                await until(lambda: len(server.watches()) == 1)
                a = ObjectRef(group="", kind="ConfigMap", namespace="shop", name="a")
                feed.expect(a, "120")  # the apply answered resourceVersion 120
                stream.send(event("MODIFIED", configmap("a", "120", data="applied")))
                stream.send(event("MODIFIED", configmap("a", "130", data="by hand")))
                await until(lambda: len(seen) == 1)
                await asyncio.sleep(0.05)
                assert seen == [TargetEvent(ref=a, kind=EventKind.CHANGED, app="shop")]

    asyncio.run(scenario())


def test_an_own_writes_event_arriving_before_its_answer_is_still_no_drift() -> None:
    """The write's answer and its watch event come on two connections, in either order:
    while a write is held, its event waits for the answer's resourceVersion."""

    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(list_body("100", configmap("a", "90"), configmap("b", "91")))
            stream = server.open_watch()
            async with shared(server) as (watches, feed):
                seen = collect(feed)
                watches.acquire(CONFIGMAPS, SHOP)
                await until(lambda: len(server.watches()) == 1)
                a = ObjectRef(group="", kind="ConfigMap", namespace="shop", name="a")
                b = ObjectRef(group="", kind="ConfigMap", namespace="shop", name="b")
                feed.hold(a)
                feed.hold(b)
                stream.send(event("MODIFIED", configmap("a", "120", data="applied")))
                stream.send(event("MODIFIED", configmap("a", "130", data="by hand")))
                stream.send(event("DELETED", configmap("b", "131")))
                await asyncio.sleep(0.1)
                assert seen == []  # held until the writes answer
                feed.expect(a, "120")  # the apply's answer, after its event
                feed.expect_gone(b)  # the delete's answer
                await until(lambda: len(seen) == 1)
                await asyncio.sleep(0.05)
                assert seen == [TargetEvent(ref=a, kind=EventKind.CHANGED, app="shop")]

    asyncio.run(scenario())
