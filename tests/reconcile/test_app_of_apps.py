"""App of apps: Applications rendered by an app are registered and reconciled as apps of
their own, pruned with their parent's prune, ordered by sync wave, and a child whose
name is taken is an error on the parent, never a silent override."""

from __future__ import annotations

import asyncio
from typing import Any

import yaml

from conveyor.targets.base import ObjectRef

from .conftest import World, application, configmap

AUTO = {"prune": True, "selfHeal": True}


def child(world: World, name: str, *, wave: int | None = None, **extra: Any) -> dict[str, Any]:
    """A child Application document as the parent renders it (Argo CD's API group)."""
    doc = yaml.safe_load(application(name, world.repo, name, automated=AUTO, namespace=name))
    doc["apiVersion"] = "argoproj.io/v1alpha1"
    doc["metadata"]["namespace"] = "argocd"
    if wave is not None:
        doc["metadata"]["annotations"] = {"argocd.argoproj.io/sync-wave": str(wave)}
    doc["metadata"].update(extra)
    return doc


def setup(world: World, *children: dict[str, Any]) -> None:
    for doc in children:
        name = doc["metadata"]["name"]
        world.repo.write_objects(f"{name}/cm.yaml", configmap(f"{name}-settings"))
    world.repo.write_objects("root/apps.yaml", *children)
    world.repo.commit()


def settings(world: World, name: str) -> dict[str, Any] | None:
    ref = ObjectRef(group="", kind="ConfigMap", namespace=name, name=f"{name}-settings")
    return world.target.peek(ref)


def test_parent_renders_two_children_that_sync_as_apps(world: World) -> None:
    setup(world, child(world, "alpha"), child(world, "beta"))
    rec = world.reconciler(application("root", world.repo, "root", automated=AUTO))
    statuses = asyncio.run(rec.reconcile_all())
    assert rec.apps == ["alpha", "beta", "root"]
    for name in ("alpha", "beta"):
        status = rec.status(name)
        assert (status["sync"]["status"], status["health"]["status"]) == ("Synced", "Healthy")
        assert settings(world, name) is not None
    root = rec.status("root")
    assert root["sync"]["status"] == "Synced" and root["conditions"][0]["status"] == "True"
    rows = [(c["kind"], c["group"], c["name"], c["health"], c["sync"]) for c in root["children"]]
    assert rows == [
        ("Application", "argoproj.io", "alpha", "Healthy", "Synced"),
        ("Application", "argoproj.io", "beta", "Healthy", "Synced"),
    ]
    app_ref = ObjectRef(group="argoproj.io", kind="Application", namespace="argocd", name="alpha")
    assert world.target.peek(app_ref) is None  # not applied to the target as an object
    assert statuses["root"]["sync"]["status"] == "Synced"


def test_a_child_the_parent_stops_rendering_is_removed(world: World) -> None:
    setup(world, child(world, "alpha"), child(world, "beta"))
    rec = world.reconciler(application("root", world.repo, "root", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    world.repo.write_objects("root/apps.yaml", child(world, "alpha"))
    world.repo.commit("beta goes")
    asyncio.run(rec.reconcile_all())
    assert rec.apps == ["alpha", "root"]
    assert [c["name"] for c in rec.status("root")["children"]] == ["alpha"]


def test_without_prune_the_dropped_child_stays_and_needs_pruning(world: World) -> None:
    setup(world, child(world, "alpha"), child(world, "beta"))
    rec = world.reconciler(application("root", world.repo, "root", automated={"prune": False}))
    asyncio.run(rec.reconcile_all())
    world.repo.write_objects("root/apps.yaml", child(world, "alpha"))
    world.repo.commit("beta goes")
    asyncio.run(rec.reconcile_all())
    assert rec.apps == ["alpha", "beta", "root"]
    root = rec.status("root")
    assert root["sync"]["status"] == "OutOfSync"
    assert {c["name"]: c["status"] for c in root["children"]} == {
        "alpha": "Synced",
        "beta": "RequiresPruning",
    }
    asyncio.run(rec.sync("root", prune=True))
    assert rec.apps == ["alpha", "root"]


def test_a_child_named_like_an_application_file_is_an_error_on_the_parent(
    world: World,
) -> None:
    setup(world, child(world, "alpha"), child(world, "web"))
    world.repo.write_objects("web/cm.yaml", configmap("web-settings"))
    world.repo.commit()
    rec = world.reconciler(
        application("root", world.repo, "root", automated=AUTO),
        application("web", world.repo, "web", automated=AUTO, namespace="files"),
    )
    asyncio.run(rec.reconcile_all())
    assert rec.apps == ["alpha", "root", "web"]
    assert rec.runtime("web").app.namespace == "files"  # the file's app, not the child
    ready = rec.status("root")["conditions"][0]
    assert ready["reason"] == "ChildAppsInvalid"
    assert "'web' collides with the application in apps.yaml" in ready["message"]


def test_an_invalid_child_is_an_error_naming_parent_and_field(world: World) -> None:
    bad = child(world, "alpha")
    bad["spec"]["sourcce"] = bad["spec"].pop("source")
    setup(world, bad, child(world, "beta"))
    rec = world.reconciler(application("root", world.repo, "root", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    assert rec.apps == ["beta", "root"]
    ready = rec.status("root")["conditions"][0]
    assert ready["reason"] == "ChildAppsInvalid"
    assert "root: root (Application alpha)" in ready["message"]
    assert "unknown field spec.sourcce" in ready["message"]


def test_children_sync_in_wave_order(world: World) -> None:
    setup(world, child(world, "late", wave=2), child(world, "early", wave=-1))
    rec = world.reconciler(application("root", world.repo, "root", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    started = {n: rec.runtime(n).history[-1]["started"] for n in ("early", "late")}
    assert started["early"] <= started["late"]
    assert [(c["name"], c["wave"]) for c in rec.status("root")["children"]] == [
        ("early", -1),
        ("late", 2),
    ]


def test_a_manual_parent_registers_children_only_when_synced(world: World) -> None:
    setup(world, child(world, "alpha"))
    rec = world.reconciler(application("root", world.repo, "root"))
    asyncio.run(rec.reconcile_all())
    assert rec.apps == ["root"]
    assert rec.status("root")["sync"]["status"] == "OutOfSync"
    asyncio.run(rec.sync("root"))
    assert rec.apps == ["alpha", "root"]
    assert rec.status("alpha")["health"]["status"] == "Healthy"
