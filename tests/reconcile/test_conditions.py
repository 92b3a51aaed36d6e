"""Conditions survive a restart: every condition a reconciler wrote keeps its reason and
message when a new process (a second `conveyor reconcile --once`) reloads the app from
the store and reports it again (issue 11, section 4.3)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.restore import load_runtime
from conveyor.store import OperationRecord

from .conftest import World, application, configmap, deployment, job

AUTO = {"prune": True, "selfHeal": True}


def _rejected(world: World) -> None:
    world.repo.write_objects("app/cfg.yaml", configmap("cfg"))
    world.target.reject = lambda obj: "quota exceeded"


def _hook_failed(world: World) -> None:
    hook = job("migrate", "tool:broken", **{"argocd.argoproj.io/hook": "PreSync"})
    world.repo.write_objects("app/all.yaml", configmap("cfg"), hook)


def _degraded(world: World) -> None:
    world.repo.write_objects("app/web.yaml", deployment("web", "web:broken"))


def _bad_yaml(world: World) -> None:
    world.repo.write("app/cfg.yaml", "kind: ConfigMap\n  bad: [\n")


FAILURES: dict[str, Callable[[World], None]] = {
    "target rejects": _rejected,
    "hook fails": _hook_failed,
    "workload degraded": _degraded,
    "render fails": _bad_yaml,
}


def _conditions(status: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    return [(c["type"], c["status"], c["reason"], c["message"]) for c in status["conditions"]]


@pytest.mark.parametrize("make_failure", FAILURES.values(), ids=FAILURES.keys())
def test_conditions_keep_reason_and_message_across_a_restart(
    world: World, make_failure: Callable[[World], None]
) -> None:
    make_failure(world)
    world.repo.commit()
    doc = application("web", world.repo, "app", automated=AUTO)
    running = world.reconciler(doc)
    first = asyncio.run(running.reconcile_all())["web"]
    stored = world.store.load_status("web")
    second = asyncio.run(running.reconcile_all())["web"]  # the same process, next pass
    restarted = asyncio.run(world.reconciler(doc).reconcile_all())["web"]  # a new process
    assert stored is not None and _conditions(stored) == _conditions(first)
    assert _conditions(restarted) == _conditions(second)
    assert restarted["operation"] == second["operation"]
    for condition in (*first["conditions"], *restarted["conditions"]):
        assert bool(condition["reason"]) == bool(condition["message"]), condition
    assert restarted["conditions"][0]["status"] == "False"


def test_a_reloaded_failed_operation_reports_its_first_failure(world: World) -> None:
    results = (
        {"object": "ConfigMap prod/a", "code": "Synced", "message": "applied"},
        {"object": "ConfigMap prod/b", "code": "SyncFailed", "message": "quota exceeded"},
    )
    op = OperationRecord(app="web", revision="abc", digest="d", state="Running", started=1.0)
    op_id = world.store.begin_operation(op)
    world.store.finish_operation(op_id, state="Failed", results=results)
    app = parse_applications(application("web", world.repo, "app"), "apps.yaml")[0]
    rt = load_runtime(world.store, app)
    assert rt.operation is not None
    assert rt.operation["message"] == "ConfigMap prod/b: quota exceeded"
