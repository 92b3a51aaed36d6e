"""Per-object annotations (issue 14): every `argocd.argoproj.io/*` and `conveyor.dev/*`
annotation on a rendered object is known or a render error naming the object, the
annotation and what is accepted; hooks `Skip`, `SyncFail` and the delete policies."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conveyor.core.errors import UserError
from conveyor.reconcile import annotations
from conveyor.targets.base import ObjectRef

from .conftest import World, application, configmap, deployment, job

AUTO = {"prune": True, "selfHeal": True}
HOOK = "argocd.argoproj.io/hook"
POLICY = "argocd.argoproj.io/hook-delete-policy"
MIGRATE = ObjectRef(group="batch", kind="Job", namespace="prod", name="migrate")


@pytest.mark.parametrize(
    ("notes", "words"),
    [
        ({"argocd.argoproj.io/sync-option": "Prune=false"}, "unknown annotation"),
        ({"argocd.argoproj.io/sync-options": "Bogus=yes"}, "unknown sync option"),
        ({"argocd.argoproj.io/sync-options": "Replace=maybe"}, "Replace takes true or false"),
        ({"argocd.argoproj.io/sync-options": "CreateNamespace=true"}, "only valid on the app"),
        ({"argocd.argoproj.io/compare-options": "IgnoreAll"}, "unknown compare option"),
        ({POLICY: "WhenDone"}, "unknown hook delete policy"),
        ({"conveyor.dev/prune": "no"}, "takes true or false"),
        ({"conveyor.dev/colour": "blue"}, "unknown annotation conveyor.dev/colour"),
        ({"argocd.argoproj.io/ignore-healthcheck": "true"}, "not supported"),
    ],
)
def test_unknown_annotations_and_options_are_refused(notes: dict[str, str], words: str) -> None:
    with pytest.raises(UserError) as caught:
        annotations.check([configmap("cfg", **notes)])
    text = str(caught.value)
    assert text.startswith("ConfigMap cfg: ") and words in text
    assert next(iter(notes)) in text or "option" in text


@pytest.mark.parametrize(
    "notes",
    [
        {"argocd.argoproj.io/sync-options": "Prune=false, Delete=false,PruneLast=true"},
        {"argocd.argoproj.io/sync-options": "Replace=true,Force=true,ServerSideApply=true"},
        {"argocd.argoproj.io/sync-options": "Validate=false,SkipDryRunOnMissingResource=true"},
        {"argocd.argoproj.io/compare-options": "IgnoreExtraneous"},
        {HOOK: "PreSync", POLICY: "HookSucceeded,BeforeHookCreation"},
        {"argocd.argoproj.io/sync-wave": "-2", "argocd.argoproj.io/tracking-id": "web:/x"},
        {"conveyor.dev/prune": "false", "helm.sh/resource-policy": "keep", "team": "a"},
    ],
)
def test_known_annotations_are_accepted(notes: dict[str, str]) -> None:
    annotations.check([configmap("cfg", **notes)])


def test_applications_rendered_by_an_app_are_checked_as_applications() -> None:
    child = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "child", "annotations": {"argocd.argoproj.io/refresh": "hard"}},
    }
    annotations.check([child])


def test_a_bad_annotation_is_a_render_error_and_nothing_is_applied(world: World) -> None:
    world.repo.write_objects(
        "app/all.yaml",
        deployment("web"),
        configmap("cfg", **{"argocd.argoproj.io/sync-options": "Prune=flase"}),
    )
    world.repo.commit()
    rec = world.reconciler(application("web", world.repo, "app", automated=AUTO))
    status = asyncio.run(rec.reconcile_all())["web"]
    ready = status["conditions"][0]
    assert ready["reason"] == "RenderFailed"
    assert "ConfigMap prod/cfg" in ready["message"] and "'Prune=flase'" in ready["message"]
    assert world.target.refs() == []


def run(world: World, *objects: dict[str, Any]) -> dict[str, Any]:
    world.repo.write_objects("app/all.yaml", *objects)
    world.repo.commit()
    rec = (
        world.reconcilers[-1]
        if world.reconcilers
        else world.reconciler(application("web", world.repo, "app", automated=AUTO))
    )
    return asyncio.run(rec.reconcile_all())["web"]


def names(world: World) -> list[str]:
    return [r.name for r in world.target.refs()]


def test_skip_hook_is_never_applied_nor_counted(world: World) -> None:
    status = run(world, configmap("cfg"), configmap("later", **{HOOK: "Skip"}))
    assert names(world) == ["cfg"]
    assert all("later" not in line for line in world.target.journal)
    assert status["sync"]["status"] == "Synced"


def test_sync_fail_hook_runs_only_when_the_sync_fails(world: World) -> None:
    notify = job("notify", **{HOOK: "SyncFail"})
    run(world, configmap("cfg"), notify)
    assert "notify" not in names(world)
    world.target.reject = lambda obj: "quota exceeded" if obj["kind"] == "ConfigMap" else None
    status = run(world, configmap("cfg", {"k": "v2"}), notify)
    codes = {r["object"]: r["code"] for r in status["operation"]["results"]}
    assert codes["Job.batch prod/notify"] == "Synced" and "notify" in names(world)


def test_hook_failed_policy_deletes_the_hook_after_it_fails(world: World) -> None:
    bad = job("check", "tool:broken", **{HOOK: "PreSync", POLICY: "HookFailed"})
    status = run(world, configmap("cfg"), bad)
    codes = {r["object"]: r["code"] for r in status["operation"]["results"]}
    assert codes["Job.batch prod/check"] == "HookFailed"
    assert names(world) == []  # deleted; cfg never applied (a later phase)


def test_hook_succeeded_policy_keeps_a_failed_hook(world: World) -> None:
    bad = job("check", "tool:broken", **{HOOK: "PreSync", POLICY: "HookSucceeded"})
    run(world, configmap("cfg"), bad)
    assert names(world) == ["check"]  # kept for its logs


def test_before_hook_creation_replaces_the_previous_run(world: World) -> None:
    hook = job("migrate", **{HOOK: "PostSync", POLICY: "BeforeHookCreation"})
    run(world, configmap("cfg"), hook)
    first = (world.target.peek(MIGRATE) or {})["metadata"]["uid"]
    run(world, configmap("cfg", {"k": "v2"}), hook)
    assert (world.target.peek(MIGRATE) or {})["metadata"]["uid"] != first
    journal = world.target.journal
    assert journal.index(f"delete {MIGRATE}") < len(journal) - 1
