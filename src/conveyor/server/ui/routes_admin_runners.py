"""Admin → Runners (issue 15; admin only): every runner the server knows, registered
(remote, with a credential and a scope) or seen polling (local ones too), with its labels,
kind, online or offline (`conveyor.ci.runnerlist`, the API's rule), last heartbeat and the
jobs it runs now (units in progress that name it: `ci_units.runner`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from conveyor.ci.runnerlist import RunnerStatus, runner_list
from conveyor.server.auth import Role
from conveyor.server.state import state_of
from conveyor.server.ui.guard import Seen, viewer
from conveyor.server.ui.pages import page
from conveyor.store.ci_store import CIStore

router = APIRouter(include_in_schema=False)
Admin = Annotated[Seen, Depends(viewer(Role.ADMIN))]


@dataclass(frozen=True, slots=True, kw_only=True)
class CurrentJob:
    run_id: int
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunnerRow:
    name: str
    labels: tuple[str, ...]
    kind: str  # local | remote ("" when registered but never seen)
    status: str  # online | offline
    last_heartbeat: float  # 0: never
    scope: str  # a registered runner's scope, "" for others
    registered_by: str
    jobs: tuple[CurrentJob, ...]


@router.get("/admin/runners", response_class=HTMLResponse)
def runners(request: Request, seen: Admin) -> HTMLResponse:
    service = state_of(request).service
    rows = runner_rows(service.store, timeout=service.config.heartbeat_timeout)
    return page(
        request,
        seen,
        "admin_runners.html",
        nav="admin",
        runners=rows,
        timeout=service.config.heartbeat_timeout,
    )


def runner_rows(store: CIStore, *, timeout: float) -> list[RunnerRow]:
    """Registered and seen runners by name; online ones first."""
    seen = {str(r["name"]): r for r in runner_list(store, timeout=timeout)}
    registered = {str(r["name"]): r for r in store.access.runner_registrations()}
    jobs = current_jobs(store)
    rows = [
        _row(name, seen.get(name), registered.get(name), jobs.get(name, ()))
        for name in seen.keys() | registered.keys()
    ]
    return sorted(rows, key=lambda r: (r.status != RunnerStatus.ONLINE, r.name))


def current_jobs(store: CIStore) -> dict[str, tuple[CurrentJob, ...]]:
    """The jobs in progress, by the runner that holds them."""
    out: dict[str, list[CurrentJob]] = {}
    for unit in store.units(status=("in_progress",)):
        if unit["runner"]:
            job = CurrentJob(run_id=int(unit["run_id"]), name=str(unit["name"] or unit["job_id"]))
            out.setdefault(str(unit["runner"]), []).append(job)
    return {name: tuple(jobs) for name, jobs in out.items()}


def _row(
    name: str,
    live: dict[str, Any] | None,
    registration: dict[str, Any] | None,
    jobs: tuple[CurrentJob, ...],
) -> RunnerRow:
    labels = (registration or live or {}).get("labels") or []  # registered: fixed
    return RunnerRow(
        name=name,
        labels=tuple(str(label) for label in labels),
        kind=str(live["kind"]) if live else "",
        status=str(live["status"]) if live else str(RunnerStatus.OFFLINE),
        last_heartbeat=float(live["last_heartbeat"]) if live else 0.0,
        scope=str(registration["scope"]) if registration else "",
        registered_by=str(registration["created_by"]) if registration else "",
        jobs=jobs,
    )
