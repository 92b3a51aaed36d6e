"""`RespectIgnoreDifferences=true` on the Podman target (issue 14): an autoscaler's
`replicas` keeps its live value while Git changes the image."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import yaml

from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env as ReconcileEnv
from conveyor.store import Store
from conveyor.targets.base import ObjectRef
from conveyor.targets.podman import PodmanTarget

from .conftest import WEB_IMAGE, Env
from .manifests import bare, commit_objects, deployment
from .test_reconciler_e2e import config_repo

WEB = ObjectRef(group="apps", kind="Deployment", namespace="demo", name="web")


def application(repo_url: str) -> str:
    spec = {
        "source": {"repoURL": repo_url, "path": "app", "targetRevision": "main"},
        "destination": {"name": "local", "namespace": "demo"},
        "ignoreDifferences": [
            {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}
        ],
        "syncPolicy": {
            "automated": {"prune": True},
            "syncOptions": ["RespectIgnoreDifferences=true"],
        },
    }
    doc = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "web"}}
    return yaml.safe_dump({**doc, "spec": spec})


def test_autoscaled_replicas_survive_an_image_change_on_podman(env: Env, tmp_path: Path) -> None:
    origin, work = config_repo(tmp_path)
    commit_objects(work, [bare(deployment("web", image=f"{WEB_IMAGE}:v1", replicas=1))], "v1")

    async def scenario() -> None:
        target = PodmanTarget(name=env.name, state_dir=env.state_dir, podman=env.podman, tick=0.1)
        store = Store.open(tmp_path / "state.db")
        renv = ReconcileEnv(
            targets={"local": target}, store=store, sources=Sources(tmp_path / "cache")
        )
        rec = Reconciler(parse_applications(application(str(origin)), "apps.yaml"), renv)
        try:
            await rec.reconcile_all()
            record = target.store.get(WEB)
            assert record is not None
            scaled: dict[str, Any] = copy.deepcopy(record.obj)
            scaled["spec"]["replicas"] = 2  # the autoscaler
            await target.apply(scaled)
            assert (await rec.reconcile_all())["web"]["sync"]["status"] == "Synced"
            commit_objects(
                work, [bare(deployment("web", image=f"{WEB_IMAGE}:v2", replicas=1))], "v2"
            )
            status = (await rec.reconcile_all())["web"]
            assert status["operation"]["phase"] == "Succeeded"
            live = await target.get(WEB)
            assert live is not None and live["spec"]["replicas"] == 2
            assert live["spec"]["template"]["spec"]["containers"][0]["image"].endswith(":v2")
        finally:
            await target.aclose()
            target.stop_proxy()
            store.close()

    asyncio.run(scenario())
