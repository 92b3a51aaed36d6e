"""Events the CI service reacts to, as `workflow.plan.event.Event` values.

`push_event` is built by the server's Git hosting after an accepted push (one per updated
ref); `github_event` from a verified GitHub webhook delivery; `dispatch_event` from the
API's workflow_dispatch. `from_fork` says whether a run's event is a pull request from a
fork, whose workflow gets no secrets (issue 12 §7, as on GitHub); `pull_request_target`
runs the base branch's workflow, with secrets, at the base branch's tip (the webhook
resolves that tip; the event carries the payload's `base.sha` until then). Payloads follow
GitHub's shapes closely enough for workflows
(`github.event.ref/before/after/head_commit/repository/pusher`, `pull_request`, `inputs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conveyor.workflow.plan.event import Event

ZERO = "0" * 40


def _repository(full_name: str, clone_url: str, default_branch: str = "main") -> dict[str, Any]:
    owner, _, name = full_name.partition("/")
    return {
        "name": name,
        "full_name": full_name,
        "owner": {"login": owner, "name": owner},
        "clone_url": clone_url,
        "default_branch": default_branch,
    }


def push_event(
    *,
    full_name: str,
    clone_url: str,
    ref: str,
    before: str,
    after: str,
    pusher: str,
    message: str = "",
    changed: tuple[str, ...] | None = None,
) -> Event:
    payload: dict[str, Any] = {
        "ref": ref,
        "before": before,
        "after": after,
        "created": before == ZERO,
        "deleted": after == ZERO,
        "repository": _repository(full_name, clone_url),
        "pusher": {"name": pusher},
        "sender": {"login": pusher},
        "head_commit": {"id": after, "message": message},
    }
    return Event(
        name="push",
        payload=payload,
        ref=ref,
        sha=after,
        actor=pusher,
        repository=full_name,
        changed_files=changed,
    )


def dispatch_event(
    *, full_name: str, clone_url: str, ref: str, sha: str, actor: str, inputs: Mapping[str, str]
) -> Event:
    payload: dict[str, Any] = {
        "ref": ref,
        "inputs": dict(inputs),
        "repository": _repository(full_name, clone_url),
        "sender": {"login": actor},
    }
    return Event(
        name="workflow_dispatch",
        payload=payload,
        ref=ref,
        sha=sha,
        actor=actor,
        repository=full_name,
        inputs=dict(inputs),
    )


def github_event(name: str, payload: Mapping[str, Any]) -> Event | None:
    """The Event of a webhook delivery (push, pull_request, workflow_dispatch), or None."""
    repo = payload.get("repository") or {}
    full_name = str(repo.get("full_name", ""))
    sender = str((payload.get("sender") or {}).get("login", ""))
    if name == "push":
        return Event(
            name=name,
            payload=dict(payload),
            ref=str(payload.get("ref", "")),
            sha=str(payload.get("after", "")),
            actor=sender,
            repository=full_name,
        )
    if name == "pull_request_target":
        pr = payload.get("pull_request") or {}
        base, head = pr.get("base") or {}, pr.get("head") or {}
        return Event(
            name=name,
            payload=dict(payload),
            ref=f"refs/heads/{base.get('ref', '')}",
            sha=str(base.get("sha", "")),
            base_ref=str(base.get("ref", "")),
            head_ref=str(head.get("ref", "")),
            actor=sender,
            repository=full_name,
        )
    if name == "pull_request":
        pr = payload.get("pull_request") or {}
        base, head = pr.get("base") or {}, pr.get("head") or {}
        number = payload.get("number", pr.get("number", 0))
        return Event(
            name=name,
            payload=dict(payload),
            ref=f"refs/pull/{number}/merge",
            sha=str(head.get("sha", "")),
            base_ref=str(base.get("ref", "")),
            head_ref=str(head.get("ref", "")),
            actor=sender,
            repository=full_name,
        )
    if name == "workflow_dispatch":
        inputs = {str(k): str(v) for k, v in (payload.get("inputs") or {}).items()}
        return Event(
            name=name,
            payload=dict(payload),
            ref=str(payload.get("ref", "")),
            sha=str(payload.get("sha", "")),
            actor=sender,
            repository=full_name,
            inputs=inputs,
        )
    return None


def from_fork(event_name: str, payload: Mapping[str, Any] | None) -> bool:
    """A `pull_request` whose head is in another repository than its base (or in a deleted
    fork): its code is the fork author's, so its run gets no secrets and a read-only token."""
    if event_name != "pull_request":
        return False
    pr = (payload or {}).get("pull_request") or {}
    head_repo = (pr.get("head") or {}).get("repo") or {}
    base_repo = (pr.get("base") or {}).get("repo") or {}
    base_name = str(
        base_repo.get("full_name") or (payload or {}).get("repository", {}).get("full_name", "")
    )
    return str(head_repo.get("full_name", "")).lower() != base_name.lower()
