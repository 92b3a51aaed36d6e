"""The demo's config repo (examples/demo-config: Kustomize base + overlays, automated sync
with prune and self-heal, CreateNamespace=true) reconciled onto a `kubernetes` target
served by kmock's emulator: create, update (a new image), prune, drift repair, rollback.

The emulator has no controllers: a Deployment's status never progresses, so health stays
Progressing here (health from live status is the health helper's area and is tested on
recorded status objects). Its apply is a plain merge, not server-side apply's field
ownership. Nothing here ran against a real API server."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from conveyor.clients import kubeconfig
from conveyor.clients.kubeapi import KubeApi
from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.loop import Loop
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.rollback import rollback
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env
from conveyor.reconcile.sync import SyncOptions
from conveyor.store import Store
from conveyor.targets.kubernetes.target import KubernetesTarget
from conveyor.targets.kubernetes.tracking import INSTANCE_LABEL, TRACKING_ID
from tests.reconcile.conftest import ConfigRepo, config_repo
from tests.targets.kubernetes.emulator import APPLY_PATCH, ApiServerEmulator, started
from tests.targets.kubernetes.harness import by_hand

DEMO = Path(__file__).parents[3] / "examples" / "demo-config"
DEPLOYMENT = ("apps/v1/deployments", "demo-dev", "demo-app")


def demo_repo(tmp_path: Path) -> ConfigRepo:
    repo = config_repo(tmp_path)
    for part in ("base", "envs"):
        shutil.copytree(DEMO / part, repo.work / part)
    repo.commit("the demo's config")
    return repo


def demo_app(repo: ConfigRepo) -> str:
    """apps/dev.yaml as the demo has it, pointed at this test's copy of the repo."""
    doc = yaml.safe_load((DEMO / "apps" / "dev.yaml").read_text())
    doc["spec"]["source"]["repoURL"] = repo.url
    return yaml.safe_dump(doc)


def set_tag(repo: ConfigRepo, tag: str) -> str:
    path = repo.work / "envs" / "dev" / "kustomization.yaml"
    data = yaml.safe_load(path.read_text())
    data["images"][0]["newTag"] = tag
    path.write_text(yaml.safe_dump(data))
    return repo.commit(f"dev runs {tag}")


def image(emu: ApiServerEmulator) -> str:
    live = emu.objects[DEPLOYMENT]
    return str(live.raw["spec"]["template"]["spec"]["containers"][0]["image"])


def test_demo_config_deploys_updates_prunes_heals_and_rolls_back(tmp_path: Path) -> None:
    repo = demo_repo(tmp_path)

    async def scenario() -> None:
        async with started(tmp_path) as (emu, config):
            target = KubernetesTarget(name="local", api=KubeApi(kubeconfig.load(str(config))))
            store = Store.open(tmp_path / "state.db")
            env = Env(
                targets={"local": target},
                store=store,
                sources=Sources(tmp_path / "cache"),
                sync_options=SyncOptions(wave_timeout=5.0, poll=0.005),
            )
            rec = Reconciler(parse_applications(demo_app(repo), "apps/dev.yaml"), env)
            try:
                await _create(rec, emu)
                await _update(rec, emu, repo)
                await _prune(rec, emu, repo)
                await _heal(rec, emu, target)
                await _rollback(rec, emu)
            finally:
                await target.aclose()
                store.close()

    asyncio.run(scenario())


async def _create(rec: Reconciler, emu: ApiServerEmulator) -> None:
    status = (await rec.reconcile_all())["demo-dev"]
    assert status["operation"]["phase"] == "Succeeded", status
    assert image(emu) == "127.0.0.1:5000/demo/app:seed"
    assert emu.stored("v1/namespaces", None, "demo-dev") is not None  # CreateNamespace=true
    meta = emu.objects[DEPLOYMENT].raw["metadata"]
    assert meta["labels"][INSTANCE_LABEL] == "demo-dev"
    assert meta["annotations"][TRACKING_ID] == "demo-dev:apps/Deployment:demo-dev/demo-app"
    assert emu.stored("v1/services", "demo-dev", "demo-app") is not None
    writes = [r for r in emu.history() if r.method.value == "PATCH"]
    assert writes and all(r.headers["Content-Type"] == APPLY_PATCH for r in writes)
    again = (await rec.reconcile_all())["demo-dev"]
    # Server fields and defaults (the emulator's schedulerName) are not drift: the diff
    # compared the live objects with the server's dry-run answer.
    assert again["sync"]["status"] == "Synced", again
    assert any(r.params.get("dryRun") == "All" for r in emu.history())


async def _update(rec: Reconciler, emu: ApiServerEmulator, repo: ConfigRepo) -> None:
    set_tag(repo, "v2")
    status = (await rec.reconcile_all())["demo-dev"]
    assert image(emu) == "127.0.0.1:5000/demo/app:v2"
    assert status["sync"]["status"] == "Synced", status


async def _prune(rec: Reconciler, emu: ApiServerEmulator, repo: ConfigRepo) -> None:
    overlay = repo.work / "envs" / "dev"
    extra: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap"}
    extra["metadata"] = {"name": "extra"}
    (overlay / "extra.yaml").write_text(yaml.safe_dump(extra))
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    kustomization["resources"].append("extra.yaml")
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    repo.commit("an extra ConfigMap")
    await rec.reconcile_all()
    key = ("v1/configmaps", "demo-dev", "extra")
    assert emu.stored(*key) is not None
    kustomization["resources"].remove("extra.yaml")
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    repo.remove("envs/dev/extra.yaml")
    repo.commit("no extra ConfigMap")
    await rec.reconcile_all()
    assert emu.stored(*key) is None
    delete = next(r for r in emu.history() if r.method.value == "DELETE")
    assert delete.url.path == "/api/v1/namespaces/demo-dev/configmaps/extra"
    assert delete.params["propagationPolicy"] == "Foreground"  # Argo CD's default


class EventOnlyLoop(Loop):
    """The reconciler's loop with no timers: a pass at start, then only triggers, which
    here can come from the target's watch events alone (no interval, no requeue of a
    Progressing app). Records when each app was queued."""

    def __init__(self, reconciler: Reconciler) -> None:
        super().__init__(reconciler)
        self.queued: list[tuple[str, float]] = []
        self.passed = asyncio.Event()

    def trigger(self, name: str) -> None:
        self.queued.append((name, time.monotonic()))
        super().trigger(name)

    def requeue(self, names: Iterable[str] | None = None) -> None:
        self.passed.set()  # a pass or a triggered reconcile ended; nothing is requeued


async def _heal(rec: Reconciler, emu: ApiServerEmulator, target: KubernetesTarget) -> None:
    """Self-heal driven by a watch event: a hand edit through the emulator's API reaches
    the loop through `target.events()` and queues the app; nothing else can here."""
    loop, stop = EventOnlyLoop(rec), asyncio.Event()
    running = asyncio.create_task(loop.run(interval=3600, stop=stop))
    try:
        await asyncio.wait_for(loop.passed.wait(), 30)  # the first pass: in sync
        loop.passed.clear()
        container = emu.objects[DEPLOYMENT].raw["spec"]["template"]["spec"]["containers"][0]
        hacked = {**container, "image": "evil:1"}
        sent = time.monotonic()
        await by_hand(
            emu,
            "/apis/apps/v1/namespaces/demo-dev/deployments/demo-app",
            {"spec": {"template": {"spec": {"containers": [hacked]}}}},
        )
        await asyncio.wait_for(loop.passed.wait(), 30)  # the triggered reconcile ended
    finally:
        stop.set()
        await running
    # queued by the watch event (the loop has no interval and no requeue); how fast is
    # bench/kube_watch_latency.py's question, not a timed assertion here
    assert loop.queued and loop.queued[0][0] == "demo-dev", loop.queued
    assert loop.queued[0][1] >= sent
    assert image(emu) == "127.0.0.1:5000/demo/app:v2"  # selfHeal put it back


async def _rollback(rec: Reconciler, emu: ApiServerEmulator) -> None:
    first = rec.env.store.history("demo-dev")[-1]  # the sync of the seed image
    status = await rollback(rec, "demo-dev", first.id)
    assert image(emu) == "127.0.0.1:5000/demo/app:seed", status
    assert status["autoSync"]["paused"] is True
    assert status["appliedRevision"] == first.revision
