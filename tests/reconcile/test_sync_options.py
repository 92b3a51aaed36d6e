"""Argo CD's sync options with Argo CD's meaning (issue 14), on the memory target, each
read from a real Application document: how objects are applied."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conveyor.targets.base import ObjectRef

from .conftest import World, application, configmap, deployment, service

WEB = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")
CFG = ObjectRef(group="", kind="ConfigMap", namespace="prod", name="cfg")
SVC = ObjectRef(group="", kind="Service", namespace="prod", name="web")
NS = ObjectRef(group="", kind="Namespace", namespace="", name="prod")
REPLICAS = [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]


def app(world: World, *options: str, **spec: Any) -> str:
    policy = {"automated": {"prune": True, "selfHeal": True}, "syncOptions": list(options)}
    policy.update(spec.pop("policy", {}))
    return application("web", world.repo, "app", extra={"syncPolicy": policy, **spec})


def seed(world: World, image: str = "web:1", **notes: str) -> None:
    world.repo.write_objects(
        "app/all.yaml",
        deployment("web", image, replicas=2, **notes),
        service("web"),
        configmap("cfg"),
    )
    world.repo.commit()


def sync(world: World, doc: str) -> dict[str, Any]:
    rec = world.reconcilers[-1] if world.reconcilers else world.reconciler(doc)
    return asyncio.run(rec.reconcile_all())["web"]


def applied_since(world: World, mark: int) -> list[str]:
    return [line for line in world.target.journal[mark:] if not line.startswith("delete")]


def live(world: World, ref: ObjectRef) -> dict[str, Any]:
    obj = world.target.peek(ref)
    assert obj is not None
    return obj


def test_apply_out_of_sync_only_does_not_touch_objects_already_in_sync(world: World) -> None:
    seed(world)
    doc = app(world, "ApplyOutOfSyncOnly=true")
    sync(world, doc)
    mark = len(world.target.journal)
    seed(world, "web:2")
    status = sync(world, doc)
    assert applied_since(world, mark) == [f"apply {WEB}"]
    codes = {r["object"]: r["code"] for r in status["operation"]["results"]}
    assert codes == {str(WEB): "Synced", str(SVC): "Unchanged", str(CFG): "Unchanged"}
    assert [h["result"] for h in status["history"]] == ["Succeeded", "Succeeded"]  # recorded


def test_without_apply_out_of_sync_only_a_sync_applies_every_object(world: World) -> None:
    seed(world)
    doc = app(world)
    sync(world, doc)
    mark = len(world.target.journal)
    seed(world, "web:2")
    sync(world, doc)
    assert sorted(applied_since(world, mark)) == sorted(f"apply {r}" for r in (WEB, SVC, CFG))


def others_annotate(world: World) -> None:
    world.target.edit(WEB, lambda o: o["metadata"].setdefault("annotations", {}).update(by="hpa"))


def test_apply_keeps_fields_others_set_and_they_are_not_drift(world: World) -> None:
    seed(world)
    doc = app(world)
    sync(world, doc)
    others_annotate(world)
    assert sync(world, doc)["sync"]["status"] == "Synced"  # three-way: not a difference
    seed(world, "web:2")
    sync(world, doc)
    assert live(world, WEB)["metadata"]["annotations"]["by"] == "hpa"


@pytest.mark.parametrize(
    "where",
    ["app", "annotation"],
)
def test_replace_makes_the_live_object_exactly_the_desired_one(world: World, where: str) -> None:
    notes = {"argocd.argoproj.io/sync-options": "Replace=true"} if where == "annotation" else {}
    seed(world, **notes)
    doc = app(world, *(["Replace=true"] if where == "app" else []))
    sync(world, doc)
    uid = live(world, WEB)["metadata"]["uid"]
    others_annotate(world)
    mark = len(world.target.journal)
    seed(world, "web:2", **notes)
    sync(world, doc)
    after = live(world, WEB)
    assert "by" not in after["metadata"].get("annotations", {})
    assert after["spec"]["template"]["spec"]["containers"][0]["image"] == "web:2"
    assert after["metadata"]["uid"] == uid  # replaced in place, not re-created
    assert f"replace {WEB}" in world.target.journal[mark:]


def test_force_with_replace_deletes_and_recreates_the_object(world: World) -> None:
    notes = {"argocd.argoproj.io/sync-options": "Force=true,Replace=true"}
    seed(world, **notes)
    doc = app(world)
    sync(world, doc)
    uid = live(world, WEB)["metadata"]["uid"]
    mark = len(world.target.journal)
    seed(world, "web:2", **notes)
    sync(world, doc)
    lines = world.target.journal[mark:]
    at = lines.index(f"delete {WEB}")
    assert lines[at + 1] == f"replace {WEB}"
    assert live(world, WEB)["metadata"]["uid"] != uid


def test_force_alone_recreates_only_what_the_target_refuses(world: World) -> None:
    def immutable(obj: dict[str, Any]) -> str | None:
        changed = "web:2" in str(obj) and world.target.peek(WEB) is not None
        return "field is immutable" if changed else None

    world.target.reject = immutable
    notes = {"argocd.argoproj.io/sync-options": "Force=true"}
    seed(world, **notes)
    doc = app(world)
    sync(world, doc)
    uid = live(world, WEB)["metadata"]["uid"]
    seed(world, "web:2", **notes)
    status = sync(world, doc)
    assert status["operation"]["phase"] == "Succeeded"
    assert live(world, WEB)["metadata"]["uid"] != uid


def test_server_side_apply_writes_as_apply_on_the_memory_target(world: World) -> None:
    seed(world)
    doc = app(world, "ServerSideApply=true")
    status = sync(world, doc)
    assert status["sync"]["status"] == "Synced" and status["health"]["status"] == "Healthy"
    others_annotate(world)
    seed(world, "web:2")
    sync(world, doc)
    assert live(world, WEB)["metadata"]["annotations"]["by"] == "hpa"  # merged, as apply


def test_validate_false_is_accepted_by_the_memory_target(world: World) -> None:
    seed(world, **{"argocd.argoproj.io/sync-options": "Validate=false"})
    assert sync(world, app(world, "Validate=false"))["sync"]["status"] == "Synced"


def test_skip_dry_run_on_missing_resource_is_accepted(world: World) -> None:
    notes = {"argocd.argoproj.io/sync-options": "SkipDryRunOnMissingResource=true"}
    seed(world, **notes)
    status = sync(world, app(world, "SkipDryRunOnMissingResource=true"))
    assert status["sync"]["status"] == "Synced"


def autoscaled(world: World, *options: str) -> str:
    seed(world)
    doc = app(world, *options, ignoreDifferences=REPLICAS)
    sync(world, doc)
    world.target.edit(WEB, lambda o: o["spec"].update(replicas=5))  # the autoscaler
    assert sync(world, doc)["sync"]["status"] == "Synced"  # ignored: not drift
    seed(world, "web:2")  # Git still says 2 replicas, and changes the image
    sync(world, doc)
    assert live(world, WEB)["spec"]["template"]["spec"]["containers"][0]["image"] == "web:2"
    return doc


def test_respect_ignore_differences_keeps_the_autoscaled_replicas(world: World) -> None:
    autoscaled(world, "RespectIgnoreDifferences=true")
    assert live(world, WEB)["spec"]["replicas"] == 5


def test_without_respect_ignore_differences_git_replicas_are_applied(world: World) -> None:
    autoscaled(world)
    assert live(world, WEB)["spec"]["replicas"] == 2


def test_respect_ignore_differences_applies_git_when_the_object_is_new(world: World) -> None:
    seed(world)
    sync(world, app(world, "RespectIgnoreDifferences=true", ignoreDifferences=REPLICAS))
    assert live(world, WEB)["spec"]["replicas"] == 2


def namespace_policy(labels: dict[str, str]) -> dict[str, Any]:
    return {"managedNamespaceMetadata": {"labels": labels, "annotations": {"owner": "team-a"}}}


def test_create_namespace_sets_and_keeps_managed_namespace_metadata(world: World) -> None:
    seed(world)
    first = app(world, "CreateNamespace=true", policy=namespace_policy({"env": "prod", "a": "1"}))
    sync(world, first)
    meta = live(world, NS)["metadata"]
    assert meta["labels"] == {"env": "prod", "a": "1"} and meta["annotations"]["owner"] == "team-a"
    world.target.edit(NS, lambda o: o["metadata"]["labels"].update(injected="istio"))
    second = app(world, "CreateNamespace=true", policy=namespace_policy({"env": "production"}))
    world.reconcilers.clear()
    seed(world, "web:2")
    sync(world, second)
    assert live(world, NS)["metadata"]["labels"] == {"env": "production", "injected": "istio"}


def test_create_namespace_without_metadata_creates_a_bare_namespace(world: World) -> None:
    seed(world)
    sync(world, app(world, "CreateNamespace=true"))
    assert "labels" not in live(world, NS)["metadata"]
    assert NS.key not in sync(world, "")["inventory"]  # never pruned: not the app's


def test_revision_history_limit_bounds_the_history(world: World) -> None:
    doc = app(world, revisionHistoryLimit=2)
    for n in range(4):
        seed(world, f"web:{n}")
        status = sync(world, doc)
    assert len(status["history"]) == 2
    assert status["history"][0]["revision"] == status["sync"]["revision"]


def test_revision_history_limit_defaults_to_ten(world: World) -> None:
    doc = app(world)
    for n in range(12):
        seed(world, f"web:{n}")
        status = sync(world, doc)
    assert len(status["history"]) == 10
