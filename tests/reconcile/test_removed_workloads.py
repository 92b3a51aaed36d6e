"""`conveyor down` removes what the apps run and records it in the reconciler's state
(`restore.mark_removed`); a reconciler started afterwards deploys the apps again as a new
desired state. Without the record, an automated app without `selfHeal` stays down ("live
state drifted; selfHeal is off") and one with it is told and counted as drift. Memory
target and a real Git config repo; a restart is a new `Reconciler` over the same store."""

from __future__ import annotations

import asyncio
import time

import pytest

from conveyor.reconcile.restore import mark_removed, removed_at
from conveyor.targets.base import ObjectRef

from .conftest import World, application, deployment
from .test_notices import listening

WEB = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")


@pytest.mark.parametrize("self_heal", [False, True])
@pytest.mark.parametrize("marked", [True, False])
def test_after_down_a_restarted_reconciler_deploys_again_as_new(
    world: World, self_heal: bool, marked: bool
) -> None:
    world.repo.write_objects("app/all.yaml", deployment("web"))
    world.repo.commit()
    doc = application("web", world.repo, "app", automated={"prune": True, "selfHeal": self_heal})
    first = world.reconciler(doc)
    assert asyncio.run(first.reconcile_all())["web"]["sync"]["status"] == "Synced"
    # `conveyor down`: the reconciler stops, the target's workloads go
    world.target.remove(WEB)
    if marked:
        assert mark_removed(world.store, "memory", time.time()) == ["web"]
        assert removed_at(world.store, "web") > 0
    restarted = world.reconciler(doc)
    heard = listening(restarted)
    status = asyncio.run(restarted.reconcile_all())["web"]
    drifts = 'conveyor_app_drift_events_total{app="web"} 1' in restarted.env.metrics.render()
    if marked:
        assert world.target.peek(WEB) is not None, status["autoSync"]
        assert status["history"][0]["reason"] == "new desired state"
        assert not drifts and heard.notices == []
    elif self_heal:
        assert world.target.peek(WEB) is not None
        assert status["history"][0]["reason"] == "live state drifted; self-healing"
        assert drifts and [n.trigger.value for n in heard.notices] == [
            "on-drift-detected",
            "on-drift-repaired",
        ]
    else:
        assert world.target.peek(WEB) is None
        assert status["autoSync"]["decision"] == "live state drifted; selfHeal is off"


def test_only_the_apps_on_the_removed_target_are_marked(world: World) -> None:
    world.store.save_status("web", {"target": "memory"})
    world.store.save_status("elsewhere", {"target": "cluster"})
    assert mark_removed(world.store, "memory", 5.0) == ["web"]
    assert removed_at(world.store, "web") == 5.0
    assert removed_at(world.store, "elsewhere") == 0.0
