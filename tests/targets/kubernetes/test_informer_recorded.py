"""The informer's LIST/WATCH cycle against recorded API-server traffic (`watch_traffic`).

These behaviours cannot be shown with kmock's emulator (no resourceVersions, no bookmarks,
no 410): the answers below are written by hand in the API server's wire format, served by
a real HTTP server, and read through the real `HttpListWatch` client. Not verified against
a real API server.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import httpx2 as httpx
import pytest

from conveyor.clients.kube_watch import HttpListWatch, ResourceKind, Scope
from conveyor.targets.kubernetes.informer import Backoff, Change, ChangeType, Informer
from tests.targets.kubernetes.watch_traffic import (
    CM,
    CONFIGMAPS,
    SHOP,
    RecordedApiServer,
    bookmark,
    configmap,
    event,
    expired,
    list_body,
    until,
)

FAST = Backoff(initial=0.05, factor=2.0, maximum=0.2)


@contextlib.asynccontextmanager
async def informing(
    server: RecordedApiServer, *, scope: Scope = SHOP, resync: float = 300.0
) -> AsyncIterator[tuple[Informer, list[Change]]]:
    source = HttpListWatch(
        httpx.AsyncClient(base_url=server.url, timeout=httpx.Timeout(5, read=None))
    )
    informer = Informer(source, CONFIGMAPS, scope, resync=resync, backoff=FAST)
    changes: list[Change] = []
    informer.subscribe(changes.append)
    task = asyncio.create_task(informer.run())
    try:
        yield informer, changes
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await source.aclose()


def seen(changes: list[Change]) -> list[tuple[str, str]]:
    return [(c.type.value, c.key[1]) for c in changes if not c.initial]


def test_list_then_watch_from_the_lists_resource_version_with_bookmarks() -> None:
    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(list_body("100", configmap("a", "90"), configmap("b", "95")))
            stream = server.open_watch()
            async with informing(server) as (informer, changes):
                await until(lambda: len(server.watches()) == 1)
                stream.send(event("MODIFIED", configmap("a", "101", data="edited")))
                await until(lambda: len(seen(changes)) == 1)
                watch = server.watches()[0]
                assert watch.path == CM
                assert watch.query["resourceVersion"] == "100"
                assert watch.query["allowWatchBookmarks"] == "true"
                assert [c.type for c in changes if c.initial] == [ChangeType.ADDED] * 2
                assert seen(changes) == [("MODIFIED", "a")]
                assert informer.get("shop", "a")["data"] == {"key": "edited"}  # type: ignore[index]
                assert informer.resource_version == "101"

    asyncio.run(scenario())


def test_listed_objects_carry_api_version_and_kind_like_watched_ones() -> None:
    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(list_body("100", configmap("a", "90")))
            async with informing(server) as (informer, _):
                await informer.synced.wait()
                cached = informer.get("shop", "a")
                assert cached is not None
                assert (cached["apiVersion"], cached["kind"]) == ("v1", "ConfigMap")

    asyncio.run(scenario())


def test_a_dropped_watch_resumes_from_the_last_resource_version_without_listing() -> None:
    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(list_body("100", configmap("a", "90")))
            first = server.open_watch()
            async with informing(server) as (_, changes):
                await until(lambda: len(server.watches()) == 1)
                first.send(event("MODIFIED", configmap("a", "120", data="x")))
                first.close()  # the connection drops
                await until(lambda: len(server.watches()) == 2)
                assert server.watches()[1].query["resourceVersion"] == "120"
                assert len(server.lists()) == 1
                assert seen(changes) == [("MODIFIED", "a")]

    asyncio.run(scenario())


def test_a_bookmark_moves_the_resource_version_the_watch_resumes_from() -> None:
    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(list_body("100", configmap("a", "90")))
            first = server.open_watch()
            async with informing(server) as (informer, changes):
                await until(lambda: len(server.watches()) == 1)
                first.send(bookmark("150"))
                first.close()
                await until(lambda: len(server.watches()) == 2)
                assert server.watches()[1].query["resourceVersion"] == "150"
                assert informer.stats.bookmarks == 1
                assert seen(changes) == []  # a bookmark changes no object

    asyncio.run(scenario())


def test_gone_as_an_error_event_relists_and_reports_what_changed_meanwhile() -> None:
    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(
                list_body(
                    "100",
                    configmap("kept", "90"),
                    configmap("edited", "91"),
                    configmap("deleted", "92"),
                )
            )
            first = server.open_watch()
            server.answer_list(
                list_body(
                    "300",
                    configmap("kept", "90"),
                    configmap("edited", "250", data="new"),
                    configmap("created", "260"),
                )
            )
            async with informing(server) as (informer, changes):
                await until(lambda: len(server.watches()) == 1)
                first.send(event("ERROR", expired("100", "280")))
                await until(lambda: len(server.watches()) == 2)
                assert sorted(seen(changes)) == [
                    ("ADDED", "created"),
                    ("DELETED", "deleted"),
                    ("MODIFIED", "edited"),
                ]
                deleted = next(c for c in changes if c.type == ChangeType.DELETED)
                assert deleted.object["metadata"]["resourceVersion"] == "92"  # last known state
                assert server.watches()[1].query["resourceVersion"] == "300"
                assert sorted(k[1] for k in informer.objects) == ["created", "edited", "kept"]
                assert informer.stats.gone == 1

    asyncio.run(scenario())


def test_gone_as_an_http_status_relists_too() -> None:
    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(list_body("100", configmap("a", "90")))
            server.refuse_watch(410, expired("100", "500"))
            server.answer_list(list_body("500"))
            async with informing(server) as (informer, changes):
                await until(lambda: len(server.watches()) == 2)
                assert seen(changes) == [("DELETED", "a")]
                assert len(server.lists()) == 2
                assert informer.stats.gone == 1

    asyncio.run(scenario())


def test_server_errors_back_off_and_resume_from_the_same_version() -> None:
    failure = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": "etcdserver: leader changed",
        "reason": "InternalError",
        "code": 500,
    }

    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(list_body("100"))
            server.refuse_watch(500, failure)
            server.refuse_watch(500, failure)
            async with informing(server) as (informer, _):
                started = time.monotonic()
                await until(lambda: len(server.watches()) == 3)
                waited = time.monotonic() - started
                assert waited >= FAST.delay(1) + FAST.delay(2) - 0.01
                assert [w.query["resourceVersion"] for w in server.watches()] == ["100"] * 3
                assert informer.stats.failures == 2
                assert "leader changed" in informer.stats.last_error

    asyncio.run(scenario())


def test_resync_relists_and_reports_a_change_the_watch_missed() -> None:
    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(list_body("100", configmap("a", "90")))
            server.answer_list(list_body("200", configmap("a", "180", data="missed")))
            async with informing(server, resync=0.3) as (informer, changes):
                await until(lambda: len(server.lists()) == 2)
                await until(lambda: len(seen(changes)) == 1)
                assert seen(changes) == [("MODIFIED", "a")]
                assert informer.stats.resyncs == 1

    asyncio.run(scenario())


def test_the_label_selector_limits_both_list_and_watch() -> None:
    scope = Scope(namespace="shop", label_selector="conveyor.dev/app")

    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(list_body("100"))
            async with informing(server, scope=scope):
                await until(lambda: len(server.watches()) == 1)
                for request in server.requests:
                    assert request.query["labelSelector"] == "conveyor.dev/app"

    asyncio.run(scenario())


@pytest.mark.parametrize("namespace, path", [(None, "/api/v1/configmaps"), ("shop", CM)])
def test_scope_namespace_picks_the_collection_path(namespace: str | None, path: str) -> None:
    assert CONFIGMAPS.path(namespace) == path
    apps = ResourceKind(group="apps", version="v1", kind="Deployment", plural="deployments")
    assert apps.path("shop") == "/apis/apps/v1/namespaces/shop/deployments"


def test_a_resync_period_that_is_not_positive_is_refused_naming_the_kind() -> None:
    source = HttpListWatch(httpx.AsyncClient(base_url="http://127.0.0.1:1"))
    with pytest.raises(ValueError, match="resync period of configmaps must be a positive"):
        Informer(source, CONFIGMAPS, SHOP, resync=0)
