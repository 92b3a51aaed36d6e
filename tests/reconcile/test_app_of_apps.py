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
    setup(
        world,
        child(world, "late", wave=2),
        child(world, "middle"),
        child(world, "other", wave=2),
        child(world, "early", wave=-1),
    )
    rec = world.reconciler(application("root", world.repo, "root", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    names = ("early", "middle", "late", "other")
    synced = {n: rec.runtime(n).history[-1] for n in names}
    assert synced["early"]["finished"] <= synced["middle"]["started"]
    assert synced["middle"]["finished"] <= min(synced[n]["started"] for n in ("late", "other"))
    assert [(c["name"], c["wave"]) for c in rec.status("root")["children"]] == [
        ("early", -1),
        ("late", 2),
        ("middle", 0),
        ("other", 2),
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


def test_children_come_back_after_a_restart_and_dropped_ones_go(world: World) -> None:
    setup(world, child(world, "alpha"), child(world, "beta"))
    doc = application("root", world.repo, "root", automated=AUTO)
    asyncio.run(world.reconciler(doc).reconcile_all())
    world.repo.write_objects("root/apps.yaml", child(world, "alpha"))
    world.repo.commit("beta goes while Conveyor is down")
    rec = world.reconciler(doc)
    assert rec.apps == ["alpha", "beta", "root"]  # restored before the parent renders
    asyncio.run(rec.reconcile_all())
    assert rec.apps == ["alpha", "root"]


def test_a_deleted_parent_takes_its_children_only_with_the_finalizer(world: World) -> None:
    setup(world, child(world, "alpha"))
    finalizer = {"finalizers": ["resources-finalizer.argocd.argoproj.io"]}
    for extra, left in ((finalizer, []), ({}, ["alpha"])):
        doc = yaml.safe_load(application("root", world.repo, "root", automated=AUTO))
        doc["metadata"].update(extra)
        rec = world.reconciler(yaml.safe_dump(doc))
        asyncio.run(rec.reconcile_all())
        assert rec.apps == ["alpha", "root"]
        rec.set_apps([])  # root's file is deleted
        assert rec.apps == left


def test_an_application_set_rendered_by_a_parent_makes_children(world: World) -> None:
    appset = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "fleet"},
        "spec": {
            "generators": [{"list": {"elements": [{"name": "alpha"}, {"name": "beta"}]}}],
            "template": {
                "metadata": {"name": "{{name}}"},
                "spec": child(world, "{{name}}")["spec"],
            },
        },
    }
    setup(world, child(world, "alpha"), child(world, "beta"))
    world.repo.write_objects("root/apps.yaml", appset)
    world.repo.commit()
    rec = world.reconciler(application("root", world.repo, "root", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    assert rec.apps == ["alpha", "beta", "root"]
    assert settings(world, "beta") is not None
    assert rec.runtime("alpha").app.finalizers == ("resources-finalizer.argocd.argoproj.io",)


def test_apps_of_apps_nest(world: World) -> None:
    world.repo.write_objects("leaf/cm.yaml", configmap("leaf-settings"))
    world.repo.write_objects("middle/apps.yaml", child(world, "leaf"))
    world.repo.write_objects("root/apps.yaml", child(world, "middle"))
    world.repo.commit()
    rec = world.reconciler(application("root", world.repo, "root", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    assert rec.apps == ["leaf", "middle", "root"]
    assert rec.runtime("leaf").app.parent == "middle"
    assert rec.status("leaf")["parent"] == "middle" and rec.status("root")["parent"] == ""
    assert settings(world, "leaf") is not None
