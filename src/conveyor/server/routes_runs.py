"""REST routes for runs: list, show, logs, cancel (and force-cancel), re-run, dispatch,
approvals, statuses, deployments, repositories. All under `/api/v1`, all behind a
bearer token."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from conveyor.ci.model import CommitState
from conveyor.ci.runnerlist import runner_list
from conveyor.server.auth import Principal, Role
from conveyor.server.pagination import PageParams
from conveyor.server.state import need, state_of
from conveyor.store.ci_filters import RunFilter
from conveyor.store.ci_logs import LogWindow

router = APIRouter(prefix="/api/v1")
FULL_SHA = re.compile(r"[0-9a-fA-F]{40}")
Reader = Annotated[Principal, Depends(need(Role.READ))]
Writer = Annotated[Principal, Depends(need(Role.WRITE))]
Admin = Annotated[Principal, Depends(need(Role.ADMIN))]


class RerunBody(BaseModel):
    failed_only: bool = False


class DispatchBody(BaseModel):
    workflow: str
    ref: str = "main"
    inputs: dict[str, str] = Field(default_factory=dict)


class DecisionBody(BaseModel):
    environment: str
    comment: str = ""


class StatusBody(BaseModel):
    """GitHub's `POST /repos/{owner}/{repo}/statuses/{sha}` body."""

    state: CommitState
    target_url: str = ""
    description: str = Field(default="", max_length=1024)
    context: str = Field(default="default", min_length=1, max_length=255)


#: contexts the server's own CI writes (`ci.statuses`): not writable from outside
RESERVED_CONTEXTS = ("conveyor/", "deployment/")


class RepoBody(BaseModel):
    name: str = Field(description="owner/name")


@router.get("/runs")
def list_runs(
    request: Request,
    _: Reader,
    page: PageParams,
    *,
    repo: Annotated[str | None, Query(description="Repository, owner/name.")] = None,
    branch: Annotated[str, Query(description="Branch (a pull request's head branch).")] = "",
    event: Annotated[str, Query(description="Event: push, pull_request …")] = "",
    status: Annotated[
        str, Query(description="A status (queued, in_progress …) or a conclusion (success …).")
    ] = "",
    actor: Annotated[str, Query(description="Who triggered the run.")] = "",
) -> list[dict[str, Any]]:
    """Runs, newest first (no payloads, no secrets), paged: `per_page`, `page`, and the
    `Link` header as GitHub's REST API has them; filtered by repository, branch, event,
    status and actor."""
    store = state_of(request).service.store
    where = RunFilter(branch=branch, event=event, status=status, actor=actor)
    rows = store.runs(repo=repo, where=where, limit=page.per_page, offset=page.offset)
    for row in rows:
        row.pop("payload", None)
    return page.answer(rows, store.count_runs(repo=repo, where=where))


@router.get("/runs/{run_id}")
def show_run(request: Request, run_id: int, _: Reader) -> dict[str, Any]:
    """A run with its jobs (steps, annotations, outputs, summary) and approvals."""
    return state_of(request).service.run_view(run_id)


@router.get("/runs/{run_id}/logs", response_class=PlainTextResponse)
def run_logs(
    request: Request,
    run_id: int,
    _: Reader,
    response: Response,
    *,
    job: Annotated[str | None, Query(description="Only this job's lines.")] = None,
    offset: Annotated[
        int, Query(ge=0, description="Skip the first N lines (of the job, with `job`).")
    ] = 0,
    tail: Annotated[int | None, Query(ge=1, description="Only the last N lines.")] = None,
    limit: Annotated[int | None, Query(ge=1, description="At most N lines from `offset`.")] = None,
) -> str:
    """The run's log lines (masked), `job<TAB>text` per line. `?job=` keeps one job;
    `?offset=N` skips the first N lines, `?limit=N` returns at most N, `?tail=N` the last N
    (above `offset`). Each costs what it returns: lines are read through an index. The
    `X-Log-Next-Offset` header is the `offset` that returns the lines written after these:
    a live log view polls with it."""
    if tail is not None and limit is not None:
        raise HTTPException(422, "ask for the last lines (tail) or a range (limit), not both")
    store = state_of(request).service.store
    if store.run(run_id) is None:
        raise HTTPException(404, f"no run {run_id}")
    window = LogWindow(job=job, after=offset, tail=tail, limit=limit)
    lines = store.log_lines(run_id, window)
    response.headers["X-Log-Next-Offset"] = str(lines[-1].number if lines else offset)
    return "".join(f"{x.job}\t{x.text}\n" for x in lines)


@router.get("/runs/{run_id}/artifacts")
def artifacts(request: Request, run_id: int, _: Reader, page: PageParams) -> list[dict[str, Any]]:
    """The run's artifacts (name, size); download one with `.../artifacts/{name}`."""
    return page.slice(state_of(request).service.artifacts(run_id))


@router.get("/runs/{run_id}/artifacts/{name}", response_class=FileResponse)
def artifact(request: Request, run_id: int, name: str, _: Reader) -> FileResponse:
    """One artifact as a tar.gz archive of its files."""
    path = state_of(request).service.artifact_path(run_id, name)
    if not path.exists():
        raise HTTPException(404, f"run {run_id} has no artifact {name!r}")
    return FileResponse(path, media_type="application/gzip", filename=path.name)


@router.post("/runs/{run_id}/cancel")
def cancel_run(request: Request, run_id: int, who: Writer) -> dict[str, Any]:
    """Cancel as GitHub does: jobs whose `if` holds once the run is cancelled (`always()`,
    `cancelled()`) still run, the others stop; the run concludes `cancelled` after them."""
    service = state_of(request).service
    service.cancel(run_id, reason=f"cancelled by {who.name}")
    return _cancel_answer(service.run_view(run_id))


@router.post("/runs/{run_id}/force-cancel")
def force_cancel_run(request: Request, run_id: int, who: Writer) -> dict[str, Any]:
    """End every job of the run now, `always()` ones included (GitHub's force-cancel)."""
    service = state_of(request).service
    service.cancel(run_id, reason=f"force-cancelled by {who.name}", force=True)
    return _cancel_answer(service.run_view(run_id))


def _cancel_answer(run: dict[str, Any]) -> dict[str, Any]:
    return {"id": run["id"], "status": run["status"], "conclusion": run["conclusion"]}


@router.post("/runs/{run_id}/rerun")
def rerun(request: Request, run_id: int, body: RerunBody, _: Writer) -> dict[str, Any]:
    """A new attempt (new run id, `rerun_of` = this run); `failed_only` re-runs failed jobs."""
    new_id = state_of(request).service.rerun(run_id, failed_only=body.failed_only)
    return {"id": new_id, "rerun_of": run_id}


@router.post("/runs/{run_id}/approve")
def approve(request: Request, run_id: int, body: DecisionBody, who: Writer) -> dict[str, Any]:
    return _decide(request, run_id, body, who, approve=True)


@router.post("/runs/{run_id}/reject")
def reject(request: Request, run_id: int, body: DecisionBody, who: Writer) -> dict[str, Any]:
    return _decide(request, run_id, body, who, approve=False)


def _decide(
    request: Request, run_id: int, body: DecisionBody, who: Principal, *, approve: bool
) -> dict[str, Any]:
    state_of(request).service.decide(
        run_id,
        body.environment,
        user=who.name,
        admin=who.role is Role.ADMIN,
        approve=approve,
        comment=body.comment,
    )
    state = "approved" if approve else "rejected"
    return {"id": run_id, "environment": body.environment, "state": state}


@router.get("/approvals")
def approvals(
    request: Request, _: Reader, page: PageParams, state: str | None = "pending"
) -> list[dict[str, Any]]:
    """Deployment reviews (pending by default; `?state=` approved/rejected)."""
    return page.slice(state_of(request).service.store.config.approvals(state=state or None))


@router.get("/repos")
def repos(request: Request, _: Reader, page: PageParams) -> list[str]:
    return page.slice(state_of(request).service.repos())


@router.post("/repos")
def create_repo(request: Request, body: RepoBody, _: Admin) -> dict[str, str]:
    """Create a hosted bare repository served at /git/<owner>/<name>.git."""
    service = state_of(request).service
    service.create_repo(body.name)
    return {"name": body.name, "clone_url": f"/git/{body.name}.git"}


@router.post("/repos/{owner}/{repo}/dispatches")
async def dispatch(
    request: Request, owner: str, repo: str, body: DispatchBody, who: Writer
) -> dict[str, Any]:
    """workflow_dispatch: run `workflow` (file name) at `ref` with `inputs`."""
    service = state_of(request).service
    full = f"{owner}/{repo}"
    event = service.dispatch(
        full, workflow=body.workflow, ref=body.ref, inputs=body.inputs, actor=who.name
    )
    ids = await service.handle_event(event, git_dir=service.repo_path(full), workflow=body.workflow)
    return {"runs": ids}


@router.get("/repos/{owner}/{repo}/commits/{sha}/statuses")
def statuses(
    request: Request, owner: str, repo: str, sha: str, _: Reader, page: PageParams
) -> list[dict[str, Any]]:
    """Commit statuses: `conveyor/<workflow>` (CI) and `deployment/<env>` per SHA (or prefix)."""
    return page.slice(state_of(request).service.store.statuses(f"{owner}/{repo}", sha))


@router.post("/repos/{owner}/{repo}/statuses/{sha}", status_code=201)
def create_status(
    request: Request, owner: str, repo: str, sha: str, body: StatusBody, _: Writer
) -> dict[str, Any]:
    """A commit status from outside (GitHub's API; e.g. a reconciler's notifications,
    issue 17): replaces the status of the same context on that commit."""
    service = state_of(request).service
    full = f"{owner}/{repo}"
    if full not in service.repos():
        raise HTTPException(404, f"no repository {full}")
    if not FULL_SHA.fullmatch(sha):
        raise HTTPException(422, "sha must be a full 40-character commit id")
    if body.context.startswith(RESERVED_CONTEXTS):
        raise HTTPException(422, f"context {body.context!r} is the server's own; choose another")
    values = body.model_dump(exclude={"context"})
    service.store.set_status(full, sha.lower(), body.context, **values)
    return {**values, "context": body.context, "state": str(body.state), "sha": sha.lower()}


@router.get("/repos/{owner}/{repo}/deployments")
def deployments(
    request: Request,
    owner: str,
    repo: str,
    _: Reader,
    page: PageParams,
    environment: str | None = None,
) -> list[dict[str, Any]]:
    store = state_of(request).service.store
    return page.slice(store.config.deployments(f"{owner}/{repo}", environment=environment))


@router.get("/runners")
def list_runners(request: Request, _: Reader, page: PageParams) -> list[dict[str, Any]]:
    """Runners seen by the server: labels, kind, `status` (online or offline: no poll or
    heartbeat within the heartbeat timeout) and `last_heartbeat` (epoch s)."""
    service = state_of(request).service
    return page.slice(runner_list(service.store, timeout=service.config.heartbeat_timeout))
