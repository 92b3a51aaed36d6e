"""PreDelete and PostDelete are known hook phases (issue 14) that a sync never runs."""

from __future__ import annotations

import asyncio

import pytest

from conveyor.reconcile import ordering
from conveyor.reconcile.model import Phase
from conveyor.targets.base import ObjectRef

from .conftest import World, application, configmap, job

CLEANUP = ObjectRef(group="batch", kind="Job", namespace="prod", name="cleanup")


@pytest.mark.parametrize(
    ("notes", "phases"),
    [
        ({"argocd.argoproj.io/hook": "PostDelete"}, (Phase.POST_DELETE,)),
        ({"argocd.argoproj.io/hook": "PostSync,PostDelete"}, (Phase.POST_SYNC, Phase.POST_DELETE)),
        ({"helm.sh/hook": "post-delete"}, (Phase.POST_DELETE,)),
        ({"argocd.argoproj.io/hook": "PreDelete"}, (Phase.PRE_DELETE,)),
        ({"helm.sh/hook": "pre-delete"}, (Phase.PRE_DELETE,)),
    ],
)
def test_post_delete_is_a_known_hook_phase(notes: dict[str, str], phases: tuple[Phase]) -> None:
    assert ordering.phases_of(job("cleanup", **notes)) == phases


def test_sync_waves_leave_post_delete_hooks_out_and_deletion_asks_for_them() -> None:
    objs = [configmap("cfg"), job("cleanup", **{"argocd.argoproj.io/hook": "PostDelete"})]
    sync_refs = [s.ref.name for w in ordering.order(objs) for s in w.steps]
    assert sync_refs == ["cfg"]
    deletion = ordering.order(objs, only=ordering.DELETION_PHASES)
    assert [(w.phase, [s.ref.name for s in w.steps]) for w in deletion] == [
        (Phase.POST_DELETE, ["cleanup"])
    ]


def test_a_sync_never_applies_a_post_delete_hook(world: World) -> None:
    world.repo.write_objects(
        "app/all.yaml",
        configmap("cfg"),
        job("cleanup", **{"argocd.argoproj.io/hook": "PostDelete"}),
    )
    world.repo.commit("app with a PostDelete hook")
    rec = world.reconciler(application("web", world.repo, "app", automated={"prune": True}))
    for _ in range(2):
        status = asyncio.run(rec.reconcile_all())["web"]
    assert status["conditions"][0]["status"] == "True", status["conditions"]
    assert world.target.peek(CLEANUP) is None
    assert not [line for line in world.target.journal if "cleanup" in line]
