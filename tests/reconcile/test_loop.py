"""The control loop: refresh triggers, target events, retries, hook delete policies."""

from __future__ import annotations

import asyncio

from conveyor.reconcile.loop import Loop
from conveyor.targets.base import ObjectRef

from .conftest import World, application, configmap, deployment, job

AUTO = {"prune": True, "selfHeal": True}
WEB = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")


async def until(predicate: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


def run_loop(loop: Loop, body: object) -> None:
    async def go() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(interval=3600, stop=stop))
        try:
            await body()  # type: ignore[operator]
        finally:
            stop.set()
            await task

    asyncio.run(go())


def test_refresh_trigger_reconciles_without_waiting_for_the_interval(world: World) -> None:
    world.repo.write_objects("app/web.yaml", deployment("web", "web:1"))
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    loop = Loop(rec)

    async def body() -> None:
        await until(lambda: WEB in world.target.refs())
        world.repo.write_objects("app/web.yaml", deployment("web", "web:2"))
        sha = world.repo.commit()
        loop.trigger("web")  # what a webhook or post-receive hook does
        await until(lambda: rec.runtime("web").applied_revision == sha)

    run_loop(loop, body)
    live = world.target.peek(WEB)
    assert live is not None
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "web:2"


def test_target_event_repairs_drift_without_waiting_for_the_interval(world: World) -> None:
    world.repo.write_objects("app/web.yaml", deployment("web", replicas=2))
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))

    def replicas() -> object:
        live = world.target.peek(WEB)
        return live and live["spec"]["replicas"]

    async def body() -> None:
        await until(lambda: replicas() == 2 and rec.runtime("web").ready)
        world.target.edit(WEB, lambda obj: obj["spec"].update(replicas=9))
        await until(lambda: replicas() == 2)

    run_loop(Loop(rec), body)


def test_failed_sync_is_retried_then_reported_stalled(world: World) -> None:
    world.repo.write_objects("app/cfg.yaml", configmap("cfg"))
    world.repo.commit()
    world.target.reject = lambda obj: "quota exceeded"
    retry = {
        "syncPolicy": {
            "automated": AUTO,
            "retry": {"limit": 2, "backoff": {"duration": "0s", "factor": 2, "maxDuration": "0s"}},
        }
    }
    rec = world.reconciler(application("web", world.repo, "app", extra=retry))
    statuses = [asyncio.run(rec.reconcile_all())["web"] for _ in range(4)]
    assert [len(s["history"]) for s in statuses] == [1, 2, 3, 3]
    assert statuses[1]["history"][0]["reason"] == "retry 1 of 2"
    ready, _, stalled = statuses[-1]["conditions"]
    assert ready["reason"] == "SyncFailed" and "quota exceeded" in ready["message"]
    assert stalled["status"] == "True"
    world.target.reject = None
    world.repo.write_objects("app/cfg.yaml", configmap("cfg", {"k": "fixed"}))
    world.repo.commit()
    assert asyncio.run(rec.reconcile_all())["web"]["conditions"][0]["status"] == "True"


def test_hook_succeeded_policy_deletes_the_hook_after_it_completes(world: World) -> None:
    world.repo.write_objects(
        "app/all.yaml",
        configmap("cfg"),
        job(
            "migrate",
            **{
                "argocd.argoproj.io/hook": "PreSync",
                "argocd.argoproj.io/hook-delete-policy": "HookSucceeded",
            },
        ),
        job("keep", **{"argocd.argoproj.io/hook": "PostSync"}),
    )
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    status = asyncio.run(rec.reconcile_all())["web"]
    names = [r.name for r in world.target.refs()]
    assert names == ["cfg", "keep"]
    assert status["inventory"] == ["/ConfigMap/prod/cfg"]  # hooks are not inventory
    assert status["sync"]["status"] == "Synced"


def test_failed_hook_fails_the_sync_and_skips_later_phases(world: World) -> None:
    world.repo.write_objects(
        "app/all.yaml",
        configmap("cfg"),
        job("migrate", "tool:broken", **{"argocd.argoproj.io/hook": "PreSync"}),
    )
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    status = asyncio.run(rec.reconcile_all())["web"]
    codes = {r["object"]: r["code"] for r in status["operation"]["results"]}
    assert codes == {"Job.batch prod/migrate": "HookFailed", "ConfigMap prod/cfg": "Skipped"}
    assert [r.name for r in world.target.refs()] == ["migrate"]


def test_manual_sync_without_prune_keeps_stale_objects(world: World) -> None:
    world.repo.write_objects("app/a.yaml", configmap("a"))
    world.repo.write_objects("app/b.yaml", configmap("b"))
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app"))  # manual sync only
    first = asyncio.run(rec.reconcile_all())["web"]
    assert first["sync"]["status"] == "OutOfSync" and world.target.refs() == []
    asyncio.run(rec.sync("web"))
    world.repo.remove("app/b.yaml")
    world.repo.commit()
    status = asyncio.run(rec.sync("web", prune=False))
    assert [r.name for r in world.target.refs()] == ["a", "b"]
    assert status["sync"]["status"] == "OutOfSync"
    asyncio.run(rec.sync("web"))
    assert [r.name for r in world.target.refs()] == ["a"]


def test_create_namespace_sync_option_creates_it_first_and_never_prunes_it(world: World) -> None:
    world.repo.write_objects("app/cfg.yaml", configmap("cfg"))
    world.repo.commit()
    extra = {"syncPolicy": {"automated": AUTO, "syncOptions": ["CreateNamespace=true"]}}
    rec = world.reconciler(application("web", world.repo, "app", extra=extra))
    status = asyncio.run(rec.reconcile_all())["web"]
    assert world.target.journal[:2] == ["apply Namespace prod", "apply ConfigMap prod/cfg"]
    assert status["inventory"] == ["/ConfigMap/prod/cfg"]
