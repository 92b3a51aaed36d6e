"""Pruning with Argo CD's sync and compare options (issue 14): PruneLast, prune waves,
PrunePropagationPolicy, IgnoreExtraneous; and `retry.limit: -1`. Memory target."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conveyor.reconcile.health import assess
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import ObjectRef, Propagation
from conveyor.targets.memory import MemoryTarget

from .conftest import World, application, configmap, deployment

WAVE = "argocd.argoproj.io/sync-wave"
OPTIONS = "argocd.argoproj.io/sync-options"
OLD = ObjectRef(group="", kind="ConfigMap", namespace="prod", name="old")
LATE = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="late")
WEB = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")


def app(world: World, *options: str, **policy: Any) -> str:
    sync_policy = {"automated": {"prune": True}, "syncOptions": list(options), **policy}
    return application("web", world.repo, "app", extra={"syncPolicy": sync_policy})


def reconcile(world: World, doc: str) -> dict[str, Any]:
    rec = world.reconcilers[-1] if world.reconcilers else world.reconciler(doc)
    return asyncio.run(rec.reconcile_all())["web"]


def old_then_late(world: World, *options: str, **old_notes: str) -> list[str]:
    """Sync `old` and `web`; then Git drops `old` and adds `late` in wave 2. Returns the
    second sync's journal."""
    world.repo.write_objects("app/old.yaml", configmap("old", **old_notes))
    world.repo.write_objects("app/web.yaml", deployment("web", **{WAVE: "1"}))
    world.repo.commit()
    doc = app(world, *options)
    reconcile(world, doc)
    world.repo.remove("app/old.yaml")
    world.repo.write_objects("app/late.yaml", deployment("late", **{WAVE: "2"}))
    world.repo.commit()
    mark = len(world.target.journal)
    status = reconcile(world, doc)
    assert status["operation"]["phase"] == "Succeeded"
    assert OLD not in world.target.refs()
    return world.target.journal[mark:]


def test_prune_runs_in_its_own_wave_by_default(world: World) -> None:
    journal = old_then_late(world)
    assert journal.index(f"delete {OLD}") < journal.index(f"apply {LATE}")


@pytest.mark.parametrize("where", ["app", "annotation"])
def test_prune_last_deletes_after_every_wave_is_healthy(world: World, where: str) -> None:
    world.target.ready_after = 0.05
    seen: list[HealthStatus] = []
    world.target.on_delete = lambda ref: seen.append(assess(world.target.peek(LATE)).status)
    if where == "app":
        journal = old_then_late(world, "PruneLast=true")
    else:
        journal = old_then_late(world, **{OPTIONS: "PruneLast=true"})
    assert journal.index(f"delete {OLD}") > journal.index(f"apply {LATE}")
    assert seen == [HealthStatus.HEALTHY]


def test_prune_waves_run_in_reverse_creation_order(world: World) -> None:
    world.repo.write_objects("app/a.yaml", configmap("a", **{WAVE: "-1"}))
    world.repo.write_objects("app/b.yaml", configmap("b", **{WAVE: "3"}))
    world.repo.write_objects("app/keep.yaml", configmap("keep"))
    world.repo.commit()
    doc = app(world)
    reconcile(world, doc)
    world.repo.remove("app/a.yaml")
    world.repo.remove("app/b.yaml")
    world.repo.commit()
    mark = len(world.target.journal)
    reconcile(world, doc)
    deletes = [line for line in world.target.journal[mark:] if line.startswith("delete")]
    assert deletes == ["delete ConfigMap prod/b", "delete ConfigMap prod/a"]


def owned_child(target: MemoryTarget, owner: ObjectRef, name: str) -> ObjectRef:
    uid = (target.peek(owner) or {})["metadata"]["uid"]
    child = configmap(name)
    child["metadata"].update(
        namespace="prod", ownerReferences=[{"kind": owner.kind, "name": owner.name, "uid": uid}]
    )
    asyncio.run(target.apply(child))
    return ObjectRef.of(child)


def prune_web_with(world: World, *options: str) -> ObjectRef:
    world.repo.write_objects("app/web.yaml", deployment("web"))
    world.repo.write_objects("app/cfg.yaml", configmap("cfg"))
    world.repo.commit()
    doc = app(world, *options)
    reconcile(world, doc)
    child = owned_child(world.target, WEB, "web-replicas")
    world.repo.remove("app/web.yaml")
    world.repo.commit()
    status = reconcile(world, doc)
    assert WEB not in world.target.refs()
    pruned = next(r for r in status["operation"]["results"] if r["object"] == str(WEB))
    assert pruned["code"] == "Pruned"
    return child


def test_prune_propagation_foreground_by_default_deletes_dependents_first(world: World) -> None:
    child = prune_web_with(world)
    assert child not in world.target.refs()
    journal = world.target.journal
    assert journal.index(f"delete {child}") < journal.index(f"delete {WEB}")


def test_prune_propagation_background_deletes_the_owner_first(world: World) -> None:
    child = prune_web_with(world, "PrunePropagationPolicy=background")
    assert child not in world.target.refs()
    journal = world.target.journal
    assert journal.index(f"delete {WEB}") < journal.index(f"delete {child}")


def test_prune_propagation_orphan_leaves_dependents_in_place(world: World) -> None:
    child = prune_web_with(world, "PrunePropagationPolicy=orphan")
    left = world.target.peek(child)
    assert left is not None and "ownerReferences" not in left["metadata"]


def test_memory_target_orphan_keeps_other_owner_references() -> None:
    target = MemoryTarget()
    owner = deployment("web")
    owner["metadata"]["namespace"] = "prod"
    asyncio.run(target.apply(owner))
    child = owned_child(target, WEB, "child")
    other = {"kind": "Thing", "name": "x", "uid": "uid-other"}
    target.edit(child, lambda o: o["metadata"]["ownerReferences"].append(other))
    assert asyncio.run(target.delete(WEB, propagation=Propagation.ORPHAN))
    assert (target.peek(child) or {})["metadata"]["ownerReferences"] == [other]


def test_ignore_extraneous_object_does_not_make_the_app_out_of_sync(world: World) -> None:
    world.repo.write_objects("app/web.yaml", deployment("web"))
    ignored = {"argocd.argoproj.io/compare-options": "IgnoreExtraneous"}
    world.repo.write_objects("app/gen.yaml", configmap("gen", **ignored))
    world.repo.write_objects("app/plain.yaml", configmap("plain"))
    world.repo.commit()
    doc = application("web", world.repo, "app", extra={"syncPolicy": {"automated": {}}})
    reconcile(world, doc)
    world.repo.remove("app/gen.yaml")
    world.repo.commit()
    status = reconcile(world, doc)
    assert status["sync"]["status"] == "Synced"  # gen is extraneous (not pruned), and ignored
    assert ObjectRef(group="", kind="ConfigMap", namespace="prod", name="gen") in (
        world.target.refs()
    )
    world.repo.remove("app/plain.yaml")
    world.repo.commit()
    status = reconcile(world, doc)
    assert status["sync"]["outOfSync"] == ["ConfigMap prod/plain"]  # without the option


def test_retry_limit_minus_one_retries_for_ever_with_backoff(world: World) -> None:
    world.repo.write_objects("app/cfg.yaml", configmap("cfg"))
    world.repo.commit()
    world.target.reject = lambda obj: "quota exceeded"
    retry = {"limit": -1, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "40s"}}
    rec = world.reconciler(app(world, retry=retry))
    now = [1000.0]
    rec.env.clock = lambda: now[0]

    def attempts_at(when: float) -> int:
        now[0] = when
        status = asyncio.run(rec.reconcile_all())["web"]
        assert status["conditions"][2]["status"] == "False"  # never Stalled: retries are left
        return len(rec.env.store.history("web"))

    assert attempts_at(1000) == 1  # fails; the first retry waits 10 s
    assert attempts_at(1009) == 1
    assert attempts_at(1011) == 2  # retry 1; the next waits 20 s
    assert attempts_at(1030) == 2
    for n in range(12):  # then every 40 s (maxDuration), for ever
        assert attempts_at(1032 + 41 * n) == min(3 + n, 10)
    history = rec.env.store.history("web")
    assert history[0].reason == "retry 13 of unlimited"


def test_prune_confirm_keeps_the_object_and_the_app_out_of_sync(world: World) -> None:
    world.repo.write_objects("app/web.yaml", deployment("web"))
    world.repo.write_objects("app/old.yaml", configmap("old", **{OPTIONS: "Prune=confirm"}))
    world.repo.commit()
    doc = app(world)
    reconcile(world, doc)
    world.repo.remove("app/old.yaml")
    world.repo.commit()
    status = reconcile(world, doc)
    assert OLD in world.target.refs()
    assert status["sync"]["outOfSync"] == [str(OLD)]
    kept = next(r for r in status["operation"]["results"] if r["object"] == str(OLD))
    assert kept["code"] == "PruneSkipped" and "Prune=confirm" in kept["message"]
