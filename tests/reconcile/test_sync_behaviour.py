"""Behaviour of the reconciler against the memory target: create, update, prune and the
prune safeguards. (These should also run against the Podman target, issue 7.)"""

from __future__ import annotations

import asyncio

from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import ObjectRef

from .conftest import World, application, configmap, deployment, service

AUTO = {"prune": True, "selfHeal": True}
WEB = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")
CFG = ObjectRef(group="", kind="ConfigMap", namespace="prod", name="cfg")
SVC = ObjectRef(group="", kind="Service", namespace="prod", name="web")


def seed(world: World) -> str:
    world.repo.write_objects("envs/prod/web.yaml", deployment("web"), service("web"))
    world.repo.write_objects("envs/prod/cfg.yaml", configmap("cfg"))
    return world.repo.commit("seed")


def test_create_applies_every_object_and_reports_synced_healthy(world: World) -> None:
    sha = seed(world)
    rec = world.reconciler(application("web", world.repo, "envs/prod", automated=AUTO))
    status = asyncio.run(rec.reconcile_all())["web"]
    assert world.target.refs() == sorted([WEB, CFG, SVC])
    assert status["sync"] == {
        "status": "Synced",
        "revision": sha,
        "digest": status["sync"]["digest"],
        "outOfSync": [],
    }
    assert status["health"]["status"] == "Healthy"
    assert status["conditions"][0]["status"] == "True"
    assert [h["result"] for h in status["history"]] == ["Succeeded"]
    assert status["inventory"] == sorted(r.key for r in (WEB, CFG, SVC))
    live = asyncio.run(world.target.get(WEB))
    assert live is not None and live["metadata"]["labels"]["conveyor.dev/app"] == "web"


def test_second_pass_without_changes_applies_nothing(world: World) -> None:
    seed(world)
    rec = world.reconciler(application("web", world.repo, "envs/prod", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    applies = world.target.applies
    status = asyncio.run(rec.reconcile_all())["web"]
    assert world.target.applies == applies
    assert len(status["history"]) == 1


def test_update_applies_the_new_image(world: World) -> None:
    seed(world)
    rec = world.reconciler(application("web", world.repo, "envs/prod", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    world.repo.write_objects("envs/prod/web.yaml", deployment("web", "web:2"), service("web"))
    sha = world.repo.commit("bump")
    status = asyncio.run(rec.reconcile_all())["web"]
    live = asyncio.run(world.target.get(WEB))
    assert live is not None
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "web:2"
    assert status["sync"]["revision"] == sha and status["sync"]["status"] == "Synced"
    codes = {r["object"]: r["code"] for r in status["operation"]["results"]}
    # Argo CD applies every object of the app in a sync (ApplyOutOfSyncOnly=true does not)
    assert codes == {str(WEB): "Synced", str(SVC): "Synced", str(CFG): "Synced"}


def test_prune_deletes_objects_removed_from_git(world: World) -> None:
    seed(world)
    rec = world.reconciler(application("web", world.repo, "envs/prod", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    world.repo.remove("envs/prod/cfg.yaml")
    world.repo.commit("drop cfg")
    status = asyncio.run(rec.reconcile_all())["web"]
    assert CFG not in world.target.refs()
    assert CFG.key not in status["inventory"]
    assert {"object": str(CFG), "code": "Pruned"}.items() <= next(
        r for r in status["operation"]["results"] if r["object"] == str(CFG)
    ).items()


def test_prune_disabled_keeps_object_and_reports_out_of_sync(world: World) -> None:
    seed(world)
    rec = world.reconciler(application("web", world.repo, "envs/prod", automated={"prune": False}))
    asyncio.run(rec.reconcile_all())
    world.repo.remove("envs/prod/cfg.yaml")
    world.repo.commit("drop cfg")
    status = asyncio.run(rec.reconcile_all())["web"]
    assert CFG in world.target.refs()
    assert status["sync"]["status"] == "OutOfSync"
    assert str(CFG) in status["sync"]["outOfSync"]


def test_prune_skips_objects_annotated_prune_false(world: World) -> None:
    world.repo.write_objects("envs/prod/web.yaml", deployment("web"))
    world.repo.write_objects(
        "envs/prod/cfg.yaml", configmap("cfg", **{"argocd.argoproj.io/sync-options": "Prune=false"})
    )
    world.repo.commit("seed")
    rec = world.reconciler(application("web", world.repo, "envs/prod", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    world.repo.remove("envs/prod/cfg.yaml")
    world.repo.commit("drop cfg")
    status = asyncio.run(rec.reconcile_all())["web"]
    assert CFG in world.target.refs()
    assert status["sync"]["status"] == "Synced"


def test_prune_refused_when_render_fails(world: World) -> None:
    seed(world)
    rec = world.reconciler(application("web", world.repo, "envs/prod", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    world.repo.write("envs/prod/cfg.yaml", "kind: ConfigMap\nmetadata: {name: cfg\n")
    world.repo.commit("broken yaml")
    status = asyncio.run(rec.reconcile_all())["web"]
    assert world.target.refs() == sorted([WEB, CFG, SVC])
    ready, _, stalled = status["conditions"]
    assert ready["reason"] == "RenderFailed" and "cfg.yaml:" in ready["message"]
    assert stalled["status"] == "True"
    assert len(status["history"]) == 1


def test_prune_refused_on_empty_render_unless_allow_empty(world: World) -> None:
    seed(world)
    rec = world.reconciler(application("web", world.repo, "envs/prod", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    world.repo.remove("envs/prod")
    world.repo.write("envs/prod/README.md", "nothing here\n")
    world.repo.commit("empty")
    status = asyncio.run(rec.reconcile_all())["web"]
    assert world.target.refs() == sorted([WEB, CFG, SVC])
    assert all(r["code"] == "PruneSkipped" for r in status["operation"]["results"])

    allowed = world.reconciler(
        application("web", world.repo, "envs/prod", automated={**AUTO, "allowEmpty": True})
    )
    asyncio.run(allowed.reconcile_all())
    assert world.target.refs() == []


def test_a_failing_object_is_a_result_not_an_abort(world: World) -> None:
    seed(world)
    world.target.reject = lambda obj: "denied by policy" if obj["kind"] == "Service" else None
    rec = world.reconciler(application("web", world.repo, "envs/prod", automated=AUTO))
    status = asyncio.run(rec.reconcile_all())["web"]
    codes = {r["object"]: r["code"] for r in status["operation"]["results"]}
    assert codes[str(SVC)] == "SyncFailed" and codes[str(WEB)] == "Synced"
    assert status["operation"]["phase"] == "Failed"
    assert status["health"]["status"] == str(HealthStatus.MISSING)
