"""Waves, hooks, health transitions and drift against the memory target.
(These should also run against the Podman target, issue 7.)"""

from __future__ import annotations

import asyncio
from typing import Any

from conveyor.reconcile import health
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest, ObjectRef
from conveyor.targets.memory import MemoryTarget

from .conftest import World, application, configmap, deployment, job, service

AUTO = {"prune": True, "selfHeal": True}
WEB = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")


def test_waves_and_hooks_apply_in_phase_wave_kind_order(world: World) -> None:
    wave = "argocd.argoproj.io/sync-wave"
    world.repo.write_objects(
        "app/all.yaml",
        service("web", **{wave: "1"}),
        deployment("web"),
        configmap("early", **{"conveyor.dev/sync-wave": "-1"}),
        configmap("plain"),
        job("migrate", **{"argocd.argoproj.io/hook": "PreSync"}),
        job("smoke", **{"argocd.argoproj.io/hook": "PostSync"}),
        configmap("never", **{"argocd.argoproj.io/hook": "Skip"}),
    )
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    status = asyncio.run(rec.reconcile_all())["web"]
    applied = [line for line in world.target.journal if line.startswith("apply")]
    assert applied == [
        "apply Job.batch prod/migrate",
        "apply ConfigMap prod/early",
        "apply ConfigMap prod/plain",
        "apply Deployment.apps prod/web",
        "apply Service prod/web",
        "apply Job.batch prod/smoke",
    ]
    assert [o["object"] for o in status["health"]["objects"]] == [
        "Service prod/web",
        "Deployment.apps prod/web",
        "ConfigMap prod/early",
        "ConfigMap prod/plain",
    ]
    hooks = {r["object"]: r["code"] for r in status["operation"]["results"] if "Job" in r["object"]}
    assert hooks == {"Job.batch prod/migrate": "Synced", "Job.batch prod/smoke": "Synced"}


def test_a_wave_waits_until_the_previous_wave_is_healthy(world: World) -> None:
    world.target.ready_after = 0.05
    seen: list[Any] = []

    def on_apply(obj: Manifest) -> None:
        if obj["kind"] == "Service":
            seen.append((world.target.peek(WEB) or {}).get("status", {}).get("readyReplicas"))

    world.target.on_apply = on_apply
    world.repo.write_objects(
        "app/all.yaml", deployment("web"), service("web", **{"argocd.argoproj.io/sync-wave": "1"})
    )
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    assert seen == [1]


def test_a_degraded_wave_stops_later_waves_and_runs_syncfail_hooks(world: World) -> None:
    world.repo.write_objects(
        "app/all.yaml",
        deployment("web", "web:broken"),
        service("web", **{"argocd.argoproj.io/sync-wave": "1"}),
        job("notify", **{"argocd.argoproj.io/hook": "SyncFail"}),
    )
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    status = asyncio.run(rec.reconcile_all())["web"]
    codes = [(r["object"], r["code"]) for r in status["operation"]["results"]]
    assert ("Deployment.apps prod/web", "SyncFailed") in codes
    assert ("Service prod/web", "Skipped") in codes
    assert ("Job.batch prod/notify", "Synced") in codes
    assert status["health"]["status"] == "Degraded"
    assert status["conditions"][0]["reason"] == "SyncFailed"


def test_health_moves_from_progressing_to_healthy() -> None:
    now = [0.0]
    target = MemoryTarget(clock=lambda: now[0], ready_after=10)

    async def go() -> list[str]:
        await target.apply(deployment("web"))
        seen = [
            health.assess(
                await target.get(
                    WEB.__class__(group="apps", kind="Deployment", namespace="", name="web")
                )
            ).status
        ]
        now[0] = 11
        ref = ObjectRef(group="apps", kind="Deployment", namespace="", name="web")
        seen.append(health.assess(await target.get(ref)).status)
        await target.apply(deployment("web", "web:2"))
        seen.append(health.assess(await target.get(ref)).status)
        now[0] = 30
        seen.append(health.assess(await target.get(ref)).status)
        return [str(s) for s in seen]

    assert asyncio.run(go()) == ["Progressing", "Healthy", "Progressing", "Healthy"]


def test_app_health_reports_progressing_then_healthy(world: World) -> None:
    now = [0.0]
    world.target.clock = lambda: now[0]
    world.target.ready_after = 10
    world.repo.write_objects("app/all.yaml", deployment("web"))
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    first = asyncio.run(rec.reconcile_all())["web"]
    now[0] = 20
    second = asyncio.run(rec.reconcile_all())["web"]
    assert first["health"]["status"] == "Progressing"
    reconciling = first["conditions"][1]
    assert (reconciling["type"], reconciling["status"]) == ("Reconciling", "True")
    assert second["health"]["status"] == "Healthy"
    assert second["conditions"][0]["status"] == "True"


def test_drift_is_repaired_with_self_heal(world: World) -> None:
    world.repo.write_objects("app/all.yaml", deployment("web", replicas=2))
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    world.target.edit(WEB, lambda obj: obj["spec"].update(replicas=5))
    status = asyncio.run(rec.reconcile_all())["web"]
    live = asyncio.run(world.target.get(WEB))
    assert live is not None and live["spec"]["replicas"] == 2
    assert status["sync"]["status"] == "Synced"
    assert status["history"][0]["reason"] == "live state drifted; self-healing"
    assert 'conveyor_app_drift_events_total{app="web"} 1' in rec.env.metrics.render()


def test_drift_is_reported_without_self_heal(world: World) -> None:
    world.repo.write_objects("app/all.yaml", deployment("web", replicas=2))
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated={"prune": True}))
    asyncio.run(rec.reconcile_all())
    world.target.edit(WEB, lambda obj: obj["spec"].update(replicas=5))
    status = asyncio.run(rec.reconcile_all())["web"]
    live = asyncio.run(world.target.get(WEB))
    assert live is not None and live["spec"]["replicas"] == 5
    assert status["sync"]["status"] == "OutOfSync"
    assert status["sync"]["outOfSync"] == ["Deployment.apps prod/web"]
    assert status["conditions"][0]["message"] == "live state drifted; selfHeal is off"
    assert len(status["history"]) == 1
    assert 'conveyor_app_drift_events_total{app="web"} 1' in rec.env.metrics.render()


def test_deleted_object_is_recreated_by_self_heal(world: World) -> None:
    world.repo.write_objects("app/all.yaml", deployment("web"))
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    asyncio.run(rec.reconcile_all())
    world.target.remove(WEB)
    asyncio.run(rec.reconcile_all())
    assert WEB in world.target.refs()


def test_ignore_differences_hides_replicas_managed_elsewhere(world: World) -> None:
    world.repo.write_objects("app/all.yaml", deployment("web", replicas=2))
    world.repo.commit()
    ignore = {
        "ignoreDifferences": [
            {"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}
        ]
    }
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO, extra=ignore))
    asyncio.run(rec.reconcile_all())
    world.target.edit(WEB, lambda obj: obj["spec"].update(replicas=7))
    status = asyncio.run(rec.reconcile_all())["web"]
    assert status["sync"]["status"] == "Synced"
    assert HealthStatus(status["health"]["status"]) == HealthStatus.HEALTHY


def test_bad_wave_annotation_is_a_render_error_not_a_crash(world: World) -> None:
    world.repo.write_objects(
        "app/all.yaml", configmap("c", **{"argocd.argoproj.io/sync-wave": "first"})
    )
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    ready = asyncio.run(rec.reconcile_all())["web"]["conditions"][0]
    assert ready["reason"] == "RenderFailed" and "sync wave 'first'" in ready["message"]
    assert world.target.refs() == []
