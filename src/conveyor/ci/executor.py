"""Runs one assigned unit (one job of a workflow run) with the workflow engine, reporting
as it goes.

Used by the local runner pool (`conveyor.ci.pool`, reporter = the service in-process) and by
remote runner agents (`conveyor.ci.agent`, reporter = HTTP calls to the server): both run
the same code, so a job behaves the same wherever it runs. Steps: clone the repository at
the run's commit, select the workflow with `workflow.run.selection.select`, unpack the run's
artifacts so far (`ci.artifacts` through `Reporter.fetch_artifact`, where the built-in
download-artifact reads them), run only the assigned job (`Selected.only`, the engine's
matrix filter for its legs) with the concluded jobs' results and outputs as
`Session.prior_jobs`, with `engine.run_all` on a `HostRunner`; the result sent with
`Reporter.complete` carries the job's result and outputs under `job` (`job_outcome`); every
console line (already masked by the engine's `Masker`) is batched to `Reporter.logs`;
environments wait on `Reporter.environment` (approval) through the engine's
`EnvironmentGate`; a heartbeat loop tells the server the runner is alive and learns about
cancellation. A cancellation reaches the engine as GitHub's runner passes it on
(`Session.cancel`): the running step is interrupted and the steps whose `if` holds once the
job is cancelled (`always()`, `cancelled()`) still run and report, within the engine's
cancel timeout; a job that has not reached the engine yet (cloning), outlives that timeout
or is no longer this runner's (the heartbeat says "stop": force-cancelled, failed, re-queued)
is stopped outright. A unit dispatched after its run was cancelled
(`assignment["cancelled"]`) is evaluated with `cancelled()` true. A job whose work directory
grows past `assignment["disk_limit"]` bytes is stopped and failed (`ci.workspaces`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, TextIO, cast

from conveyor.ci import jobtrace
from conveyor.ci.artifacts import fetch_artifacts, pack_artifacts
from conveyor.ci.clone import JOB_UMASK, clone
from conveyor.ci.model import GateState
from conveyor.ci.workspaces import DiskBound
from conveyor.core.errors import ConveyorError
from conveyor.runners.host import HostRunner
from conveyor.workflow.run.console import Console
from conveyor.workflow.run.engine import run_all
from conveyor.workflow.run.masking import Masker
from conveyor.workflow.run.results import Result, combine
from conveyor.workflow.run.selection import select
from conveyor.workflow.run.session import EnvironmentRelease, RunOptions, Session
from conveyor.workflow.run.steps import CANCEL_TIMEOUT

log = logging.getLogger(__name__)

_PREFIX = re.compile(r"^\[(?P<job>[^\]]*)\] ?(?P<text>.*)$")


class Reporter(Protocol):
    """Where a running assignment reports to (the service, or the server over HTTP)."""

    async def logs(self, lines: Sequence[tuple[str, str]]) -> None: ...

    async def job(self, name: str, fields: Mapping[str, Any]) -> None: ...

    async def heartbeat(self) -> str:
        """What the server says: "" (go on), "cancel" (the job is cancelled: stop it as the
        engine does, its `always()` steps still run) or "stop" (no longer this runner's job:
        force-cancelled, failed, re-queued — end it now)."""
        ...

    async def environment(self, job_name: str, environment: str) -> Mapping[str, Any]:
        """Wait for the environment's gate: {"state": approved|rejected, secrets, vars, message}."""
        ...

    async def deployment(self, job_name: str, environment: str, url: str, result: str) -> None: ...

    async def artifact(self, name: str, data: bytes) -> None:
        """Store an artifact (a tar.gz of its files) with the run."""
        ...

    async def fetch_artifact(self, name: str) -> bytes | None:
        """An artifact of the run another job uploaded (None when gone)."""
        ...

    async def complete(self, result: Mapping[str, Any]) -> None: ...


class _Sink(io.TextIOBase):
    """The engine's console stream: splits `[workflow/job] text` lines for the reporter."""

    def __init__(self, workflow: str) -> None:
        self.head = f"{workflow}/"
        self.buffer_lines: list[tuple[str, str]] = []
        self.seen: set[str] = set()
        self._partial = ""

    def write(self, text: str) -> int:
        data = self._partial + text
        *lines, self._partial = data.split("\n")
        for line in lines:
            found = _PREFIX.match(line)
            job, body = (found["job"], found["text"]) if found else ("", line)
            self.buffer_lines.append((job.removeprefix(self.head), body))
        return len(text)

    def take(self) -> list[tuple[str, str]]:
        out, self.buffer_lines = self.buffer_lines, []
        return out


class _Gate:
    """The engine's EnvironmentGate over a Reporter."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter

    async def enter(self, *, job_id: str, job_name: str, environment: str) -> EnvironmentRelease:
        answer = await self.reporter.environment(job_name, environment)
        if answer.get("state") != GateState.APPROVED:
            raise ConveyorError(str(answer.get("message") or f"environment {environment} refused"))
        return EnvironmentRelease(
            secrets=dict(answer.get("secrets") or {}), vars=dict(answer.get("vars") or {})
        )

    async def leave(
        self, *, job_id: str, job_name: str, environment: str, url: str, result: str
    ) -> None:
        await self.reporter.deployment(job_name, environment, url, result)


RETRY_DELAY_MAX = 3.0
"""The longest a runner waits between attempts to reach an unreachable server.

A restarted server (`CIService.recover`) adds this to the heartbeat deadline of the runs
remote runners hold, so a runner that was backing off is not failed for it.
"""


async def execute(
    assignment: Mapping[str, Any],
    reporter: Reporter,
    *,
    work_dir: Path,
    token: str = "",
    heartbeat: float = 1.0,
) -> dict[str, Any]:
    """Run the assignment; returns (and reports) the `conveyor run --json` document.

    Heartbeats run from the first moment (the clone included) until the end; when the
    server answers "cancel" the job is cancelled (see the module docstring) and reported.
    With a `traceparent` in the assignment, the job's spans go with the result (`jobtrace`).
    """
    result = await jobtrace.traced(
        assignment, lambda: _attempt(assignment, reporter, work_dir, token, heartbeat)
    )
    await reporter.complete(result)
    return result


async def _attempt(
    assignment: Mapping[str, Any],
    reporter: Reporter,
    work_dir: Path,
    token: str,
    heartbeat: float,
) -> dict[str, Any]:
    engine: list[Session] = []  # the engine's session, once the job reached it
    main = asyncio.ensure_future(_execute(assignment, reporter, work_dir, token, engine))
    stopped: list[bool] = []
    beat = asyncio.ensure_future(_beat(main, reporter, heartbeat, stopped, engine))
    limit = int(assignment.get("disk_limit") or 0)
    bound = DiskBound(work_dir, limit) if limit > 0 else None
    watch = asyncio.ensure_future(bound.watch(main)) if bound is not None else None
    try:
        result = await main
    except asyncio.CancelledError:
        if bound is not None and bound.exceeded:
            await reporter.logs([("", f"Error: {bound.exceeded}")])
            result = {"result": "failure", "error": bound.exceeded, "workflows": []}
        elif not stopped:
            raise
        else:
            result = {"result": "cancelled", "workflows": []}
    except ConveyorError as exc:
        await reporter.logs([("", f"Error: {exc}")])
        result = {"result": "failure", "error": str(exc), "workflows": []}
    finally:
        beat.cancel()
        if watch is not None:
            watch.cancel()
    return result


CANCEL_GRACE = CANCEL_TIMEOUT + 30.0
"""How long a cancelled job may take to end on its own (its `always()` steps, each bounded
by the engine's cancel timeout) before the runner stops it outright."""


async def _beat(
    main: asyncio.Future[Any],
    reporter: Reporter,
    every: float,
    stopped: list[bool],
    engine: list[Session],
) -> None:
    """Beat until the job ends (also while a cancelled job runs its `always()` steps)."""
    while not main.done():
        await asyncio.sleep(every)
        answer = await reporter.heartbeat()
        if answer == "stop" or (answer and not engine):  # (cloning: nothing ran to finish)
            stopped.append(True)
            main.cancel()
            return
        if answer and not stopped:
            stopped.append(True)
            engine[0].cancel("The run was cancelled.")
            asyncio.get_running_loop().call_later(CANCEL_GRACE, main.cancel)


async def _execute(
    assignment: Mapping[str, Any],
    reporter: Reporter,
    work_dir: Path,
    token: str,
    engine: list[Session],
) -> dict[str, Any]:

    repo = work_dir / "repo"
    if not (repo / ".git").is_dir():  # (a local runner clones before handing the job over)
        await asyncio.to_thread(
            clone, str(assignment["clone_url"]), str(assignment["sha"]), repo, token=token
        )
    payload_file = work_dir / "event.json"
    payload_file.write_text(json.dumps(assignment.get("payload") or {}))
    inputs = {str(k): str(v) for k, v in (assignment.get("inputs") or {}).items()}
    selection = await asyncio.to_thread(
        select,
        repo,
        event_name=str(assignment["event"]),
        workflows=repo / str(assignment["workflow_path"]),
        job=None,
        eventpath=payload_file,
        inputs=inputs,
    )
    job_id = assignment.get("job_id")
    only = [job_id] if job_id else assignment.get("only_jobs")
    chosen = [
        replace(s, only=frozenset(only)) if only is not None and s.triggered else s
        for s in selection.selected
    ]
    if not any(s.triggered for s in chosen):
        raise ConveyorError("the workflow is not triggered by this event at this commit")
    masker = Masker()
    sink = _Sink(chosen[0].workflow.display_name)
    console = Console(cast(TextIO, sink), color=False, masker=masker)
    options = RunOptions(
        repo_dir=repo,
        run_dir=work_dir / "run",
        run_number=int(assignment.get("run_number") or 1),
        run_id=int(assignment["run_id"]) if assignment.get("run_id") else None,
        event=selection.event,
        secrets=dict(assignment.get("secrets") or {}),
        vars=dict(assignment.get("vars") or {}),
        matrix_filter=tuple((str(k), str(v)) for k, v in (assignment.get("matrix_filter") or [])),
    )
    fetched = await fetch_artifacts(assignment, reporter, options.run_dir)
    session = Session(
        options, masker=masker, console=console, runner_factory=lambda: HostRunner(umask=JOB_UMASK)
    )
    session.environment_gate = _Gate(reporter)
    session.run_cancelled = bool(assignment.get("cancelled"))
    engine.append(session)
    for prior_id, (result, outputs) in (assignment.get("prior_jobs") or {}).items():
        session.prior_jobs[str(prior_id)] = (str(result), dict(outputs))
    task = asyncio.ensure_future(run_all(session, chosen))
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=0.2)
            await _flush(sink, reporter)
    except asyncio.CancelledError:
        task.cancel()  # the engine kills each job's process group
        with contextlib.suppress(asyncio.CancelledError, ConveyorError):
            await task
        await _flush(sink, reporter)
        raise
    await _flush(sink, reporter)
    run = task.result()
    for name, data in await asyncio.to_thread(pack_artifacts, options.run_dir, fetched):
        await reporter.artifact(name, data)
    for workflow in run.workflows:
        for job in workflow.jobs:
            await reporter.job(job.name, _job_fields(job))
    document = dict(run.to_json())
    if job_id:
        document["job"] = job_outcome(run, str(job_id))
    return document


def job_outcome(run: Any, job_id: str) -> dict[str, Any]:
    """The job's result as its dependants see it (legs combined; a failed continue-on-error
    job counts as success) and its outputs (legs merged in finishing order), as the
    engine's scheduler computes them; failure when the engine did not record the job."""

    legs = [j for w in run.workflows for j in w.jobs if j.parent is None and j.id == job_id]
    outputs: dict[str, str] = {}
    for leg in legs:
        outputs.update({k: v for k, v in leg.outputs.items() if v != ""})
    result = combine(j.needs_result for j in legs) if legs else Result.FAILURE
    return {"result": str(result), "outputs": outputs}


async def _flush(sink: _Sink, reporter: Reporter) -> None:
    lines = sink.take()
    for job, _ in lines:
        if job and job not in sink.seen:
            sink.seen.add(job)
            await reporter.job(job, {"status": "in_progress"})
    if lines:
        await reporter.logs(lines)


def _job_fields(job: Any) -> dict[str, Any]:
    summary = ""
    if job.log_dir:
        path = Path(job.log_dir) / "summary.md"
        summary = path.read_text() if path.exists() else ""
    data = job.to_json()
    return {
        "status": "completed",
        "job_id": job.id,
        "conclusion": data["result"],
        "steps": data["steps"],
        "annotations": data["annotations"],
        "outputs": data["outputs"],
        "summary": summary,
    }
