"""An Application removed from the apps directory (issue 14): with a deletion finalizer
its objects go, last wave first, then its PostDelete hooks run; without one they stay
and the user is told; a restart half-way still finishes the deletion."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import pytest
import yaml

from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.deletion import DeletionState
from conveyor.reconcile.reconciler import Reconciler
from conveyor.targets.base import ObjectRef

from .conftest import World, application, configmap, deployment, job, service

AUTO = {"prune": True, "selfHeal": True}
FINALIZER = "resources-finalizer.argocd.argoproj.io"
WAVE = "argocd.argoproj.io/sync-wave"


def ref(kind: str, name: str, group: str = "") -> ObjectRef:
    return ObjectRef(group=group, kind=kind, namespace="prod", name=name)


EARLY = ref("Secret", "early")
CFG = ref("ConfigMap", "cfg")
SVC = ref("Service", "web")
WEB = ref("Deployment", "web", "apps")
LATE = ref("ConfigMap", "late")
KEEP = ref("ConfigMap", "keep-me")
CLEANUP = ref("Job", "cleanup", "batch")
BACKUP = ref("Job", "backup", "batch")


def secret(name: str, **notes: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "annotations": notes}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": {"k": "v"}}


def seed(world: World, *extra: dict[str, Any]) -> None:
    world.repo.write_objects(
        "web/all.yaml",
        secret("early", **{WAVE: "-1"}),
        configmap("cfg"),
        service("web"),
        deployment("web"),
        configmap("late", **{WAVE: "1"}),
        *extra,
    )
    world.repo.write_objects("other/cm.yaml", configmap("other"))
    world.repo.commit("web and other")


def app_doc(world: World, name: str, path: str, *finalizers: str) -> str:
    doc = yaml.safe_load(application(name, world.repo, path, automated=AUTO))
    if finalizers:
        doc["metadata"]["finalizers"] = list(finalizers)
    return yaml.safe_dump(doc)


def deploy(world: World, *finalizers: str) -> Reconciler:
    rec = world.reconciler(
        app_doc(world, "web", "web", *finalizers), app_doc(world, "other", "other")
    )
    status = asyncio.run(rec.reconcile_all())["web"]
    assert status["conditions"][0]["status"] == "True", status["conditions"]
    return rec


def remove_web(world: World, rec: Reconciler) -> None:
    rec.set_apps(parse_applications(app_doc(world, "other", "other"), "apps.yaml"))


def deletes(world: World) -> list[str]:
    return [
        line.removeprefix("delete ") for line in world.target.journal if line.startswith("delete ")
    ]


def test_finalizer_deletes_every_object_last_wave_first(world: World) -> None:
    seed(world)
    rec = deploy(world, FINALIZER)
    remove_web(world, rec)
    asyncio.run(rec.reconcile_all())
    assert deletes(world) == [str(r) for r in (LATE, WEB, SVC, CFG, EARLY)]
    assert world.target.refs() == [ref("ConfigMap", "other")]
    status = world.store.load_status("web")
    assert status is not None
    assert status["deletion"]["state"] == "Deleted"
    assert status["conditions"][0]["reason"] == "Deleted"
    assert "deleted 5 objects, last wave first" in status["deletion"]["message"]
    assert world.store.inventory("web") == []
    assert rec.deletions.state("web") == DeletionState.DELETED


@pytest.mark.parametrize("finalizer", [f"{FINALIZER}/background", "conveyor.dev/delete-resources"])
def test_every_deletion_finalizer_deletes_the_objects(world: World, finalizer: str) -> None:
    seed(world)
    rec = deploy(world, finalizer)
    remove_web(world, rec)
    asyncio.run(rec.reconcile_all())
    assert len(deletes(world)) == 5 and rec.deletions.state("web") == DeletionState.DELETED


def test_without_a_finalizer_the_objects_stay_and_the_user_is_told(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    seed(world)
    rec = deploy(world)
    with caplog.at_level(logging.WARNING, logger="conveyor.reconcile.deletion"):
        remove_web(world, rec)
        asyncio.run(rec.reconcile_all())
    assert deletes(world) == [] and len(world.target.refs()) == 6
    status = world.store.load_status("web")
    assert status is not None and status["conditions"][0]["reason"] == "ResourcesLeft"
    message = status["deletion"]["message"]
    assert "its 5 objects were left on target memory" in message
    assert f"metadata.finalizers: [{FINALIZER}]" in message
    assert "conveyor.dev/app=web" in message
    assert any("its 5 objects were left" in r.getMessage() for r in caplog.records)


def test_objects_annotated_delete_false_are_kept(world: World) -> None:
    seed(world, configmap("keep-me", **{"argocd.argoproj.io/sync-options": "Delete=false"}))
    rec = deploy(world, FINALIZER)
    remove_web(world, rec)
    asyncio.run(rec.reconcile_all())
    assert str(KEEP) not in deletes(world) and world.target.peek(KEEP) is not None
    assert len(deletes(world)) == 5
    status = world.store.load_status("web")
    assert status is not None and "kept 1: ConfigMap prod/keep-me" in status["deletion"]["message"]
    assert world.store.inventory("web") == [KEEP.key]


def test_post_delete_hook_runs_after_the_objects_are_deleted(world: World) -> None:
    hook = job(
        "cleanup",
        **{
            "argocd.argoproj.io/hook": "PostDelete",
            "argocd.argoproj.io/hook-delete-policy": "HookSucceeded",
        },
    )
    seed(world, hook)
    rec = deploy(world, FINALIZER)
    assert world.target.peek(CLEANUP) is None  # a sync never runs it
    remove_web(world, rec)
    asyncio.run(rec.reconcile_all())
    journal = [line for line in world.target.journal if "prod/" in line and "other" not in line]
    tail = journal[-7:]
    assert tail[:5] == [f"delete {r}" for r in (LATE, WEB, SVC, CFG, EARLY)]
    assert tail[5:] == [f"apply {CLEANUP}", f"delete {CLEANUP}"]  # HookSucceeded cleans up
    status = world.store.load_status("web")
    assert status is not None and "1 PostDelete hooks succeeded" in status["deletion"]["message"]


def test_a_generate_name_post_delete_hook_runs_without_a_finalizer(world: World) -> None:
    """Argo CD adds post-delete-finalizer itself to apps that have PostDelete hooks."""
    hook = job("", **{"argocd.argoproj.io/hook": "PostDelete"})
    hook["metadata"] = {"generateName": "bye-", "annotations": hook["metadata"]["annotations"]}
    seed(world, hook)
    rec = deploy(world)
    remove_web(world, rec)
    asyncio.run(rec.reconcile_all())
    created = [
        line for line in world.target.journal if line.startswith("apply Job.batch prod/bye-")
    ]
    assert len(created) == 1 and deletes(world) == []
    status = world.store.load_status("web")
    assert status is not None and status["deletion"]["state"] == "ResourcesLeft"


def test_a_restart_between_removal_and_deletion_still_deletes(world: World) -> None:
    seed(world)
    rec = deploy(world, FINALIZER)
    remove_web(world, rec)  # recorded as Deleting; the process dies before the next pass
    assert deletes(world) == []
    restarted = world.reconciler(app_doc(world, "other", "other"))
    asyncio.run(restarted.reconcile_all())
    assert deletes(world) == [str(r) for r in (LATE, WEB, SVC, CFG, EARLY)]


def test_an_app_removed_while_no_reconciler_ran_is_deleted_at_start(world: World) -> None:
    seed(world)
    deploy(world, FINALIZER)
    restarted = world.reconciler(app_doc(world, "other", "other"))
    asyncio.run(restarted.reconcile_all())
    assert len(deletes(world)) == 5 and restarted.deletions.state("web") == DeletionState.DELETED


def test_an_apps_directory_that_defines_nothing_deletes_nothing(world: World) -> None:
    seed(world)
    rec = deploy(world, FINALIZER)
    rec.set_apps([])
    asyncio.run(rec.reconcile_all())
    assert deletes(world) == [] and rec.deletions.state("web") == DeletionState.ARMED
    remove_web(world, rec)  # one app defined again: now the removal counts
    asyncio.run(rec.reconcile_all())
    assert len(deletes(world)) == 5


def test_an_object_another_app_took_over_is_not_deleted(world: World) -> None:
    seed(world)
    rec = deploy(world, FINALIZER)  # web alone renders cfg: it is in web's inventory
    assert CFG.key in world.store.inventory("web")
    world.repo.write_objects("other/cm.yaml", configmap("other"), configmap("cfg", {"k": "o"}))
    world.repo.commit("other renders cfg too")
    remove_web(world, rec)
    asyncio.run(rec.reconcile_apps(["other"]))  # web is gone: other adopts cfg first
    asyncio.run(rec.reconcile_all())
    live = world.target.peek(CFG)
    assert live is not None and live["metadata"]["labels"]["conveyor.dev/app"] == "other"
    assert str(CFG) not in deletes(world) and len(deletes(world)) == 4
    status = world.store.load_status("web")
    assert status is not None and "owned by app other now" in status["deletion"]["message"]
    assert world.store.inventory("web") == []


def test_pre_delete_hook_runs_and_is_waited_for_before_any_object_is_deleted(
    world: World,
) -> None:
    backup = job("backup", **{"argocd.argoproj.io/hook": "PreDelete"})
    seed(world, backup)
    rec = deploy(world, FINALIZER)
    assert world.target.peek(BACKUP) is None  # a sync never runs it
    world.target.ready_after = 0.3  # the Job completes 0.3 s after it is created
    remove_web(world, rec)
    asyncio.run(rec.reconcile_all())
    assert world.target.journal[-1] == f"apply {BACKUP}" and deletes(world) == []
    status = world.store.load_status("web")
    assert status is not None and status["conditions"][0]["reason"] == "Deleting"
    assert f"waiting for PreDelete hook {BACKUP}" in status["deletion"]["message"]
    time.sleep(0.35)
    asyncio.run(rec.reconcile_all())
    # the live hook carries the app's label: deleted with the app's objects, as in Argo CD
    assert [d for d in deletes(world) if d != str(BACKUP)] == [
        str(r) for r in (LATE, WEB, SVC, CFG, EARLY)
    ]
    assert rec.deletions.state("web") == DeletionState.DELETED
