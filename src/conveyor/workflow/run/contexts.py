"""The `runner` context and the GITHUB_* / RUNNER_* variables of a job.

Called by `job.py` when a job (leg) starts and by `steps.py` per step (the per-step file
paths and `GITHUB_ACTION`). The `github` context itself is pure and lives in
`conveyor.workflow.plan.github` (the job planner reads its job-level form).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from conveyor.workflow.expr import Value


def runner_arch() -> str:
    machine = os.uname().machine.lower()  # not `platform`: it costs ms to import
    return {"x86_64": "X64", "amd64": "X64", "aarch64": "ARM64", "arm64": "ARM64"}.get(
        machine, "X86" if machine in {"i386", "i686"} else machine.upper()
    )


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
