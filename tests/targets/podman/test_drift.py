"""Drift: containers stopped or removed by hand are reported and healed; strangers untouched."""

from __future__ import annotations

import asyncio
import contextlib
import time

from conveyor.targets.base import OWNER_LABEL, EventKind, ObjectRef, TargetEvent
from conveyor.targets.podman import PodmanTarget

from .conftest import WEB_IMAGE, Env
from .manifests import deployment

DEPLOY = ObjectRef(group="apps", kind="Deployment", namespace="demo", name="web")


async def ready(target: PodmanTarget, replicas: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = await target.get(DEPLOY)
        assert live is not None
        if live["status"]["readyReplicas"] == replicas == live["status"]["replicas"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("replicas never became ready")


async def next_event(events: list[TargetEvent], timeout: float = 10.0) -> TargetEvent:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if events:
            return events.pop(0)
        await asyncio.sleep(0.02)
    raise AssertionError("no TargetEvent")


def test_hand_killed_and_removed_containers_are_drift_and_come_back(env: Env) -> None:
    async def scenario() -> None:
        target = env.make()
        events: list[TargetEvent] = []

        async def collect() -> None:
            async for event in target.events():
                events.append(event)

        collector = asyncio.create_task(collect())
        stranger = "conveyor-test-stranger-" + env.name
        try:
            await env.podman.run(
                "run", "-d", "--name", stranger, "--label", "app=web", f"{WEB_IMAGE}:v1"
            )
            await target.apply(deployment("web", replicas=1))
            await ready(target, 1)
            events.clear()
            (victim,) = list(target.controller.table.tracked)
            await env.podman.run("kill", victim)
            event = await next_event(events)
            assert (event.ref, event.kind, event.app) == (DEPLOY, EventKind.CHANGED, "demo")
            await ready(target, 1)
            inspect = await env.podman.json("inspect", victim)
            assert inspect[0]["State"]["Running"] is True  # restarted in place
            events.clear()
            await env.podman.run("pause", victim)
            assert (await next_event(events)).ref == DEPLOY
            await ready(target, 1)
            inspect = await env.podman.json("inspect", victim)
            assert inspect[0]["State"]["Status"] == "running"  # unpaused
            events.clear()
            await env.podman.run("rm", "-f", "-t", "0", victim)
            assert (await next_event(events)).ref == DEPLOY
            await ready(target, 1)
            assert list(target.controller.table.tracked) == [victim]  # re-created, same name
            owned = await target.list_owned("demo")
            assert [o["kind"] for o in owned] == ["Deployment"]
            assert owned[0]["metadata"]["labels"][OWNER_LABEL] == "demo"
            # the hand-made container with a matching app label was never touched
            found = await env.podman.json("inspect", stranger)
            assert found[0]["State"]["Running"] is True
        finally:
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await collector
            await target.aclose()
            await env.podman.run("rm", "-f", "-t", "0", stranger, check=False)

    asyncio.run(scenario())
