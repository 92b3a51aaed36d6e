"""The reconciler's sync semantics on the real Podman target (issue 6 on issue 7's target):
a PreSync hook Job runs to completion first, a wave -1 ConfigMap lands before the
workload, the app becomes Synced and Healthy on real containers, and an object removed
from Git is pruned from Podman while the rest keeps running."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.loop import Loop
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env as ReconcileEnv
from conveyor.store import Store
from conveyor.targets.base import ObjectRef
from conveyor.targets.podman import PodmanTarget

from .conftest import WEB_IMAGE, Env, free_port
from .http import wait_for
from .manifests import bare, commit_objects, config_map, deployment, service
from .reconciler_driver import application
from .test_reconciler_e2e import config_repo

HOOK = ObjectRef(group="batch", kind="Job", namespace="demo", name="migrate")
SETTINGS = ObjectRef(group="", kind="ConfigMap", namespace="demo", name="settings")


def _hook_job() -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "annotations": {"argocd.argoproj.io/hook": "PreSync"}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "m", "image": f"{WEB_IMAGE}:v1", "command": ["true"]}],
                }
            },
        },
    }


def test_hook_wave_order_then_prune_on_podman(env: Env, tmp_path: Path) -> None:
    origin, work = config_repo(tmp_path)
    port = free_port()
    settings = config_map("settings", {"mode": "on"})
    settings["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": "-1"}
    web = deployment("web", image=f"{WEB_IMAGE}:v1", replicas=1)
    objects = [bare(web), bare(service("web", port)), bare(settings), _hook_job()]
    commit_objects(work, objects, "v1")

    async def scenario() -> None:
        target = PodmanTarget(name=env.name, state_dir=env.state_dir, podman=env.podman, tick=0.1)
        store = Store.open(tmp_path / "state.db")
        renv = ReconcileEnv(
            targets={"local": target}, store=store, sources=Sources(tmp_path / "cache")
        )
        rec = Reconciler(parse_applications(application(str(origin)), "apps.yaml"), renv)
        stop = asyncio.Event()
        runner = asyncio.create_task(Loop(rec).run(interval=0.3, stop=stop))

        async def status_where(check: Any, timeout: float = 60.0) -> dict[str, Any]:
            deadline = time.monotonic() + timeout
            last: dict[str, Any] = {}
            while time.monotonic() < deadline:
                try:
                    last = rec.status("web")
                except KeyError:
                    last = {}
                if last and check(last):
                    return last
                await asyncio.sleep(0.1)
            raise AssertionError(f"status never matched: {last.get('sync')} {last.get('health')}")

        try:
            synced = await status_where(
                lambda s: s["sync"]["status"] == "Synced" and s["health"]["status"] == "Healthy"
            )
            order = [r["object"] for r in synced["operation"]["results"]]
            assert (
                order.index(str(HOOK))
                < order.index(str(SETTINGS))
                < order.index("Deployment.apps demo/web")
            ), order
            job = await target.get(HOOK)
            assert job is not None and job["status"].get("succeeded") == 1
            await wait_for(port, "v1")

            commit_objects(work, [o for o in objects if o is not settings], "drop settings")
            pruned = await status_where(lambda s: SETTINGS.key not in s["inventory"])
            codes = {r["object"]: r["code"] for r in pruned["operation"]["results"]}
            assert codes[str(SETTINGS)] == "Pruned"
            assert await target.get(SETTINGS) is None
            await wait_for(port, "v1")  # the workload kept serving
        finally:
            stop.set()
            await runner
            await target.aclose()
            store.close()

    asyncio.run(scenario())
