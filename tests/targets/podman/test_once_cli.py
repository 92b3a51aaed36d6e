"""`conveyor reconcile --once` on the Podman target, as a user runs it (issue 11, section 3):
the command applies, waits for the rollout and exits; what it started keeps serving
through the detached Service proxy. A second `--once` rolls an image update without a
failed request; a replica that never turns ready ends the command with exit 1."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .conftest import WEB_IMAGE, Env, free_port
from .http import get, wait_for
from .manifests import readiness
from .test_reconciler_e2e import config_repo, publish
from .test_rollout import ROOT, Poller, switched


@dataclass(frozen=True, slots=True, kw_only=True)
class Once:
    """The CLI against one test target: `conveyor reconcile --apps … --config … --once`."""

    args: tuple[str, ...]

    @classmethod
    def make(cls, env: Env, tmp_path: Path, origin: Path) -> Once:
        config = tmp_path / "conveyor.yaml"
        target = {"name": env.name, "type": "podman", "stateDir": str(env.state_dir)}
        config.write_text(yaml.safe_dump({"targets": [target], "state": "s.db", "cache": "c"}))
        apps = tmp_path / "apps.yaml"
        app = {
            "apiVersion": "conveyor.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web"},
            "spec": {
                "source": {"repoURL": str(origin), "path": "app", "targetRevision": "main"},
                "destination": {"name": env.name, "namespace": "demo"},
                "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
            },
        }
        apps.write_text(yaml.safe_dump(app))
        return cls(args=("reconcile", "--apps", str(apps), "--config", str(config), "--once"))

    async def run(self, *extra: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "conveyor.app",
            *self.args,
            *extra,
            cwd=ROOT,
            env={**os.environ, "CONVEYOR_WARM": "0"},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()


def test_once_deploys_and_the_service_serves_after_the_command_exits_then_rolls_an_update(
    env: Env, tmp_path: Path
) -> None:
    origin, work = config_repo(tmp_path)
    port = free_port()
    publish(work, f"{WEB_IMAGE}:v1", port)
    once = Once.make(env, tmp_path, origin)

    async def scenario() -> None:
        code, out, err = await once.run()
        assert code == 0, out + err
        assert "Synced     Healthy" in out
        assert await get(port) == "v1"  # the command has exited; the proxy still serves
        poller = Poller(port)
        polling = asyncio.create_task(poller.run())
        publish(work, f"{WEB_IMAGE}:v2", port)
        code, out, err = await once.run()
        assert code == 0, out + err
        await asyncio.sleep(0.3)
        poller.stop = True
        await polling
        assert poller.errors == []
        assert switched(poller.seen), Counter(poller.seen)
        assert await get(port) == "v2"

    asyncio.run(scenario())


def _failing(work: Path, port: int, **options: Any) -> None:
    publish(work, f"{WEB_IMAGE}:v1", port, probe=readiness(path="/missing"), **options)


def test_once_exits_1_when_readiness_never_passes_and_the_deadline_makes_it_degraded(
    env: Env, tmp_path: Path
) -> None:
    origin, work = config_repo(tmp_path)
    _failing(work, free_port(), deadline=3)
    once = Once.make(env, tmp_path, origin)
    code, out, err = asyncio.run(once.run())
    assert code == 1, out + err
    assert "Degraded" in out
    assert "web: Degraded: " in err and "exceeded its progress deadline" in err


def test_once_timeout_bounds_the_wait_for_a_rollout_that_never_ends(
    env: Env, tmp_path: Path
) -> None:
    origin, work = config_repo(tmp_path)
    port = free_port()
    _failing(work, port)
    once = Once.make(env, tmp_path, origin)
    started = time.monotonic()
    code, out, err = asyncio.run(once.run("--timeout", "3s"))
    assert code == 1, out + err
    assert time.monotonic() - started < 20
    assert "web: still progressing after --timeout 3s (Progressing: Deployment" in err


def test_after_a_failed_once_the_old_replicas_keep_serving(env: Env, tmp_path: Path) -> None:
    origin, work = config_repo(tmp_path)
    port = free_port()
    publish(work, f"{WEB_IMAGE}:v1", port)
    once = Once.make(env, tmp_path, origin)

    async def scenario() -> None:
        assert (await once.run())[0] == 0
        publish(work, f"{WEB_IMAGE}:v2", port, probe=readiness(path="/missing"))
        code, out, err = await once.run("--timeout", "3s")
        assert code == 1, out + err
        await wait_for(port, "v1")

    asyncio.run(scenario())


def test_app_sync_without_a_daemon_waits_so_the_update_serves_after_it_exits(
    env: Env, tmp_path: Path
) -> None:
    # `conveyor app sync` in-process had --once's flaw: it closed the target right after
    # applying, so the rollout it started stopped with it (issue 11: close the class)
    origin, work = config_repo(tmp_path)
    port = free_port()
    publish(work, f"{WEB_IMAGE}:v1", port)
    once = Once.make(env, tmp_path, origin)
    _, apps_flag, apps, config_flag, config, _ = once.args
    sync = Once(args=("app", "sync", "web", apps_flag, apps, config_flag, config))

    async def scenario() -> None:
        assert (await once.run())[0] == 0
        publish(work, f"{WEB_IMAGE}:v2", port)
        code, out, err = await sync.run()
        assert code == 0, out + err
        assert "Synced     Healthy" in out
        assert await get(port) == "v2"  # served by the new replicas after the command exited

    asyncio.run(scenario())
