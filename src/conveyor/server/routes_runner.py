"""The runner protocol for remote agents (`conveyor runner`), under `/api/v1/runner`.

Needs a registered runner's credential (`POST /api/v1/runners`, admin; issue 12): the
runner a call acts as is the one the credential names, never a name in the body (a body
that names another runner is refused with 403, so an old agent with a wrong `--name` learns
it at once); a poll matches the labels and the scope fixed at registration (a body may
narrow the labels, never add one). Write and admin tokens, and `runner` tokens from before
registrations, are refused. `GET /me` says who the credential is. `poll` long-polls (≤ 20
s) for an assignment (one job of a run; 204 when none); the other calls report on the job
of that run the runner holds and answer `cancel: true` when it must stop (cancelled, failed
by the heartbeat timeout, or re-queued; the heartbeat adds `stop: true` when the job is no
longer the runner's, so it ends it at once instead of running its `always()` steps); `GET
.../artifacts/{name}` gives the run's artifacts to its jobs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from conveyor.server.auth import Principal, Role, RunnerIdentity
from conveyor.server.state import need, state_of

router = APIRouter(prefix="/api/v1/runner")


def registered(
    request: Request, principal: Annotated[Principal, Depends(need(Role.RUNNER))]
) -> RunnerIdentity:
    """The registered runner the credential names (403 for an unregistered `runner` token)."""
    identity = state_of(request).auth.runner(principal)
    if identity is None:
        raise HTTPException(
            403,
            f"token {principal.name!r} is not a registered runner; an admin registers one "
            "with POST /api/v1/runners and gives the runner its credential",
        )
    return identity


Me = Annotated[RunnerIdentity, Depends(registered)]


def _same(me: RunnerIdentity, claimed: str) -> str:
    """The runner's own name; 403 when the body speaks for another runner."""
    if claimed and claimed != me.name:
        raise HTTPException(403, f"this credential is runner {me.name!r}, not {claimed!r}")
    return me.name


class PollBody(BaseModel):
    runner: str = ""
    labels: list[str] = Field(default_factory=list)
    ephemeral: bool = False
    wait: float = 20.0
    unit: int | None = Field(None, description="take this job unit or none (a runner pod)")
    containers: bool = Field(
        True, description="false: no job with services or a job container (a warm runner pod)"
    )


class RunnerBody(BaseModel):
    runner: str = Field("", description="optional: must be the credential's own runner")


class LogsBody(RunnerBody):
    lines: list[tuple[str, str]]


class JobBody(RunnerBody):
    name: str
    fields: dict[str, Any]


class EnvBody(RunnerBody):
    job: str
    environment: str


class DeploymentBody(EnvBody):
    url: str = ""
    result: str


class CompleteBody(RunnerBody):
    result: dict[str, Any]


@router.get("/me")
def me(me: Me) -> dict[str, Any]:
    """The runner this credential is: name, labels and scope fixed at registration."""
    return {"name": me.name, "labels": list(me.labels), "scope": me.scope}


@router.post("/poll", response_model=None)
async def poll(request: Request, body: PollBody, me: Me) -> dict[str, Any] | Response:
    name = _same(me, body.runner)
    extra = sorted(set(body.labels) - set(me.labels))
    if extra:
        raise HTTPException(
            403, f"runner {name!r} is registered without labels {extra}; labels are fixed then"
        )
    found = await state_of(request).service.poll(
        name,
        labels=body.labels or list(me.labels),
        ephemeral=body.ephemeral,
        timeout=min(body.wait, 20.0),
        scope=me.scope,
        only_unit=body.unit,
        containers=body.containers,
    )
    return found if found is not None else Response(status_code=204)


@router.post("/runs/{run_id}/logs")
def logs(request: Request, run_id: int, body: LogsBody, me: Me) -> dict[str, bool]:
    return {
        "cancel": state_of(request).service.add_logs(run_id, _same(me, body.runner), body.lines)
    }


@router.post("/runs/{run_id}/jobs")
def job(request: Request, run_id: int, body: JobBody, me: Me) -> dict[str, bool]:
    return {
        "cancel": state_of(request).service.set_job(
            run_id, _same(me, body.runner), body.name, body.fields
        )
    }


@router.post("/runs/{run_id}/heartbeat")
def heartbeat(request: Request, run_id: int, body: RunnerBody, me: Me) -> dict[str, bool]:
    """`cancel`: stop the job (its `always()` steps still run); `stop` too: end it now, the
    job is no longer this runner's."""
    answer = state_of(request).service.beat_answer(run_id, _same(me, body.runner))
    return {"cancel": bool(answer), "stop": answer == "stop"}


@router.post("/runs/{run_id}/environment")
async def environment(request: Request, run_id: int, body: EnvBody, me: Me) -> dict[str, Any]:
    """waiting (call again) | approved (+ secrets, vars) | rejected (+ message)."""
    return await state_of(request).service.environment_gate(
        run_id, _same(me, body.runner), body.job, body.environment
    )


@router.post("/runs/{run_id}/deployment", status_code=204)
def deployment(request: Request, run_id: int, body: DeploymentBody, me: Me) -> None:
    state_of(request).service.record_deployment(
        run_id,
        _same(me, body.runner),
        job=body.job,
        environment=body.environment,
        url=body.url,
        result=body.result,
    )


@router.post("/runs/{run_id}/artifacts/{name}", status_code=204)
async def artifact(request: Request, run_id: int, name: str, me: Me, runner: str = "") -> None:
    """Upload an artifact archive (tar.gz body) of a run the runner owns."""
    data = await request.body()
    state_of(request).service.save_artifact(run_id, _same(me, runner), name, data)


@router.get("/runs/{run_id}/artifacts/{name}", response_model=None)
def download_artifact(
    request: Request, run_id: int, name: str, me: Me, runner: str = ""
) -> Response:
    """An artifact archive (tar.gz) of the run, for a runner holding one of its jobs."""
    data = state_of(request).service.read_artifact(run_id, _same(me, runner), name)
    if data is None:
        raise HTTPException(status_code=404, detail=f"run {run_id} has no artifact {name!r}")
    return Response(content=data, media_type="application/gzip")


@router.post("/runs/{run_id}/complete", status_code=204)
def complete(request: Request, run_id: int, body: CompleteBody, me: Me) -> None:
    state_of(request).service.complete(run_id, _same(me, body.runner), body.result)
