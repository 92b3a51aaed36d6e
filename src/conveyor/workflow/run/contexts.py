"""The `github` and `runner` contexts and the GITHUB_* / RUNNER_* variables of a job.

Called by `job.py` when a job (leg) starts and by `steps.py` per step (the per-step file
paths and `GITHUB_ACTION`). Values follow GitHub's runner: the `github` context mirrors the
GITHUB_* variables, `github.event` is the payload written to `GITHUB_EVENT_PATH`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from conveyor.workflow.expr import Value

SERVER_URL = "https://github.com"
API_URL = "https://api.github.com"
GRAPHQL_URL = "https://api.github.com/graphql"

#: What a job inherits from the host, like a runner's service environment (no secrets, no
#: stray variables of the user's shell).
HOST_VARIABLES = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "TERM",
    "USER",
    "LOGNAME",
    "SHELL",
    "TMPDIR",
)


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


def runner_arch() -> str:
    machine = os.uname().machine.lower()  # not `platform`: it costs ms to import
    return {"x86_64": "X64", "amd64": "X64", "aarch64": "ARM64", "arm64": "ARM64"}.get(
        machine, "X86" if machine in {"i386", "i686"} else machine.upper()
    )


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


def runner_context(*, temp: Path, tool_cache: Path, debug: bool) -> dict[str, Value]:
    ctx: dict[str, Value] = {
        "name": "conveyor",
        "os": {"Darwin": "macOS"}.get(os.uname().sysname, os.uname().sysname),
        "arch": runner_arch(),
        "temp": str(temp),
        "tool_cache": str(tool_cache),
        "environment": "self-hosted",
    }
    if debug:
        ctx["debug"] = "1"
    return ctx


_GITHUB_VARS = (
    "action",
    "action_path",
    "action_ref",
    "action_repository",
    "actor",
    "actor_id",
    "api_url",
    "base_ref",
    "event_name",
    "event_path",
    "graphql_url",
    "head_ref",
    "job",
    "ref",
    "ref_name",
    "ref_protected",
    "ref_type",
    "repository",
    "repository_id",
    "repository_owner",
    "repository_owner_id",
    "retention_days",
    "run_attempt",
    "run_id",
    "run_number",
    "server_url",
    "sha",
    "triggering_actor",
    "workflow",
    "workflow_ref",
    "workflow_sha",
    "workspace",
)


def _env_text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def job_variables(github: Mapping[str, Value], runner: Mapping[str, Value]) -> dict[str, str]:
    """GITHUB_* and RUNNER_* variables plus CI=true, from the two contexts."""
    out = {"CI": "true", "GITHUB_ACTIONS": "true"}
    out.update({f"GITHUB_{k.upper()}": _env_text(github.get(k)) for k in _GITHUB_VARS})
    out.update({f"RUNNER_{k.upper()}": _env_text(v) for k, v in runner.items()})
    return out


def host_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The part of the host environment a job sees (GitHub's runner does not pass the
    user's shell environment on)."""
    source = os.environ if environ is None else environ
    return {k: source[k] for k in HOST_VARIABLES if k in source}
