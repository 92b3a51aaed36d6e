"""A PreSync hook Job written with `metadata.generateName` (Argo CD's convention) runs to
completion on real Podman, under the name formulated for the sync, before the
Deployment is applied (issue 11, section 4.1)."""

from __future__ import annotations

import asyncio
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
from .manifests import deployment
from .reconciler_driver import application
from .test_reconciler_e2e import config_repo, git


def _migrate_hook() -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "generateName": "migrate-",
            "annotations": {"argocd.argoproj.io/hook": "PreSync"},
        },
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


def test_generate_name_presync_job_runs_before_the_deployment(env: Env, tmp_path: Path) -> None:
    origin, work = config_repo(tmp_path)
    web = deployment("web", image=f"{WEB_IMAGE}:v1", replicas=1)
    del web["metadata"]["namespace"]
    (work / "app").mkdir(exist_ok=True)
    (work / "app" / "all.yaml").write_text(yaml.safe_dump_all([web, _migrate_hook()]))
    git(work, "add", "-A")
    git(work, "commit", "-qm", "v1")
    git(work, "push", "-q", "origin", "HEAD:main")
    sha = git(work, "rev-parse", "HEAD")

    async def scenario() -> None:
        target = PodmanTarget(name=env.name, state_dir=env.state_dir, podman=env.podman, tick=0.1)
        store = Store.open(tmp_path / "state.db")
        renv = ReconcileEnv(
            targets={"local": target},
            store=store,
            sources=Sources(tmp_path / "cache"),
            clock=lambda: 1_800_000_000.0,
        )
        rec = Reconciler(parse_applications(application(str(origin)), "apps.yaml"), renv)
        try:
            status = (await rec.reconcile_all())["web"]
            hook = ObjectRef(
                group="batch",
                kind="Job",
                namespace="demo",
                name=f"migrate-{sha[:7]}-presync-1800000000",
            )
            results = [(r["object"], r["code"]) for r in status["operation"]["results"]]
            assert results[:2] == [(str(hook), "Synced"), ("Deployment.apps demo/web", "Synced")]
            job = await target.get(hook)
            assert job is not None and job["status"].get("succeeded") == 1
            assert job["metadata"]["generateName"] == "migrate-"
        finally:
            await target.aclose()
            store.close()

    asyncio.run(scenario())
