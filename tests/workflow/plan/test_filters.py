"""`on:` filters: every rule of GitHub's trigger semantics, each with both outcomes."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.workflow.events import Event, LazyPaths
from conveyor.workflow.model import EventTrigger, Workflow
from conveyor.workflow.plan.filters import Decision, split_ref, triggers


def workflow(event: str, **filters: Any) -> Workflow:
    as_tuples = {k: tuple(v) if isinstance(v, list) else v for k, v in filters.items()}
    return Workflow(path="ci.yml", on={event: EventTrigger(event=event, **as_tuples)})


def push(ref: str, files: tuple[str, ...] | None = ("src/app.py",)) -> Event:
    return Event(name="push", ref=ref, changed_files=files)


def pull(
    base: str = "main", action: str | None = "opened", files: tuple[str, ...] | None = ("a.py",)
) -> Event:
    payload: dict[str, Any] = {"pull_request": {"base": {"ref": base}, "number": 1}}
    if action is not None:
        payload["action"] = action
    return Event(
        name="pull_request",
        payload=payload,
        ref="refs/pull/1/merge",
        base_ref=base,
        head_ref="feature",
        changed_files=files,
    )


MAIN, DEV, TAG = "refs/heads/main", "refs/heads/dev", "refs/tags/v1.2.0"

PUSH_CASES = [
    # (filters, event, triggered, reason fragment)
    ({}, push(MAIN), True, ""),
    ({}, push(TAG), True, ""),
    ({"branches": ["main"]}, push(MAIN), True, ""),
    ({"branches": ["main"]}, push(DEV), False, "branch 'dev' does not match on.push.branches"),
    ({"branches": ["releases/**"]}, push("refs/heads/releases/1/x"), True, ""),
    ({"branches": ["main", "!main"]}, push(MAIN), False, "does not match on.push.branches"),
    (
        {"branches-ignore": ["dev"]},
        push(DEV),
        False,
        "branch 'dev' matches on.push.branches-ignore",
    ),
    ({"branches-ignore": ["dev"]}, push(MAIN), True, ""),
    # only branch filters => tag pushes do not trigger, and vice versa
    ({"branches": ["**"]}, push(TAG), False, "only branch filters"),
    ({"branches-ignore": ["dev"]}, push(TAG), False, "only branch filters"),
    ({"tags": ["v*"]}, push(MAIN), False, "only tag filters"),
    ({"tags-ignore": ["v*"]}, push(MAIN), False, "only tag filters"),
    ({"tags": ["v*"]}, push(TAG), True, ""),
    ({"tags": ["v2*"]}, push(TAG), False, "tag 'v1.2.0' does not match on.push.tags"),
    ({"tags-ignore": ["v1.*"]}, push(TAG), False, "tag 'v1.2.0' matches on.push.tags-ignore"),
    ({"tags-ignore": ["v2.*"]}, push(TAG), True, ""),
    ({"branches": ["main"], "tags": ["v*"]}, push(TAG), True, ""),
    ({"branches": ["main"], "tags": ["v*"]}, push(MAIN), True, ""),
    # paths: any changed file matching triggers
    ({"paths": ["src/**"]}, push(MAIN, ("README.md", "src/app.py")), True, ""),
    ({"paths": ["docs/**"]}, push(MAIN, ("src/app.py",)), False, "no changed file matches"),
    ({"paths": ["**.md", "!README.md"]}, push(MAIN, ("README.md",)), False, "on.push.paths"),
    ({"paths": ["src/**"]}, push(MAIN, ()), False, "no changed files"),
    ({"paths": ["src/**"]}, push(MAIN, None), True, "changed files unknown"),
    # GitHub looks at the first 300 files of a diff only
    ({"paths": ["late/**"]}, push(MAIN, (*[f"f{i}" for i in range(300)], "late/x")), False, ""),
    ({"paths": ["late/**"]}, push(MAIN, (*[f"f{i}" for i in range(299)], "late/x")), True, ""),
    # paths-ignore: skipped only when ALL changed files match
    ({"paths-ignore": ["docs/**"]}, push(MAIN, ("docs/a.md", "src/b.py")), True, ""),
    ({"paths-ignore": ["docs/**"]}, push(MAIN, ("docs/a.md", "docs/b.md")), False, "every"),
    # paths are not evaluated for tag pushes
    ({"paths": ["docs/**"]}, push(TAG, ("src/app.py",)), True, ""),
    ({"tags": ["v*"], "paths": ["docs/**"]}, push(TAG, ("src/app.py",)), True, ""),
    # branch AND path filters must both pass
    ({"branches": ["main"], "paths": ["src/**"]}, push(MAIN, ("src/x",)), True, ""),
    ({"branches": ["main"], "paths": ["src/**"]}, push(MAIN, ("doc/x",)), False, "paths"),
    ({"branches": ["main"], "paths": ["src/**"]}, push(DEV, ("src/x",)), False, "branches"),
]


@pytest.mark.parametrize(("filters", "event", "expected", "reason"), PUSH_CASES)
def test_push(filters: dict[str, Any], event: Event, expected: bool, reason: str) -> None:
    decision = triggers(workflow("push", **_keys(filters)), event)
    assert decision.triggered is expected, decision.reason
    assert reason in decision.reason


PR_CASES = [
    ({}, pull(action="opened"), True, ""),
    ({}, pull(action="synchronize"), True, ""),
    ({}, pull(action="reopened"), True, ""),
    ({}, pull(action="closed"), False, "'closed' is not in on.pull_request.types"),
    ({}, pull(action=None), False, "(none)"),
    ({"types": ["closed"]}, pull(action="closed"), True, ""),
    ({"types": ["labeled"]}, pull(action="opened"), False, "types (labeled)"),
    # branches filter the BASE branch
    ({"branches": ["main"]}, pull(base="main"), True, ""),
    ({"branches": ["main"]}, pull(base="dev"), False, "base branch 'dev' does not match"),
    ({"branches-ignore": ["dev"]}, pull(base="dev"), False, "on.pull_request.branches-ignore"),
    ({"branches-ignore": ["dev"]}, pull(base="main"), True, ""),
    ({"paths": ["*.py"]}, pull(files=("a.py",)), True, ""),
    ({"paths": ["*.go"]}, pull(files=("a.py",)), False, "on.pull_request.paths"),
    ({"paths-ignore": ["*.py"]}, pull(files=("a.py",)), False, "paths-ignore"),
    ({"branches": ["main"], "paths": ["*.go"]}, pull(files=("a.py",)), False, "paths"),
]


@pytest.mark.parametrize(("filters", "event", "expected", "reason"), PR_CASES)
def test_pull_request(filters: dict[str, Any], event: Event, expected: bool, reason: str) -> None:
    decision = triggers(workflow("pull_request", **_keys(filters)), event)
    assert decision.triggered is expected, decision.reason
    assert reason in decision.reason


def test_pull_request_target_uses_the_same_rules() -> None:
    event = Event(name="pull_request_target", payload={"action": "opened"}, base_ref="dev")
    assert triggers(workflow("pull_request_target", branches=["main"]), event).reason == (
        "base branch 'dev' does not match on.pull_request_target.branches"
    )
    assert triggers(workflow("pull_request_target", branches=["dev"]), event).triggered


def test_pull_request_base_falls_back_to_the_payload() -> None:
    event = Event(
        name="pull_request", payload={"action": "opened", "pull_request": {"base": {"ref": "dev"}}}
    )
    assert not triggers(workflow("pull_request", branches=["main"]), event).triggered


@pytest.mark.parametrize("name", ["workflow_dispatch", "workflow_call", "schedule"])
def test_listed_events_fire_when_named(name: str) -> None:
    assert triggers(workflow(name), Event(name=name)).triggered


def test_unlisted_event_does_not_trigger_and_says_what_is_listed() -> None:
    decision = triggers(workflow("push"), Event(name="workflow_dispatch"))
    assert decision == Decision(
        triggered=False, reason="workflow is not triggered by 'workflow_dispatch' (on: push)"
    )
    assert not decision


@pytest.mark.parametrize(
    ("types", "action", "expected"),
    [
        (None, "anything", True),
        (None, None, True),
        (["deploy"], "deploy", True),
        (["deploy"], "build", False),
        (["deploy"], None, False),
    ],
)
def test_repository_dispatch_types(
    types: list[str] | None, action: str | None, expected: bool
) -> None:
    payload: dict[str, Any] = {} if action is None else {"action": action}
    flow = workflow("repository_dispatch", types=types)
    assert triggers(flow, Event(name="repository_dispatch", payload=payload)).triggered is expected


@pytest.mark.parametrize(("action", "expected"), [("published", True), ("created", False)])
def test_other_events_filter_types_on_payload_action(action: str, expected: bool) -> None:
    flow = workflow("release", types=["published"])
    assert triggers(flow, Event(name="release", payload={"action": action})).triggered is expected


@pytest.mark.parametrize(("branch", "expected"), [("main", True), ("dev", False)])
def test_workflow_run_branches_filter_the_head_branch(branch: str, expected: bool) -> None:
    flow = workflow("workflow_run", branches=["main"])
    payload = {"action": "completed", "workflow_run": {"head_branch": branch}}
    assert triggers(flow, Event(name="workflow_run", payload=payload)).triggered is expected


def test_lazy_changed_files_are_read_only_when_a_path_filter_needs_them() -> None:
    calls: list[int] = []

    def load() -> tuple[str, ...]:
        calls.append(1)
        return ("src/a.py",)

    event = Event(name="push", ref=MAIN, changed_files=LazyPaths(load))
    assert triggers(workflow("push", branches=["main"]), event).triggered
    assert calls == []
    assert triggers(workflow("push", paths=["src/**"]), event).triggered
    assert triggers(workflow("push", paths=["docs/**"]), event).triggered is False
    assert calls == [1]


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("refs/heads/main", ("branch", "main")),
        ("refs/heads/feature/x", ("branch", "feature/x")),
        ("refs/tags/v1", ("tag", "v1")),
        ("main", ("branch", "main")),
    ],
)
def test_split_ref(ref: str, expected: tuple[str, str]) -> None:
    assert split_ref(ref) == expected


def _keys(filters: dict[str, Any]) -> dict[str, Any]:
    return {key.replace("-", "_"): value for key, value in filters.items()}


@pytest.mark.parametrize(
    ("message", "triggered"),
    [
        ("fix: typo [skip ci]", False),
        ("[CI SKIP] docs", False),
        ("chore [no ci]", False),
        ("bump [skip actions]", False),
        ("bump [actions skip]", False),
        ("skip ci in prose is fine", True),
        ("", True),
    ],
)
def test_skip_markers_in_the_head_commit_message(message: str, triggered: bool) -> None:
    base = push("refs/heads/main")
    event = Event(
        name="push",
        payload={**base.payload, "head_commit": {"id": base.sha, "message": message}},
        ref=base.ref,
        sha=base.sha,
        changed_files=base.changed_files,
    )
    decision = triggers(workflow("push"), event)
    assert decision.triggered is triggered
    if not triggered:
        assert "head commit's message contains" in decision.reason


def test_skip_marker_in_a_pull_request_head_commit() -> None:
    base = pull()
    payload = {**base.payload}
    payload["pull_request"] = {
        **payload.get("pull_request", {}),
        "head": {"commit": {"message": "wip [skip ci]"}},
    }
    event = Event(name="pull_request", payload=payload, ref=base.ref, sha=base.sha)
    assert not triggers(workflow("pull_request"), event).triggered
