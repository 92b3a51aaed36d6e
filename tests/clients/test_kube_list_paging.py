"""Paged LISTs (`HttpListWatch.list`) and the informer on top of them, against recorded
API-server traffic: kmock's KubernetesEmulator ignores `limit` and `continue` (it answers
every LIST in one piece), so the pages, continue tokens and the `410 Gone` of an expired
token below are written by hand in the wire format of the Kubernetes API documentation
("API concepts": retrieving large results sets in chunks), served by a real HTTP server
(`watch_traffic.RecordedApiServer`) and read through the real client. Not verified against
a real API server.

A real server serves every page of one LIST from one snapshot, so all pages carry the same
`metadata.resourceVersion`; the pages below carry different ones only to show which one the
client keeps (the last page's)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx2 as httpx
import pytest

from conveyor.clients.kube_watch import HttpListWatch, Scope, WatchGone
from conveyor.targets.kubernetes.informer import Backoff, Informer
from tests.targets.kubernetes.watch_traffic import (
    CONFIGMAPS,
    RecordedApiServer,
    configmap,
    list_body,
    until,
)

SELECTED = Scope(namespace="shop", label_selector="conveyor.dev/app")


def page(version: str, token: str, *names: str) -> dict[str, Any]:
    """One page of a chunked LIST: `metadata.continue` names the next (absent on the last)."""
    body = list_body(version, *(configmap(n, "90") for n in names))
    if token:
        body["metadata"]["continue"] = token
        body["metadata"]["remainingItemCount"] = 1
    return body


def continue_expired() -> dict[str, Any]:
    """The Status a server answers for a continue token whose snapshot it compacted (410,
    reason Expired; it may offer an inconsistent token to go on with, which we do not use)."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {"continue": "inconsistent-token"},
        "status": "Failure",
        "message": "the continue token is too old for a consistent list: list again from "
        "the start (or use the token given here for an inconsistent remainder)",
        "reason": "Expired",
        "code": 410,
    }


@contextlib.asynccontextmanager
async def source(page_size: int) -> AsyncIterator[tuple[RecordedApiServer, HttpListWatch]]:
    async with RecordedApiServer() as server:
        client = HttpListWatch(
            httpx.AsyncClient(base_url=server.url, timeout=httpx.Timeout(5, read=None)),
            page_size=page_size,
        )
        try:
            yield server, client
        finally:
            await client.aclose()


def names(items: tuple[dict[str, Any], ...]) -> list[str]:
    return [str(item["metadata"]["name"]) for item in items]


def test_a_list_follows_continue_tokens_and_keeps_the_last_pages_resource_version() -> None:
    async def scenario() -> None:
        async with source(page_size=2) as (server, lister):
            server.answer_list(page("500", "token-1", "a", "b"))
            server.answer_list(page("501", "token-2", "c", "d"))
            server.answer_list(page("502", "", "e"))
            listing = await lister.list(CONFIGMAPS, SELECTED)
            assert names(listing.items) == ["a", "b", "c", "d", "e"]
            assert listing.resource_version == "502"
            queries = [r.query for r in server.lists()]
            assert [q.get("continue") for q in queries] == [None, "token-1", "token-2"]
            assert {q["limit"] for q in queries} == {"2"}
            assert {q["labelSelector"] for q in queries} == {"conveyor.dev/app"}

    asyncio.run(scenario())


def test_an_expired_continue_token_lists_again_in_full_from_the_start() -> None:
    async def scenario() -> None:
        async with source(page_size=2) as (server, lister):
            server.answer_list(page("500", "token-1", "a", "b"))
            server.answer_list(continue_expired(), status=410)
            server.answer_list(list_body("700", *(configmap(n, "90") for n in "abcx")))
            listing = await lister.list(CONFIGMAPS, SELECTED)
            assert names(listing.items) == ["a", "b", "c", "x"]  # the full list alone
            assert listing.resource_version == "700"
            full = server.lists()[2].query
            assert "limit" not in full and "continue" not in full
            assert full["labelSelector"] == "conveyor.dev/app"

    asyncio.run(scenario())


def test_a_410_on_the_first_page_is_the_callers_to_handle() -> None:
    async def scenario() -> None:
        async with source(page_size=2) as (server, lister):
            server.answer_list(continue_expired(), status=410)
            with pytest.raises(WatchGone):
                await lister.list(CONFIGMAPS, SELECTED)
            assert len(server.lists()) == 1

    asyncio.run(scenario())


def test_the_informer_caches_every_page_and_watches_from_the_last_pages_version() -> None:
    async def scenario() -> None:
        async with source(page_size=2) as (server, lister):
            server.answer_list(page("500", "token-1", "a", "b"))
            server.answer_list(page("501", "", "c"))
            informer = Informer(
                lister, CONFIGMAPS, SELECTED, backoff=Backoff(initial=0.05, maximum=0.2)
            )
            task = asyncio.create_task(informer.run())
            try:
                await until(lambda: len(server.watches()) == 1)
                assert sorted(o["metadata"]["name"] for o in informer.items()) == ["a", "b", "c"]
                assert server.watches()[0].query["resourceVersion"] == "501"
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    asyncio.run(scenario())
