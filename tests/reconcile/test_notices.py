"""What the reconciler tells the notifier (issue 17), against the memory target and a real
Git config repo: a failing sync, health degraded, drift detected and repaired, a rollout
stuck; the app's subscription annotations travel with each notice."""

from __future__ import annotations

import asyncio

import pytest

from conveyor.core.notices import Subject, Trigger
from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.notices import Notices
from conveyor.reconcile.reconciler import Reconciler
from conveyor.targets.base import ObjectRef
from tests.notify.helpers import Collected

from .conftest import World, application, deployment

AUTO = {"prune": True, "selfHeal": True}
WEB = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")
SUBSCRIBE = "notifications.conveyor.dev/subscribe.on-sync-failed.ops"


def listening(rec: Reconciler, stuck_after: float = 600.0) -> Collected:
    collected = Collected()
    rec.env.notices = Notices(collected, stuck_after=stuck_after)
    return collected


def annotated(doc: str, **notes: str) -> str:
    return doc.replace(
        "  name: web\n", f"  name: web\n  annotations: {notes!r}\n".replace("'", '"')
    )


def test_a_failing_sync_tells_sync_failed_once_per_revision(world: World) -> None:
    world.target.reject = lambda obj: "admission denied: image not allowed"
    world.repo.write_objects("app/all.yaml", deployment("web"))
    revision = world.repo.commit()
    doc = annotated(application("web", world.repo, "app", automated=AUTO), **{SUBSCRIBE: ""})
    rec = world.reconciler(doc)
    heard = listening(rec)
    asyncio.run(rec.reconcile_all())
    [notice] = heard.notices
    assert (notice.subject, notice.name, notice.revision) == (Subject.APP, "web", revision)
    assert notice.once_per == revision  # auto-sync's retries of it are the same event
    assert notice.trigger == Trigger.SYNC_FAILED
    assert "admission denied: image not allowed" in notice.message
    assert notice.repo == world.repo.url and notice.url == "/apps/web"
    assert notice.subscriptions == ((SUBSCRIBE, ""),)


def test_a_degraded_app_is_told_once_per_revision(world: World) -> None:
    world.repo.write_objects("app/all.yaml", deployment("web", "web:broken"))
    revision = world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    heard = listening(rec)
    asyncio.run(rec.reconcile_all())
    asyncio.run(rec.reconcile_all())
    assert {n.trigger for n in heard.notices} == {Trigger.HEALTH_DEGRADED}
    assert {n.once_per for n in heard.notices} == {revision}  # the notifier tells it once
    assert "exceeded its progress deadline" in heard.notices[0].message


def test_drift_is_told_when_found_and_again_when_self_heal_repairs_it(world: World) -> None:
    world.repo.write_objects("app/all.yaml", deployment("web", replicas=2))
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    heard = listening(rec)
    asyncio.run(rec.reconcile_all())
    assert heard.notices == []  # the first sync is no drift
    world.target.edit(WEB, lambda obj: obj["spec"].update(replicas=5))
    asyncio.run(rec.reconcile_all())
    assert heard.triggers() == [Trigger.DRIFT_DETECTED, Trigger.DRIFT_REPAIRED]


def test_persisting_drift_without_self_heal_is_told_once(world: World) -> None:
    world.repo.write_objects("app/all.yaml", deployment("web", replicas=2))
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated={"prune": True}))
    heard = listening(rec)
    asyncio.run(rec.reconcile_all())
    world.target.edit(WEB, lambda obj: obj["spec"].update(replicas=5))
    for _ in range(3):
        asyncio.run(rec.reconcile_all())
    assert heard.triggers() == [Trigger.DRIFT_DETECTED]


def test_a_rollout_progressing_past_the_limit_is_stuck(world: World) -> None:
    now = [0.0]
    world.target.clock = lambda: now[0]
    world.target.ready_after = 1000
    world.repo.write_objects("app/all.yaml", deployment("web"))
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    rec.env.clock = lambda: now[0]
    heard = listening(rec, stuck_after=60)
    for moment in (0.0, 30.0, 61.0, 90.0):
        now[0] = moment
        asyncio.run(rec.reconcile_all())
    stuck = [n for n in heard.notices if n.trigger == Trigger.ROLLOUT_STUCK]
    assert len({n.once_per for n in stuck}) == 1 and len(stuck) == 2  # one rollout
    assert "Progressing for 61s" in stuck[0].message


def test_a_subscription_annotation_with_an_unknown_trigger_is_refused(world: World) -> None:
    doc = annotated(
        application("web", world.repo, "app"),
        **{"notifications.conveyor.dev/subscribe.on-sync-brokn.ops": ""},
    )
    with pytest.raises(ApplicationInvalid) as caught:
        list(parse_applications(doc, "apps.yaml"))
    assert "'on-sync-brokn' is not an application trigger" in str(caught.value)
    assert "apps.yaml:" in str(caught.value)
