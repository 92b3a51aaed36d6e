"""Drift events and waits from shared informers, against kmock's KubernetesEmulator.

Changes are made through the emulator's HTTP API (as `kubectl edit` / `kubectl delete`
would make them) and must come out of `DriftFeed.events()` as the Target protocol's
`TargetEvent`s, naming the owning app, quickly. Verified against the emulator only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from conveyor.clients.kube_watch import HttpListWatch, Scope
from conveyor.reconcile import health
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import EventKind, Manifest, ObjectRef, TargetEvent
from conveyor.targets.kubernetes.informer import Backoff
from conveyor.targets.kubernetes.watch import (
    RECHECK,
    UNWATCHED,
    NotWatched,
    WaitTimedOut,
    Watches,
    changed,
)
from conveyor.targets.kubernetes.watch_events import DriftFeed
from tests.targets.kubernetes.kube_emulator import (
    DEPLOYMENTS,
    JOBS,
    create,
    delete,
    deployment,
    emulator,
    patch,
)

SHOP = Scope(namespace="shop")
WEB = ObjectRef(group="apps", kind="Deployment", namespace="shop", name="web")
MIGRATE = ObjectRef(group="batch", kind="Job", namespace="shop", name="migrate")


@contextlib.asynccontextmanager
async def watching() -> AsyncIterator[tuple[HttpListWatch, Watches, DriftFeed]]:
    async with emulator() as (_, source):
        feed = DriftFeed()
        watches = Watches(source, backoff=Backoff(initial=0.05), on_start=feed.attach)
        try:
            yield source, watches, feed
        finally:
            await watches.close()


class Events:
    """Reads `events()` the way `reconcile.loop` does (one `async for`), into a queue."""

    def __init__(self, feed: DriftFeed) -> None:
        self.queue: asyncio.Queue[TargetEvent] = asyncio.Queue()
        self.task = asyncio.create_task(self._read(feed.events()))

    async def _read(self, events: AsyncIterator[TargetEvent]) -> None:
        async for event in events:
            self.queue.put_nowait(event)


async def next_event(events: Events, timeout: float = 2.0) -> TargetEvent:
    return await asyncio.wait_for(events.queue.get(), timeout)


def test_an_edit_by_hand_is_drift_of_the_owning_app() -> None:
    async def scenario() -> None:
        async with watching() as (source, watches, feed):
            await create(source, DEPLOYMENTS, deployment("web"))
            events = Events(feed)
            informer = watches.acquire(DEPLOYMENTS, SHOP)
            await informer.synced.wait()
            await patch(source, DEPLOYMENTS, "shop", "web", {"spec": {"replicas": 5}})
            event = await next_event(events)
            assert event == TargetEvent(ref=WEB, kind=EventKind.CHANGED, app="shop")
            assert informer.get("shop", "web")["spec"]["replicas"] == 5  # type: ignore[index]

    asyncio.run(scenario())


def test_a_deletion_by_hand_is_reported_deleted() -> None:
    async def scenario() -> None:
        async with watching() as (source, watches, feed):
            await create(source, DEPLOYMENTS, deployment("web"))
            events = Events(feed)
            await watches.acquire(DEPLOYMENTS, SHOP).synced.wait()
            await delete(source, DEPLOYMENTS, "shop", "web")
            event = await next_event(events)
            assert event == TargetEvent(ref=WEB, kind=EventKind.DELETED, app="shop")

    asyncio.run(scenario())


def test_filling_the_cache_and_the_watchs_replay_are_not_drift() -> None:
    """The first LIST finds `web`, then the emulator's watch replays it as ADDED: neither
    is a change in the cluster. An object created afterwards is."""

    async def scenario() -> None:
        async with watching() as (source, watches, feed):
            await create(source, DEPLOYMENTS, deployment("web"))
            events = Events(feed)
            await watches.acquire(DEPLOYMENTS, SHOP).synced.wait()
            with pytest.raises(TimeoutError):
                await next_event(events, timeout=0.3)
            await create(source, DEPLOYMENTS, deployment("api", app="api"))
            event = await next_event(events)
            assert (event.ref.name, event.kind, event.app) == ("api", EventKind.CHANGED, "api")

    asyncio.run(scenario())


def test_every_change_arrives_as_one_drift_event_with_its_latency_recorded() -> None:
    """Each of 20 patches yields one event, and the feed records how long each took from
    the watch line to `events()`; the 200 ms target is measured by
    bench/kube_watch_latency.py, not asserted here (no timed unit tests)."""

    async def scenario() -> None:
        async with watching() as (source, watches, feed):
            await create(source, DEPLOYMENTS, deployment("web"))
            events = Events(feed)
            await watches.acquire(DEPLOYMENTS, SHOP).synced.wait()
            for replicas in range(1, 21):
                await patch(source, DEPLOYMENTS, "shop", "web", {"spec": {"replicas": replicas}})
                event = await next_event(events)
                assert (event.ref.name, event.kind) == ("web", EventKind.CHANGED)
            assert len(feed.latencies) == 20 and all(x >= 0 for x in feed.latencies)

    asyncio.run(scenario())


def complete(obj: Manifest | None) -> bool:
    return obj is not None and health.assess(obj).status != HealthStatus.PROGRESSING


def job(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": "shop", "labels": {"conveyor.dev/app": "shop"}},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "migrate", "image": "migrate:1"}],
                }
            }
        },
    }


def test_waiting_for_a_job_ends_when_its_completion_is_watched() -> None:
    async def scenario() -> None:
        async with watching() as (source, watches, _):
            await create(source, JOBS, job("migrate"))
            watches.acquire(JOBS, SHOP)
            waiting = asyncio.create_task(watches.wait_for(MIGRATE, complete, timeout=5))
            await asyncio.sleep(0.1)
            assert not waiting.done()
            done = {"type": "Complete", "status": "True", "reason": "CompletionsReached"}
            await patch(
                source, JOBS, "shop", "migrate", {"status": {"succeeded": 1, "conditions": [done]}}
            )
            finished = await waiting
            assert health.assess(finished).status == HealthStatus.HEALTHY

    asyncio.run(scenario())


def test_a_wait_already_satisfied_returns_at_once_and_one_for_deletion_waits() -> None:
    async def scenario() -> None:
        async with watching() as (source, watches, _):
            await create(source, JOBS, job("migrate"))
            watches.acquire(JOBS, SHOP)
            present = await watches.wait_for(MIGRATE, lambda o: o is not None, timeout=2)
            assert present is not None and present["metadata"]["name"] == "migrate"
            gone = asyncio.create_task(watches.wait_for(MIGRATE, lambda o: o is None, timeout=5))
            await asyncio.sleep(0.05)
            await delete(source, JOBS, "shop", "migrate")
            assert await gone is None

    asyncio.run(scenario())


def test_a_wait_times_out_with_the_objects_name_and_an_unwatched_kind_is_refused() -> None:
    async def scenario() -> None:
        async with watching() as (source, watches, _):
            await create(source, JOBS, job("migrate"))
            watches.acquire(JOBS, SHOP)
            with pytest.raises(WaitTimedOut, match=r"Job.batch shop/migrate: not there after 0.2s"):
                await watches.wait_for(MIGRATE, complete, timeout=0.2)
            with pytest.raises(NotWatched, match="no watch on Deployment"):
                await watches.wait_for(WEB, complete, timeout=0.2)

    asyncio.run(scenario())


def test_changed_wakes_on_the_objects_event_and_falls_back_to_a_short_wait_when_unwatched() -> None:
    async def scenario() -> None:
        async with watching() as (source, watches, _):
            await create(source, JOBS, job("migrate"))
            await watches.acquire(JOBS, SHOP).synced.wait()
            loop = asyncio.get_running_loop()
            started = loop.time()
            waking = asyncio.create_task(changed(watches, [MIGRATE], timeout=5))
            await asyncio.sleep(0.05)
            await patch(source, JOBS, "shop", "migrate", {"spec": {"suspend": True}})
            await waking
            assert loop.time() - started < RECHECK
            started = loop.time()
            await changed(watches, [WEB], timeout=5)  # Deployments are not watched here
            assert UNWATCHED <= loop.time() - started < RECHECK

    asyncio.run(scenario())
