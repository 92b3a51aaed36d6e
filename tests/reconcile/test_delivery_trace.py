"""The reconciler's spans of a traced deploy (issue 17): a revision whose commit names its
build (`Conveyor-Source-Commit`) is recorded as `deploy <app>` under the build's commit
trace, tiled by `reconcile`, `sync` and `rollout`, once the app is healthy."""

from __future__ import annotations

import asyncio
import time

import pytest

from conveyor.core import tracing
from conveyor.reconcile import deliverytrace
from conveyor.targets.base import ObjectRef
from tests.reconcile.conftest import World, application, deployment

AUTO = {"prune": True, "selfHeal": True}
WEB = ObjectRef(group="apps", kind="Deployment", namespace="prod", name="web")
SOURCE = "ab" * 20


def _promote(world: World, image: str, source: str = SOURCE) -> str:
    world.repo.write_objects("app/all.yaml", deployment("web", image))
    trailer = f"\n\nConveyor-Source-Commit: {source}" if source else ""
    return world.repo.commit(f"Promote {image} to prod{trailer}")


def test_a_promoted_revision_is_traced_from_its_sync_to_its_first_healthy_state(
    world: World,
) -> None:
    world.target.ready_after = 0.3
    revision = _promote(world, "web:2")
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    with tracing.collect() as spans:
        asyncio.run(rec.reconcile_all())  # synced, still progressing: nothing yet
        assert spans == []
        time.sleep(0.35)
        asyncio.run(rec.reconcile_all())
        asyncio.run(rec.reconcile_all())  # healthy again: recorded once
    by_name = {s.name: s for s in spans}
    assert sorted(by_name) == ["deploy web", "reconcile", "rollout", "sync"]
    root = tracing.commit_trace(SOURCE)
    deploy = by_name["deploy web"]
    assert deploy.ref.trace_id == root.trace_id
    assert deploy.parent_id == root.span_id
    assert deploy.attributes["conveyor.revision"] == revision
    assert deploy.attributes["vcs.ref.head.revision"] == SOURCE
    assert not deploy.error
    stages = [by_name[n] for n in ("reconcile", "sync", "rollout")]
    assert all(s.parent_id == deploy.ref.span_id for s in stages)
    assert stages[0].start_ns == deploy.start_ns and stages[-1].end_ns == deploy.end_ns
    assert stages[0].end_ns == stages[1].start_ns and stages[1].end_ns == stages[2].start_ns
    assert by_name["rollout"].seconds >= 0.3  # the replicas' readiness


def test_a_revision_without_a_source_commit_is_not_traced(world: World) -> None:
    _promote(world, "web:2", source="")
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    with tracing.collect() as spans:
        asyncio.run(rec.reconcile_all())
    assert spans == []


def test_with_tracing_off_git_is_not_even_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(*args: str, **kwargs: object) -> bytes:
        raise AssertionError(f"git {args} read with tracing off")

    monkeypatch.setattr(deliverytrace, "git", refused)
    _promote(world, "web:2")
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    status = asyncio.run(rec.reconcile_all())["web"]
    assert status["sync"]["status"] == "Synced"


def test_a_failed_sync_is_recorded_at_once_as_failed(world: World) -> None:
    world.target.reject = lambda obj: "refused" if obj["kind"] == "Deployment" else None
    _promote(world, "web:3")
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    with tracing.collect() as spans:
        asyncio.run(rec.reconcile_all())
    by_name = {s.name: s for s in spans}
    assert sorted(by_name) == ["deploy web", "reconcile", "sync"]
    assert by_name["deploy web"].error.startswith("sync ")
    assert by_name["sync"].error


def test_self_healing_the_same_revision_is_no_new_delivery(world: World) -> None:
    _promote(world, "web:2")
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    with tracing.collect() as spans:
        asyncio.run(rec.reconcile_all())
        world.target.edit(WEB, lambda obj: obj["spec"].update(replicas=5))
        status = asyncio.run(rec.reconcile_all())["web"]
    assert status["history"][0]["reason"] == "live state drifted; self-healing"
    assert [s.name for s in spans].count("deploy web") == 1


def test_two_environments_of_one_build_have_distinct_spans(world: World) -> None:
    """Each deploy's `reconcile`, `sync` and `rollout` are its own spans: the stage ids
    derive from the deploy's span, not only from the trace and the stage's name."""
    world.repo.write_objects("dev/all.yaml", deployment("web", "web:2"))
    _promote(world, "web:2")
    rec = world.reconciler(
        application("web", world.repo, "app", automated=AUTO),
        application("web-dev", world.repo, "dev", automated=AUTO, namespace="dev"),
    )
    with tracing.collect() as spans:
        asyncio.run(rec.reconcile_all())
    assert sorted(s.name for s in spans).count("sync") == 2
    ids = [s.ref.span_id for s in spans]
    assert len(ids) == len(set(ids)) == 8
