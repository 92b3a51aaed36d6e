"""End to end: Git -> the reconciler -> the Podman target, with kill -9 of the reconciler
in the middle of a rollout. The Service keeps answering throughout and the rollout
completes after the restart; the app ends Synced and Healthy."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.loop import Loop
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env as ReconcileEnv
from conveyor.store import Store
from conveyor.targets.podman import PodmanTarget
from tests.gitutil import git

from .conftest import WEB_IMAGE, Env, free_port, image_created
from .http import wait_for
from .manifests import deployment, readiness, service
from .reconciler_driver import application
from .test_rollout import ROOT, Poller, switched


def publish(work: Path, image: str, port: int, **options: Any) -> None:
    """Commit the app's manifests (no namespace: the Application's destination sets it)."""
    objects = [deployment("web", image=image, **options), service("web", port)]
    for obj in objects:
        del obj["metadata"]["namespace"]
        obj["metadata"]["labels"] = {}
    (work / "app").mkdir(exist_ok=True)
    (work / "app" / "web.yaml").write_text(yaml.safe_dump_all(objects))
    git(work, "add", "-A")
    git(work, "commit", "-qm", image)
    git(work, "push", "-q", "origin", "HEAD:main")


class Driver:
    def __init__(self, env: Env, origin: Path) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.targets.podman.reconciler_driver",
                str(env.state_dir),
                env.name,
                str(origin),
                str(env.podman.state_dir),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []

    async def wait(self, want: str, timeout: float = 40.0) -> None:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = await asyncio.wait_for(
                asyncio.to_thread(self.proc.stdout.readline), deadline - time.monotonic()
            )
            self.lines.append(line.strip())
            if line.strip() == want:
                return
        raise AssertionError(f"never saw {want!r}: {self.lines}")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


DEADLINE = 6  # long enough that a slow CI host still sees Progressing before Degraded


def config_repo(tmp_path: Path) -> tuple[Path, Path]:
    origin, work = tmp_path / "origin.git", tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    git(tmp_path, "clone", "-q", str(origin), str(work))
    git(work, "checkout", "-qb", "main")
    return origin, work


def test_kill_9_of_the_reconciler_mid_rollout(env: Env, tmp_path: Path) -> None:
    origin, work = config_repo(tmp_path)
    port = free_port()
    publish(work, f"{WEB_IMAGE}:v1", port)

    async def scenario() -> None:
        first = Driver(env, origin)
        try:
            await first.wait("STATUS Synced Healthy")
            await wait_for(port, "v1")
            poller = Poller(port)
            task = asyncio.create_task(poller.run())
            publish(work, f"{WEB_IMAGE}:v2", port)
            await image_created(env, f"{WEB_IMAGE}:v2")
        finally:
            first.kill()  # mid-rollout
        await asyncio.sleep(0.5)  # nobody drives; the proxy serves alone
        second = Driver(env, origin)
        try:
            await second.wait("STATUS Synced Healthy")
            await wait_for(port, "v2")
            await asyncio.sleep(0.3)
        finally:
            second.kill()
        poller.stop = True
        await task
        assert poller.errors == []
        assert switched(poller.seen), Counter(poller.seen)

    asyncio.run(scenario())


def test_failing_readiness_makes_the_app_progressing_then_degraded(
    env: Env, tmp_path: Path
) -> None:
    origin, work = config_repo(tmp_path)
    port = free_port()
    publish(work, f"{WEB_IMAGE}:v1", port, deadline=DEADLINE)

    async def scenario() -> None:
        target = PodmanTarget(name=env.name, state_dir=env.state_dir, podman=env.podman, tick=0.1)
        store = Store.open(tmp_path / "state.db")
        renv = ReconcileEnv(
            targets={"local": target}, store=store, sources=Sources(tmp_path / "cache")
        )
        rec = Reconciler(parse_applications(application(str(origin)), "apps.yaml"), renv)
        stop = asyncio.Event()
        runner = asyncio.create_task(Loop(rec).run(interval=0.3, stop=stop))
        seen: list[str] = []

        async def health_becomes(want: str, timeout: float = 20.0) -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with contextlib.suppress(KeyError):
                    health = rec.status("web")["health"]["status"]
                    if not seen or seen[-1] != health:
                        seen.append(health)
                    if health == want:
                        return
                await asyncio.sleep(0.05)
            raise AssertionError(f"health never became {want}: {seen}")

        try:
            await health_becomes("Healthy")
            publish(
                work, f"{WEB_IMAGE}:v2", port, deadline=DEADLINE, probe=readiness(path="/missing")
            )
            await health_becomes("Progressing")
            await wait_for(port, "v1")  # old replicas keep serving
            await health_becomes("Degraded")
            await wait_for(port, "v1")
        finally:
            stop.set()
            await runner
            await target.aclose()
            store.close()

    asyncio.run(scenario())
