"""Rollback (pausing auto-sync; --revert commits), dependsOn, Git outages and Kustomize
rendered by the real binary. (Rollback and dependsOn should also run against Podman.)"""

from __future__ import annotations

import asyncio
import shutil

import pytest

from conveyor.reconcile.errors import ReconcileError
from conveyor.reconcile.rollback import revert, rollback
from conveyor.targets.base import ObjectRef

from .conftest import World, application, configmap, deployment, git

AUTO = {"prune": True, "selfHeal": True}
WEB = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")


def image(world: World, ref: ObjectRef = WEB) -> str:
    live = world.target.peek(ref)
    assert live is not None
    return str(live["spec"]["template"]["spec"]["containers"][0]["image"])


def test_rollback_resyncs_an_earlier_revision_and_pauses_auto_sync(world: World) -> None:
    world.repo.write_objects("app/web.yaml", deployment("web", "web:1"))
    v1 = world.repo.commit("v1")
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    world.repo.write_objects("app/web.yaml", deployment("web", "web:2"))
    world.repo.commit("v2")
    asyncio.run(rec.reconcile_all())
    assert image(world) == "web:2"

    status = asyncio.run(rollback(rec, "web"))
    assert image(world) == "web:1"
    assert status["autoSync"]["paused"] is True
    assert "rollback" in status["autoSync"]["reason"]
    assert status["appliedRevision"] == v1
    assert status["history"][0]["reason"].startswith("rollback to history")

    later = asyncio.run(rec.reconcile_all())["web"]  # the next poll must not undo it
    assert image(world) == "web:1"
    assert later["sync"]["status"] == "OutOfSync"
    assert later["conditions"][0]["reason"] == "AutoSyncPaused"

    resumed = asyncio.run(rec.sync("web"))
    assert image(world) == "web:2" and resumed["autoSync"]["paused"] is False


def test_rollback_pause_survives_a_restart(world: World) -> None:
    world.repo.write_objects("app/web.yaml", deployment("web", "web:1"))
    world.repo.commit("v1")
    doc = application("web", world.repo, "app", automated=AUTO)
    rec = world.reconciler(doc)
    asyncio.run(rec.reconcile_all())
    world.repo.write_objects("app/web.yaml", deployment("web", "web:2"))
    world.repo.commit("v2")
    asyncio.run(rec.reconcile_all())
    asyncio.run(rollback(rec, "web"))
    again = world.reconciler(doc)
    asyncio.run(again.reconcile_all())
    assert image(world) == "web:1"


def test_rollback_without_earlier_revision_is_refused(world: World) -> None:
    world.repo.write_objects("app/web.yaml", deployment("web"))
    world.repo.commit("v1")
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    with pytest.raises(ReconcileError, match="no earlier successful sync"):
        asyncio.run(rollback(rec, "web"))


def test_revert_creates_a_git_revert_commit_that_auto_sync_deploys(world: World) -> None:
    world.repo.write_objects("app/web.yaml", deployment("web", "web:1"))
    v1 = world.repo.commit("v1")
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    world.repo.write_objects("app/web.yaml", deployment("web", "web:2"))
    world.repo.write_objects("other/cfg.yaml", configmap("other"))
    world.repo.commit("v2")
    asyncio.run(rec.reconcile_all())

    sha = asyncio.run(revert(rec, "web"))
    world.repo.pull()
    assert git(world.repo.work, "rev-parse", "HEAD") == sha
    assert git(world.repo.work, "log", "-1", "--format=%s") == f"Revert web to {v1[:12]}"
    assert image(world) == "web:1"
    status = rec.status("web")
    assert status["sync"]["revision"] == sha and status["autoSync"]["paused"] is False
    assert (world.repo.work / "other/cfg.yaml").exists()  # only the app's path is reverted


def test_reverting_again_to_the_same_entry_says_there_is_nothing_to_revert(world: World) -> None:
    world.repo.write_objects("app/web.yaml", deployment("web", "web:1"))
    v1 = world.repo.commit("v1")
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    world.repo.write_objects("app/web.yaml", deployment("web", "web:2"))
    world.repo.commit("v2")
    asyncio.run(rec.reconcile_all())
    [first] = [e for e in rec.env.store.history("web") if e.revision == v1]
    asyncio.run(revert(rec, "web", first.id))
    with pytest.raises(ReconcileError, match="nothing to revert: app already matches"):
        asyncio.run(revert(rec, "web", first.id))
    assert image(world) == "web:1"


def test_depends_on_waits_for_the_dependency_to_be_healthy(world: World) -> None:
    now = [0.0]
    world.target.clock = lambda: now[0]
    world.target.ready_after = 10
    world.repo.write_objects("db/db.yaml", deployment("db"))
    world.repo.write_objects("web/web.yaml", deployment("web"))
    world.repo.commit()
    rec = world.reconciler(
        application("web", world.repo, "web", automated=AUTO, extra={"dependsOn": ["db"]}),
        application("db", world.repo, "db", automated=AUTO),
    )
    first = asyncio.run(rec.reconcile_all())
    assert first["web"]["conditions"][0]["message"] == "Blocked on db"
    assert first["web"]["blockedOn"] == ["db"]
    assert WEB not in world.target.refs()
    now[0] = 20
    asyncio.run(rec.reconcile_all())  # db turns Healthy; web goes in the same pass
    assert WEB in world.target.refs()


def test_depends_on_cycle_stalls_both_apps(world: World) -> None:
    world.repo.write_objects("a/a.yaml", configmap("a"))
    world.repo.commit()
    rec = world.reconciler(
        application("a", world.repo, "a", automated=AUTO, extra={"dependsOn": ["b"]}),
        application("b", world.repo, "a", automated=AUTO, extra={"dependsOn": ["a"]}),
    )
    statuses = asyncio.run(rec.reconcile_all())
    for name in ("a", "b"):
        stalled = statuses[name]["conditions"][2]
        assert stalled["status"] == "True" and "cycle" in stalled["message"]


def test_git_outage_keeps_last_good_revision_and_reports_it(world: World) -> None:
    world.repo.write_objects("app/web.yaml", deployment("web"))
    sha = world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    shutil.move(world.repo.origin, world.repo.origin.with_name("gone.git"))
    status = asyncio.run(rec.reconcile_all())["web"]
    assert status["sync"]["revision"] == sha
    assert status["fetchError"].endswith(f"running last good revision {sha[:12]}")
    assert WEB in world.target.refs()
    assert (
        f'conveyor_git_fetch_errors_total{{repo="{world.repo.url}"}} 1' in rec.env.metrics.render()
    )


def test_one_commit_rerenders_only_the_app_it_touches(world: World) -> None:
    world.repo.write_objects("a/a.yaml", configmap("a"))
    world.repo.write_objects("b/b.yaml", configmap("b"))
    world.repo.commit()
    rec = world.reconciler(
        application("a", world.repo, "a", automated=AUTO),
        application("b", world.repo, "b", automated=AUTO),
    )
    asyncio.run(rec.reconcile_all())
    hits = rec.env.renders.hits
    world.repo.write_objects("b/b.yaml", configmap("b", {"k": "2"}))
    world.repo.commit()
    asyncio.run(rec.reconcile_all())
    assert rec.env.renders.hits == hits + 1  # a: cache hit; b: rendered


@pytest.mark.skipif(
    not (shutil.which("kustomize") or shutil.which("kubectl")),
    reason="neither kustomize nor kubectl is installed",
)
def test_kustomize_overlay_is_rendered_by_the_real_binary(world: World) -> None:
    world.repo.write_objects("base/web.yaml", deployment("web", "ghcr.io/acme/web:1.0.0"))
    world.repo.write("base/kustomization.yaml", "resources: [web.yaml]\n")
    world.repo.write(
        "overlays/prod/kustomization.yaml",
        """\
        resources: [../../base]
        namePrefix: prod-
        images: [{name: ghcr.io/acme/web, newTag: 1.2.3}]
        """,
    )
    world.repo.commit()
    extra = {
        "source": {
            "repoURL": world.repo.url,
            "path": "overlays/prod",
            "targetRevision": "main",
            "kustomize": {"images": ["ghcr.io/acme/web:1.3.0"], "nameSuffix": "-x"},
        }
    }
    rec = world.reconciler(
        application("web", world.repo, "overlays/prod", automated=AUTO, extra=extra)
    )
    status = asyncio.run(rec.reconcile_all())["web"]
    ref = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="prod-web-x")
    assert world.target.refs() == [ref], status["conditions"]
    assert image(world, ref) == "ghcr.io/acme/web:1.3.0"


@pytest.mark.skipif(
    not (shutil.which("kustomize") or shutil.which("kubectl")),
    reason="neither kustomize nor kubectl is installed",
)
def test_kustomize_error_is_a_render_failure(world: World) -> None:
    world.repo.write("k/kustomization.yaml", "resources: [missing.yaml]\n")
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "k", automated=AUTO))
    status = asyncio.run(rec.reconcile_all())["web"]
    ready = status["conditions"][0]
    assert ready["reason"] == "RenderFailed" and "kustomize failed on k" in ready["message"]


def test_kustomize_without_any_binary_is_a_clear_render_error(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.repo.write("k/kustomization.yaml", "resources: []\n")
    world.repo.commit()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    rec = world.reconciler(application("web", world.repo, "k", automated=AUTO))
    ready = asyncio.run(rec.reconcile_all())["web"]["conditions"][0]
    assert ready["reason"] == "RenderFailed"
    assert "neither `kustomize` nor `kubectl` is on PATH" in ready["message"]
