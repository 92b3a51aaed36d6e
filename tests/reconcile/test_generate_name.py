"""Hooks named with `metadata.generateName` (Argo CD's convention for PreSync/PostSync
Jobs, and what Helm-style hook manifests use): named per sync as gitops-engine names
them, delete policies working on those names, and generateName refused on plain
resources (issue 11, section 4.1)."""

from __future__ import annotations

import asyncio
from typing import Any

from conveyor.reconcile.hooknames import hook_name
from conveyor.reconcile.model import Phase
from conveyor.reconcile.reconciler import Reconciler

from .conftest import World, application, configmap, deployment, job

AUTO = {"prune": True, "selfHeal": True}
HOOK = "argocd.argoproj.io/hook"
POLICY = "argocd.argoproj.io/hook-delete-policy"


def generated(name: str, image: str = "tool:1", **notes: str) -> dict[str, Any]:
    obj = job(name, image, **notes)
    obj["metadata"] = {"generateName": name, "annotations": notes}
    return obj


def jobs(world: World) -> list[str]:
    return [r.name for r in world.target.refs() if r.kind == "Job"]


def at(rec: Reconciler, seconds: float) -> Reconciler:
    rec.env.clock = lambda: seconds
    return rec


def test_hook_name_follows_gitops_engine() -> None:
    name = hook_name("migrate-", revision="0123456789ab", phase=Phase.PRE_SYNC, started=17.9)
    assert name == "migrate-0123456-presync-17"


def test_generate_name_presync_hook_runs_before_the_deployment(world: World) -> None:
    world.repo.write_objects(
        "app/all.yaml", deployment("web"), generated("migrate-", **{HOOK: "PreSync"})
    )
    sha = world.repo.commit()
    rec = at(world.reconciler(application("web", world.repo, "app", automated=AUTO)), 1000.0)
    status = asyncio.run(rec.reconcile_all())["web"]
    name = f"migrate-{sha[:7]}-presync-1000"
    applied = [line for line in world.target.journal if line.startswith("apply")]
    assert applied == [f"apply Job.batch prod/{name}", "apply Deployment.apps prod/web"]
    assert status["sync"]["status"] == "Synced" and status["health"]["status"] == "Healthy"
    assert status["inventory"] == ["apps/Deployment/prod/web"]  # hooks are not inventory
    codes = {r["object"]: r["code"] for r in status["operation"]["results"]}
    assert codes[f"Job.batch prod/{name}"] == "Synced"


def test_each_phase_of_a_generate_name_hook_gets_its_own_object(world: World) -> None:
    world.repo.write_objects(
        "app/all.yaml", configmap("cfg"), generated("check-", **{HOOK: "PreSync,PostSync"})
    )
    world.repo.commit()
    rec = at(world.reconciler(application("web", world.repo, "app", automated=AUTO)), 5.0)
    asyncio.run(rec.reconcile_all())
    assert [n.rsplit("-", 2)[1] for n in jobs(world)] == ["postsync", "presync"]


def test_before_hook_creation_replaces_earlier_runs_of_a_generate_name_hook(
    world: World,
) -> None:
    world.repo.write_objects("app/all.yaml", configmap("cfg"), generated("m-", **{HOOK: "PreSync"}))
    world.repo.commit()
    doc = application("web", world.repo, "app", automated=AUTO)
    rec = at(world.reconciler(doc), 100.0)
    asyncio.run(rec.reconcile_all())
    first = jobs(world)
    world.repo.write_objects(
        "app/all.yaml", configmap("cfg", {"k": "2"}), generated("m-", **{HOOK: "PreSync"})
    )
    sha = world.repo.commit()
    asyncio.run(at(rec, 200.0).reconcile_all())
    assert len(first) == 1 and jobs(world) == [f"m-{sha[:7]}-presync-200"]
    assert f"delete Job.batch prod/{first[0]}" in world.target.journal


def test_hook_succeeded_and_hook_failed_delete_generate_name_hooks(world: World) -> None:
    world.repo.write_objects(
        "app/all.yaml",
        configmap("cfg"),
        generated("ok-", **{HOOK: "PreSync", POLICY: "HookSucceeded"}),
        generated("smoke-", **{HOOK: "PostSync", POLICY: "HookSucceeded"}),
    )
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    status = asyncio.run(rec.reconcile_all())["web"]
    assert status["operation"]["phase"] == "Succeeded" and jobs(world) == []
    world.repo.write_objects(
        "app/all.yaml",
        configmap("cfg", {"k": "2"}),  # hooks alone do not make the app OutOfSync
        generated("bad-", "tool:broken", **{HOOK: "PreSync", POLICY: "HookFailed"}),
    )
    world.repo.commit()
    status = asyncio.run(rec.reconcile_all())["web"]
    assert status["operation"]["phase"] == "Failed" and jobs(world) == []
    assert status["conditions"][0]["message"].startswith("Job.batch prod/bad-")


def test_generate_name_on_a_plain_resource_is_a_render_error(world: World) -> None:
    web = deployment("web")
    web["metadata"] = {"generateName": "web-"}
    world.repo.write_objects("app/all.yaml", configmap("cfg"), web)
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    ready = asyncio.run(rec.reconcile_all())["web"]["conditions"][0]
    assert ready["reason"] == "RenderFailed"
    assert (
        "Deployment.apps prod/web-: metadata.generateName without metadata.name"
        in (ready["message"])
    )
    assert "argocd.argoproj.io/hook" in ready["message"]
    assert world.target.refs() == []


def test_two_hooks_from_one_generate_name_are_duplicates(world: World) -> None:
    world.repo.write_objects(
        "app/all.yaml",
        generated("m-", **{HOOK: "PreSync"}),
        generated("m-", "tool:2", **{HOOK: "PreSync"}),
    )
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    ready = asyncio.run(rec.reconcile_all())["web"]["conditions"][0]
    assert (
        ready["reason"] == "RenderFailed"
        and "prod/m- is defined more than once" in (ready["message"])
    )
