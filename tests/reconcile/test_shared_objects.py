"""Two apps rendering one object (issue 14): the first owner keeps it, both apps report
Argo CD's SharedResourceWarning, neither flips it nor prunes the other's, and
FailOnSharedResource=true fails the sync of the app that does not own it."""

from __future__ import annotations

import asyncio
from typing import Any

from conveyor.reconcile.reconciler import Reconciler
from conveyor.targets.base import OWNER_LABEL, ObjectRef

from .conftest import World, application, configmap

AUTO = {"prune": True, "selfHeal": True}
SHARED = ObjectRef(group="", kind="ConfigMap", namespace="prod", name="shared")
ONLY_B = ObjectRef(group="", kind="ConfigMap", namespace="prod", name="only-b")


def seed(world: World) -> None:
    for app in ("a", "b"):
        world.repo.write_objects(f"{app}/shared.yaml", configmap("shared", {"from": app}))
        world.repo.write_objects(f"{app}/own.yaml", configmap(f"only-{app}", {"from": app}))
    world.repo.commit("two apps render ConfigMap shared")


def apps(world: World, *, a: dict[str, Any] | None = None, b: dict[str, Any] | None = None) -> str:
    return (
        application("a", world.repo, "a", automated=a or AUTO)
        + "---\n"
        + application("b", world.repo, "b", automated=b or AUTO)
    )


def live(world: World, ref: ObjectRef = SHARED) -> dict[str, Any] | None:
    return world.target.peek(ref)


def owner_of(world: World) -> str:
    obj = live(world)
    assert obj is not None
    return str(obj["metadata"]["labels"][OWNER_LABEL])


def passes(rec: Reconciler, count: int) -> dict[str, dict[str, Any]]:
    statuses: dict[str, dict[str, Any]] = {}
    for _ in range(count):
        statuses = asyncio.run(rec.reconcile_all())
    return statuses


def warning(status: dict[str, Any]) -> dict[str, str] | None:
    return next((c for c in status["conditions"] if c["type"] == "SharedResourceWarning"), None)


def shared_applies(world: World) -> int:
    return world.target.journal.count(f"apply {SHARED}")


def test_the_first_owner_keeps_a_shared_object_for_five_passes(world: World) -> None:
    seed(world)
    rec = world.reconciler(apps(world))
    asyncio.run(rec.reconcile_all())
    owner = owner_of(world)
    first = live(world)
    assert first is not None and first["data"] == {"from": owner}
    for _ in range(5):
        statuses = asyncio.run(rec.reconcile_all())
        assert live(world) == first  # same data, label and resourceVersion: never re-applied
    assert shared_applies(world) == 1
    other = "b" if owner == "a" else "a"
    for name in ("a", "b"):
        found = warning(statuses[name])
        assert found is not None and found["status"] == "True", statuses[name]["conditions"]
        assert found["reason"] == "SharedResource"
        assert found["message"].startswith(f"ConfigMap/shared is part of applications {name} and")
        assert f"({owner} owns it)" in found["message"]
    assert statuses[other]["sync"]["status"] == "Synced"
    assert SHARED.key not in statuses[other]["inventory"]
    assert SHARED.key in statuses[owner]["inventory"]


def test_the_app_that_does_not_own_it_never_prunes_it(world: World) -> None:
    seed(world)
    rec = world.reconciler(apps(world))
    asyncio.run(rec.reconcile_all())
    owner = owner_of(world)
    other = "b" if owner == "a" else "a"
    world.repo.remove(f"{other}/shared.yaml")
    world.repo.commit(f"{other} no longer renders shared")
    statuses = passes(rec, 3)
    assert owner_of(world) == owner and f"delete {SHARED}" not in world.target.journal
    assert warning(statuses[owner]) is None and warning(statuses[other]) is None


def test_when_the_owner_prunes_it_the_other_app_creates_its_own(world: World) -> None:
    """Argo CD's owner prunes what it no longer renders; the other app then syncs it."""
    seed(world)
    rec = world.reconciler(apps(world))
    asyncio.run(rec.reconcile_all())
    owner = owner_of(world)
    other = "b" if owner == "a" else "a"
    world.repo.remove(f"{owner}/shared.yaml")
    world.repo.commit(f"{owner} drops shared")
    statuses = passes(rec, 3)
    obj = live(world)
    assert obj is not None and obj["data"] == {"from": other} and owner_of(world) == other
    assert f"delete {SHARED}" in world.target.journal
    assert SHARED.key in statuses[other]["inventory"]
    assert SHARED.key not in statuses[owner]["inventory"]
    settled = live(world)
    passes(rec, 3)
    assert live(world) == settled


def test_an_owner_that_stops_rendering_without_pruning_lets_the_other_adopt_it(
    world: World,
) -> None:
    seed(world)
    no_prune = {"prune": False, "selfHeal": True}
    rec = world.reconciler(apps(world, a=no_prune, b=no_prune))
    asyncio.run(rec.reconcile_all())
    owner = owner_of(world)
    other = "b" if owner == "a" else "a"
    world.repo.remove(f"{owner}/shared.yaml")
    world.repo.commit(f"{owner} drops shared, pruning is off")
    passes(rec, 3)
    obj = live(world)
    assert obj is not None and obj["data"] == {"from": other} and owner_of(world) == other
    assert f"delete {SHARED}" not in world.target.journal  # adopted in place


def test_a_restart_does_not_hand_the_object_to_the_app_observed_first(world: World) -> None:
    seed(world)
    asyncio.run(world.reconciler(apps(world)).reconcile_all())
    owner = owner_of(world)
    other = "b" if owner == "a" else "a"
    first = live(world)
    docs = {name: application(name, world.repo, name, automated=AUTO) for name in (other, owner)}
    restarted = world.reconciler(docs[other] + "---\n" + docs[owner])  # the other one first
    passes(restarted, 3)
    assert live(world) == first and shared_applies(world) == 1


def test_fail_on_shared_resource_fails_the_sync_of_the_app_that_does_not_own_it(
    world: World,
) -> None:
    seed(world)
    strict = {**AUTO}
    first = world.reconciler(application("a", world.repo, "a", automated=AUTO))
    asyncio.run(first.reconcile_all())  # a owns shared
    extra = {"syncPolicy": {"automated": strict, "syncOptions": ["FailOnSharedResource=true"]}}
    docs = application("a", world.repo, "a", automated=AUTO) + "---\n"
    docs += application("b", world.repo, "b", extra=extra)
    rec = world.reconciler(docs)
    statuses = passes(rec, 2)
    b = statuses["b"]
    ready = b["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", "SyncFailed")
    results = {r["object"]: r for r in b["operation"]["results"]}
    assert results[str(SHARED)]["code"] == "SyncFailed"
    assert (
        "shared resource found: ConfigMap/shared is part of applications b and a"
        in (results[str(SHARED)]["message"])
    )
    assert live(world, ONLY_B) is None  # the whole sync failed before applying anything
    assert owner_of(world) == "a" and shared_applies(world) == 1
    assert statuses["a"]["conditions"][0]["status"] == "True"
