"""The `github` context: what every expression of a run sees of the event and the run. Pure.

`github_context` is a job's whole context (without the per-step file paths); `job_level`
is what job-level keys (`if`, `strategy`, `runs-on`, `concurrency`, `environment`, `with`)
see of it: no job id, no workspace, and the event payload of the workflow being planned.
Called by the job planner's callers (`conveyor.workflow.run.scheduler` for the engine,
`conveyor.ci.jobplan` for a CI run row) and, through `conveyor.workflow.run.contexts`, by
the job runner when a leg starts. Values follow GitHub's runner: the context mirrors the
GITHUB_* variables, `github.event` is the payload written to `GITHUB_EVENT_PATH`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from conveyor.workflow.expr import Value
from conveyor.workflow.model import Workflow

SERVER_URL = "https://github.com"
API_URL = "https://api.github.com"
GRAPHQL_URL = "https://api.github.com/graphql"


class EventLike(Protocol):
    """What the contexts need of `conveyor.workflow.events.Event`."""

    @property
    def name(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...
    @property
    def ref(self) -> str: ...
    @property
    def sha(self) -> str: ...
    @property
    def base_ref(self) -> str | None: ...
    @property
    def head_ref(self) -> str | None: ...
    @property
    def actor(self) -> str: ...
    @property
    def repository(self) -> str: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RunIdentity:
    """Per-invocation values of the `github` context."""

    run_id: int
    run_number: int
    run_attempt: int = 1
    event_path: Path
    token: str
    debug: bool = False


def ref_name_and_type(ref: str) -> tuple[str, str]:
    for prefix, kind in (("refs/heads/", "branch"), ("refs/tags/", "tag")):
        if ref.startswith(prefix):
            return ref.removeprefix(prefix), kind
    if ref.startswith("refs/pull/"):
        return ref.removeprefix("refs/pull/"), "branch"
    return ref, "branch"


def github_context(
    event: EventLike,
    ident: RunIdentity,
    *,
    workflow_name: str,
    workflow_path: str,
    job_id: str,
    workspace: Path,
) -> dict[str, Value]:
    """The `github` context of a job (without the per-step file paths)."""
    ref_name, ref_type = ref_name_and_type(event.ref)
    owner = event.repository.split("/", 1)[0]
    return {
        "action": "",
        "action_path": "",
        "action_ref": "",
        "action_repository": "",
        "actor": event.actor,
        "actor_id": "1",
        "api_url": API_URL,
        "base_ref": event.base_ref or "",
        "event": dict(event.payload),
        "event_name": event.name,
        "event_path": str(ident.event_path),
        "graphql_url": GRAPHQL_URL,
        "head_ref": event.head_ref or "",
        "job": job_id,
        "ref": event.ref,
        "ref_name": ref_name,
        "ref_protected": False,
        "ref_type": ref_type,
        "repository": event.repository,
        "repository_id": "1",
        "repository_owner": owner,
        "repository_owner_id": "1",
        "retention_days": "90",
        "run_attempt": str(ident.run_attempt),
        "run_id": str(ident.run_id),
        "run_number": str(ident.run_number),
        "secret_source": "Actions",
        "server_url": SERVER_URL,
        "sha": event.sha,
        "token": ident.token,
        "triggering_actor": event.actor,
        "workflow": workflow_name,
        "workflow_ref": f"{event.repository}/{workflow_path}@{event.ref}",
        "workflow_sha": event.sha,
        "workspace": str(workspace),
    }


def job_level(
    event: EventLike,
    ident: RunIdentity,
    *,
    workflow: Workflow,
    payload: Mapping[str, Value],
) -> dict[str, Value]:
    """The `github` context of job-level keys: `workflow` is the top-level one (a called
    workflow sees its caller's), `payload` the event this workflow runs for (its own
    `workflow_dispatch` defaults, a schedule's cron)."""
    github = github_context(
        event,
        ident,
        workflow_name=workflow.display_name,
        workflow_path=workflow.path,
        job_id="",
        workspace=Path(),
    )
    github["event"] = dict(payload)
    github["workspace"] = ""
    return github
