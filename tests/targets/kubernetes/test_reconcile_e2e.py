"""The demo's config repo (examples/demo-config: Kustomize base + overlays, automated sync
with prune and self-heal, CreateNamespace=true) reconciled onto a `kubernetes` target:
create, update (a new image), prune, drift repair, rollback. One scenario, two API servers:

* kmock's emulator (always). It has no controllers: a Deployment's status never
  progresses, so health stays Progressing (health from live status is tested on recorded
  status objects). Its apply is a plain merge, not server-side apply's field ownership.
  The requests themselves are checked from its history (apply content type, dry-run,
  propagation policy).
* a real cluster, where `KUBECONFIG` names one (`KUBECONTEXT` picks a context); skipped
  here, where no API server can run, so it has never run. It uses the demo's namespace
  `demo-dev` (skipped when that exists already) and deletes it afterwards. The demo's
  image is not pullable there: the Deployment stays Progressing as on the emulator, and the
  scenario checks sync results and live objects, not Healthy.

The hand edit is what `kubectl apply --server-side --force-conflicts` by another field
manager does; its watch event is the only thing that can queue the self-heal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from lightkube import SingleConfig

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
from conveyor.targets.base import ObjectRef, Propagation
from conveyor.targets.kubernetes.target import KubernetesTarget
from conveyor.targets.kubernetes.tracking import INSTANCE_LABEL, TRACKING_ID
from tests.reconcile.conftest import ConfigRepo, config_repo
from tests.targets.kubernetes.emulator import APPLY_PATCH, ApiServerEmulator, started

DEMO = Path(__file__).parents[3] / "examples" / "demo-config"
NAMESPACE = "demo-dev"
DEPLOYMENT = ObjectRef(group="apps", kind="Deployment", namespace=NAMESPACE, name="demo-app")
SERVICE = ObjectRef(group="", kind="Service", namespace=NAMESPACE, name="demo-app")
EXTRA = ObjectRef(group="", kind="ConfigMap", namespace=NAMESPACE, name="extra")
NAMESPACE_REF = ObjectRef(group="", kind="Namespace", namespace="", name=NAMESPACE)
BACKENDS = [
    "emulator",
    pytest.param(
        "cluster",
        marks=pytest.mark.skipif(
            not os.environ.get("KUBECONFIG"),
            reason="needs a real cluster: set KUBECONFIG to one (kind, k3s, a cloud cluster)",
        ),
    ),
]


@dataclass
class Cluster:
    """The API server the scenario runs against; `emu` only for the emulator."""

    config: SingleConfig
    target: KubernetesTarget
    emu: ApiServerEmulator | None


@contextlib.asynccontextmanager
async def connected(backend: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    if backend == "emulator":
        async with started(tmp_path) as (emu, path):
            config = kubeconfig.load(str(path))
            target = KubernetesTarget(name="local", api=KubeApi(config))
            try:
                yield Cluster(config, target, emu)
            finally:
                await target.aclose()
        return
    config = kubeconfig.load(os.environ["KUBECONFIG"], os.environ.get("KUBECONTEXT"))
    target = KubernetesTarget(name="local", api=KubeApi(config))
    try:
        if await target.get(NAMESPACE_REF) is not None:
            pytest.skip(f"namespace {NAMESPACE} exists in that cluster: not touching it")
        yield Cluster(config, target, None)
    finally:
        with contextlib.suppress(Exception):
            await target.delete(NAMESPACE_REF, propagation=Propagation.BACKGROUND)
        await target.aclose()


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


async def live(cluster: Cluster, ref: ObjectRef) -> dict[str, Any] | None:
    return await cluster.target.get(ref)


async def image(cluster: Cluster) -> str:
    obj = await live(cluster, DEPLOYMENT)
    assert obj is not None
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_demo_config_deploys_updates_prunes_heals_and_rolls_back(
    tmp_path: Path, backend: str
) -> None:
    repo = demo_repo(tmp_path)

    async def scenario() -> None:
        async with connected(backend, tmp_path) as cluster:
            store = Store.open(tmp_path / "state.db")
            env = Env(
                targets={"local": cluster.target},
                store=store,
                sources=Sources(tmp_path / "cache"),
                sync_options=SyncOptions(wave_timeout=5.0, poll=0.005),
            )
            rec = Reconciler(parse_applications(demo_app(repo), "apps/dev.yaml"), env)
            try:
                await _create(rec, cluster)
                await _update(rec, cluster, repo)
                await _prune(rec, cluster, repo)
                await _heal(rec, cluster)
                await _rollback(rec, cluster)
            finally:
                store.close()

    asyncio.run(scenario())


async def _create(rec: Reconciler, cluster: Cluster) -> None:
    status = (await rec.reconcile_all())["demo-dev"]
    assert status["operation"]["phase"] == "Succeeded", status
    assert await image(cluster) == "127.0.0.1:5000/demo/app:seed"
    assert await live(cluster, NAMESPACE_REF) is not None  # CreateNamespace=true
    deployment = await live(cluster, DEPLOYMENT)
    assert deployment is not None
    meta = deployment["metadata"]
    assert meta["labels"][INSTANCE_LABEL] == "demo-dev"
    assert meta["annotations"][TRACKING_ID] == "demo-dev:apps/Deployment:demo-dev/demo-app"
    assert await live(cluster, SERVICE) is not None
    if cluster.emu is not None:
        writes = [r for r in cluster.emu.history() if r.method.value == "PATCH"]
        assert writes and all(r.headers["Content-Type"] == APPLY_PATCH for r in writes)
    again = (await rec.reconcile_all())["demo-dev"]
    # Server fields and defaults (the emulator's schedulerName, a real server's many) are
    # not drift: the diff compared the live objects with the server's dry-run answer.
    assert again["sync"]["status"] == "Synced", again
    if cluster.emu is not None:
        assert any(r.params.get("dryRun") == "All" for r in cluster.emu.history())


async def _update(rec: Reconciler, cluster: Cluster, repo: ConfigRepo) -> None:
    set_tag(repo, "v2")
    status = (await rec.reconcile_all())["demo-dev"]
    assert await image(cluster) == "127.0.0.1:5000/demo/app:v2"
    assert status["sync"]["status"] == "Synced", status


async def _prune(rec: Reconciler, cluster: Cluster, repo: ConfigRepo) -> None:
    overlay = repo.work / "envs" / "dev"
    extra: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap"}
    extra["metadata"] = {"name": "extra"}
    (overlay / "extra.yaml").write_text(yaml.safe_dump(extra))
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    kustomization["resources"].append("extra.yaml")
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    repo.commit("an extra ConfigMap")
    await rec.reconcile_all()
    assert await live(cluster, EXTRA) is not None
    kustomization["resources"].remove("extra.yaml")
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    repo.remove("envs/dev/extra.yaml")
    repo.commit("no extra ConfigMap")
    await rec.reconcile_all()
    for _ in range(100):  # a real server removes it once its finalizers ran
        if await live(cluster, EXTRA) is None:
            break
        await asyncio.sleep(0.1)
    assert await live(cluster, EXTRA) is None
    if cluster.emu is not None:
        delete = next(r for r in cluster.emu.history() if r.method.value == "DELETE")
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


async def edit_by_hand(cluster: Cluster, new_image: str) -> None:
    """Another field manager takes the container's image (`kubectl apply --server-side
    --force-conflicts`), through the API server as any other client would."""
    other = KubeApi(cluster.config, field_manager="kubectl-edit")
    try:
        res = await other.resource("apps/v1", "Deployment")
        container = {"name": "web", "image": new_image}
        patch: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "Deployment"}
        patch["metadata"] = {"name": DEPLOYMENT.name, "namespace": NAMESPACE}
        patch["spec"] = {"template": {"spec": {"containers": [container]}}}
        await other.apply(res, patch, force=True)
    finally:
        await other.close()


async def _heal(rec: Reconciler, cluster: Cluster) -> None:
    """Self-heal driven by a watch event: the hand edit reaches the loop through
    `target.events()` and queues the app; nothing else can here."""
    loop, stop = EventOnlyLoop(rec), asyncio.Event()
    running = asyncio.create_task(loop.run(interval=3600, stop=stop))
    try:
        await asyncio.wait_for(loop.passed.wait(), 30)  # the first pass: in sync
        loop.passed.clear()
        sent = time.monotonic()
        await edit_by_hand(cluster, "evil:1")
        await asyncio.wait_for(loop.passed.wait(), 30)  # the triggered reconcile ended
    finally:
        stop.set()
        await running
    # queued by the watch event (the loop has no interval and no requeue); how fast is
    # bench/kube_watch_latency.py's question, not a timed assertion here
    assert loop.queued and loop.queued[0][0] == "demo-dev", loop.queued
    assert loop.queued[0][1] >= sent
    assert await image(cluster) == "127.0.0.1:5000/demo/app:v2"  # selfHeal put it back


async def _rollback(rec: Reconciler, cluster: Cluster) -> None:
    first = rec.env.store.history("demo-dev")[-1]  # the sync of the seed image
    status = await rollback(rec, "demo-dev", first.id)
    assert await image(cluster) == "127.0.0.1:5000/demo/app:seed", status
    assert status["autoSync"]["paused"] is True
    assert status["appliedRevision"] == first.revision
