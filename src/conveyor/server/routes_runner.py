"""The runner protocol for remote agents (`conveyor runner`), under `/api/v1/runner`.

Needs a token of role runner, write or admin. `poll` long-polls (≤ 20 s) for an assignment
(one job of a run; 204 when none); the other calls report on the job of that run the runner
holds and answer `cancel: true` when it must stop (cancelled, failed by the heartbeat
timeout, or re-queued; the heartbeat adds `stop: true` when the job is no longer the
runner's, so it ends it at once instead of running its `always()` steps);
`GET .../artifacts/{name}` gives the run's artifacts to its jobs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from conveyor.server.auth import Principal, Role
from conveyor.server.state import need, state_of

router = APIRouter(prefix="/api/v1/runner")
RunnerRole = Annotated[Principal, Depends(need(Role.RUNNER))]


class PollBody(BaseModel):
    runner: str
    labels: list[str] = Field(default_factory=list)
    ephemeral: bool = False
    wait: float = 20.0


class RunnerBody(BaseModel):
    runner: str


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


@router.post("/poll", response_model=None)
async def poll(request: Request, body: PollBody, _: RunnerRole) -> dict[str, Any] | Response:
    found = await state_of(request).service.poll(
        body.runner, labels=body.labels, ephemeral=body.ephemeral, timeout=min(body.wait, 20.0)
    )
    return found if found is not None else Response(status_code=204)


@router.post("/runs/{run_id}/logs")
def logs(request: Request, run_id: int, body: LogsBody, _: RunnerRole) -> dict[str, bool]:
    return {"cancel": state_of(request).service.add_logs(run_id, body.runner, body.lines)}


@router.post("/runs/{run_id}/jobs")
def job(request: Request, run_id: int, body: JobBody, _: RunnerRole) -> dict[str, bool]:
    return {
        "cancel": state_of(request).service.set_job(run_id, body.runner, body.name, body.fields)
    }


@router.post("/runs/{run_id}/heartbeat")
def heartbeat(request: Request, run_id: int, body: RunnerBody, _: RunnerRole) -> dict[str, bool]:
    """`cancel`: stop the job (its `always()` steps still run); `stop` too: end it now, the
    job is no longer this runner's."""
    answer = state_of(request).service.beat_answer(run_id, body.runner)
    return {"cancel": bool(answer), "stop": answer == "stop"}


@router.post("/runs/{run_id}/environment")
async def environment(
    request: Request, run_id: int, body: EnvBody, _: RunnerRole
) -> dict[str, Any]:
    """waiting (call again) | approved (+ secrets, vars) | rejected (+ message)."""
    return await state_of(request).service.environment_gate(
        run_id, body.runner, body.job, body.environment
    )


@router.post("/runs/{run_id}/deployment", status_code=204)
def deployment(request: Request, run_id: int, body: DeploymentBody, _: RunnerRole) -> None:
    state_of(request).service.record_deployment(
        run_id,
        body.runner,
        job=body.job,
        environment=body.environment,
        url=body.url,
        result=body.result,
    )


@router.post("/runs/{run_id}/artifacts/{name}", status_code=204)
async def artifact(request: Request, run_id: int, name: str, runner: str, _: RunnerRole) -> None:
    """Upload an artifact archive (tar.gz body) of a run the runner owns."""
    data = await request.body()
    state_of(request).service.save_artifact(run_id, runner, name, data)


@router.get("/runs/{run_id}/artifacts/{name}", response_model=None)
def download_artifact(
    request: Request, run_id: int, name: str, runner: str, _: RunnerRole
) -> Response:
    """An artifact archive (tar.gz) of the run, for a runner holding one of its jobs."""
    data = state_of(request).service.read_artifact(run_id, runner, name)
    if data is None:
        raise HTTPException(status_code=404, detail=f"run {run_id} has no artifact {name!r}")
    return Response(content=data, media_type="application/gzip")


@router.post("/runs/{run_id}/complete", status_code=204)
def complete(request: Request, run_id: int, body: CompleteBody, _: RunnerRole) -> None:
    state_of(request).service.complete(run_id, body.runner, body.result)
