"""Zero-downtime rolling updates through the Service, including a kill -9 of the driver."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conveyor.targets.base import ObjectRef
from conveyor.targets.podman import PodmanTarget

from .conftest import WEB_IMAGE, Env, free_port, image_created
from .http import get, wait_for
from .manifests import deployment, readiness, service

DEPLOY = ObjectRef(group="apps", kind="Deployment", namespace="demo", name="web")
ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Poller:
    """GETs the Service every 20 ms; records each body or error, in order."""

    port: int
    seen: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stop: bool = False

    async def run(self) -> None:
        while not self.stop:
            try:
                self.seen.append(await get(self.port, timeout=2.0))
            except (OSError, TimeoutError, ValueError) as exc:
                self.errors.append(repr(exc))
            await asyncio.sleep(0.02)


async def rolled_out(target: PodmanTarget, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = await target.get(DEPLOY)
        assert live is not None
        st = live["status"]
        if st["updatedReplicas"] == st["readyReplicas"] == st["replicas"] == 2:
            return live
        await asyncio.sleep(0.05)
    raise AssertionError("rollout did not finish")


def reason(st: dict) -> str:
    return str({c["type"]: c for c in st["conditions"]}["Progressing"]["reason"])


async def status_where(target: PodmanTarget, check: Callable[[dict], bool]) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        live = await target.get(DEPLOY)
        assert live is not None
        if check(live["status"]):
            return live
        await asyncio.sleep(0.05)
    raise AssertionError(f"status never matched: {live['status']}")


def switched(seen: list[str]) -> bool:
    """Old first, new last, nothing else in between."""
    return bool(seen) and seen[0] == "v1" and seen[-1] == "v2" and set(seen) == {"v1", "v2"}


def test_image_change_rolls_out_without_a_failed_request(env: Env) -> None:
    port = free_port()

    async def scenario() -> None:
        target = env.make()
        try:
            await target.apply(deployment("web", image=f"{WEB_IMAGE}:v1"))
            await target.apply(service("web", port))
            await rolled_out(target)
            await wait_for(port, "v1")
            poller = Poller(port)
            task = asyncio.create_task(poller.run())
            await asyncio.sleep(0.3)
            await target.apply(deployment("web", image=f"{WEB_IMAGE}:v2"))
            await rolled_out(target)
            await asyncio.sleep(0.5)
            poller.stop = True
            await task
            assert poller.errors == []
            assert switched(poller.seen), Counter(poller.seen)
            assert len(poller.seen) > 20
        finally:
            await target.aclose()

    asyncio.run(scenario())


def _driver(env: Env, image: str, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.targets.podman.driver",
            str(env.state_dir),
            env.name,
            image,
            str(port),
            str(env.podman.state_dir),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


async def _wait_line(proc: subprocess.Popen[str], want: str, timeout: float = 30.0) -> None:
    assert proc.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), timeout)
    assert line.strip() == want


def _kill(proc: subprocess.Popen[str], how: signal.Signals = signal.SIGKILL) -> None:
    os.kill(proc.pid, how)
    proc.wait(timeout=60)
    if proc.stdout:
        proc.stdout.close()


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_kill_9_of_the_driver_mid_rollout_keeps_serving_and_the_rollout_completes(
    env: Env, how: signal.Signals
) -> None:
    port = free_port()

    async def scenario() -> None:
        first = _driver(env, f"{WEB_IMAGE}:v1", port)
        try:
            await _wait_line(first, "READY")
            # routes follow readiness a tick later (as Endpoints do): v1 is served first
            await wait_for(port, "v1")
        finally:
            _kill(first)
        await wait_for(port, "v1")
        poller = Poller(port)
        task = asyncio.create_task(poller.run())
        await asyncio.sleep(0.3)  # the driver is dead; the proxy serves alone
        second = _driver(env, f"{WEB_IMAGE}:v2", port)
        try:
            await image_created(env, f"{WEB_IMAGE}:v2", timeout=20.0)
        finally:
            _kill(second, how)  # mid-rollout: a v2 replica exists, v1 ones still serve
        await asyncio.sleep(0.5)
        third = _driver(env, f"{WEB_IMAGE}:v2", port)
        try:
            await _wait_line(third, "READY")
            await asyncio.sleep(0.5)
        finally:
            _kill(third)
        poller.stop = True
        await task
        assert poller.errors == []
        assert switched(poller.seen), Counter(poller.seen)

    asyncio.run(scenario())


def test_failing_readiness_holds_the_rollout_then_exceeds_the_deadline(env: Env) -> None:
    port = free_port()

    async def scenario() -> None:
        target = env.make()
        try:
            await target.apply(deployment("web", deadline=3))
            await target.apply(service("web", port))
            await rolled_out(target)
            broken = deployment(
                "web", image=f"{WEB_IMAGE}:v2", deadline=3, probe=readiness(path="/missing")
            )
            await target.apply(broken)
            live = await status_where(target, lambda st: st["updatedReplicas"] == 1)
            started = time.monotonic()
            progressing = {c["type"]: c for c in live["status"]["conditions"]}["Progressing"]
            assert (progressing["status"], progressing["reason"]) == ("True", "ReplicaSetUpdated")
            assert live["status"]["readyReplicas"] == 2  # the old ones
            live = await status_where(target, lambda st: reason(st) == "ProgressDeadlineExceeded")
            assert time.monotonic() - started > 1.5  # held by the deadline, not at once
            assert live["status"]["readyReplicas"] == 2
            assert live["status"]["updatedReplicas"] == 1  # maxSurge 25% of 2 -> 1, held
            assert {await get(port) for _ in range(6)} == {"v1"}  # old replicas still serve
        finally:
            await target.aclose()

    asyncio.run(scenario())


def test_recreate_removes_old_replicas_before_starting_new_ones(env: Env) -> None:
    async def scenario() -> None:
        target = env.make()
        seen: set[tuple[str, ...]] = set()
        try:
            recreate = {"type": "Recreate"}
            await target.apply(deployment("web", strategy=recreate))
            await rolled_out(target)
            await target.apply(deployment("web", image=f"{WEB_IMAGE}:v2", strategy=recreate))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                live = await target.get(DEPLOY)
                assert live is not None
                images = tuple(
                    sorted(
                        {
                            str(t.replica.labels.get("conveyor.dev/container", ""))
                            for t in target.controller.table.tracked.values()
                            if t.replica.running
                            and t.replica.name not in target.controller.table.draining
                        }
                    )
                )
                seen.add(tuple("v2" in i for i in images))
                st = live["status"]
                if st["updatedReplicas"] == st["readyReplicas"] == st["replicas"] == 2:
                    break
                await asyncio.sleep(0.02)
            assert (True, False) not in seen and (False, True) not in seen  # never mixed
        finally:
            await target.aclose()

    asyncio.run(scenario())
