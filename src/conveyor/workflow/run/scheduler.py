"""Schedules a workflow's jobs: each starts as soon as its own `needs` are done.

Called by `engine.py` for every triggered workflow; a reusable-workflow caller leg runs its
callee through `reusable.run_call`, which this scheduler hands `_called` to run the callee
with a nested scheduler. What is decided about a job is the job planner's
(`conveyor.workflow.plan.jobs`, the CI server's too): per job, wait for the direct needs,
evaluate `if` (implicit `success()`, job-level status functions over the job's ancestors),
expand `strategy.matrix` now (so `fromJSON(needs...)` works), name the legs; then run the
legs under `max-parallel`, the run-wide `--max-parallel`, concurrency groups and
`fail-fast` (a failing leg stops the running AND the queued ones). A skipped, failed or
cancelled need skips the dependant unless its `if` uses a status function.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping

from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import EvalContext, Value
from conveyor.workflow.model import Job
from conveyor.workflow.plan import jobs as planner
from conveyor.workflow.plan.github import job_level
from conveyor.workflow.plan.jobs import NeedDone, Result, RunContexts
from conveyor.workflow.run.job import Leg, WorkflowCall, run_job
from conveyor.workflow.run.results import JobResult, combine
from conveyor.workflow.run.reusable import run_call
from conveyor.workflow.run.scope import JobControl
from conveyor.workflow.run.session import Session


class Scheduler:
    """Runs one workflow call; `results` collects every leg (and callee job) as it ends."""

    def __init__(
        self,
        session: Session,
        call: WorkflowCall,
        *,
        only: set[str] | None = None,
        stop: JobControl | None = None,
    ) -> None:
        self.session = session
        self.call = call
        self.only = only
        self.stop = stop  # the caller leg's control: stopping it stops every leg here
        self.results: list[JobResult] = []
        self._done: dict[str, asyncio.Future[NeedDone]] = {}
        self._controls: list[JobControl] = []

    async def run(self) -> list[JobResult]:
        loop = asyncio.get_running_loop()
        jobs = [j for j in self.call.workflow.jobs if self.only is None or j.id in self.only]
        self._done = {j.id: loop.create_future() for j in jobs}
        if self.call.parent is None:  # a re-run's kept jobs, as their dependants see them
            for job_id, (result, outputs) in self.session.prior_jobs.items():
                if job_id not in self._done:
                    self._done[job_id] = loop.create_future()
                    done = NeedDone(result=Result(result), outputs=outputs)
                    self._done[job_id].set_result(done)
        watcher = asyncio.ensure_future(self._watch_stop()) if self.stop else None
        try:
            await asyncio.gather(*(self._job(j) for j in jobs))
        finally:
            if watcher is not None:
                watcher.cancel()
        return self.results

    def finished(self) -> dict[str, NeedDone]:
        """The jobs that ended, as dependants see them (the `jobs` context of a callee)."""
        return {k: f.result() for k, f in self._done.items() if f.done()}

    async def _watch_stop(self) -> None:
        assert self.stop is not None
        await self.stop.stop.wait()
        for control in self._controls:
            control.cancel(self.stop.reason)

    def _new_control(self) -> JobControl:
        control = JobControl()
        self._controls.append(control)
        self.session.controls.append(control)
        if self.stop is not None and self.stop.stop.is_set():
            control.cancel(self.stop.reason)
        return control

    async def _job(self, job: Job) -> None:
        done = NeedDone(result=Result.FAILURE)
        try:
            done = await self._job_body(job)
        finally:
            self._done[job.id].set_result(done)

    async def _job_body(self, job: Job) -> NeedDone:
        for need in job.needs:
            if need in self._done:
                await self._done[need]
        planned = self._plan(job)
        if isinstance(planned, NeedDone):
            return planned
        ctx, legs = planned
        results = await self._run_legs(legs, ctx)
        outputs: dict[str, str] = {}
        for result in results:
            outputs.update({k: v for k, v in result.outputs.items() if v != ""})
        return NeedDone(result=combine(r.needs_result for r in results), outputs=outputs)

    def _plan(self, job: Job) -> tuple[EvalContext, list[Leg]] | NeedDone:
        """A ready job's context and legs, or how it concluded without running (skipped by
        its `if` or an empty matrix; failed when they cannot be evaluated)."""
        done = self.finished()
        cancelled = self.session.run_cancelled
        ctx = planner.job_context(
            self.call.workflow, job, self._contexts(), done, cancelled=cancelled
        )
        prefix = self.call.name_prefix
        try:
            runs = planner.runs(job, ctx)
            legs = self._legs(job, ctx, planner.needs_context(job, done)) if runs else []
        except ConveyorError as exc:
            self.session.console.line(self.call.prefix(f"{prefix}{job.id}"), f"Error: {exc}")
            self._record(job, f"{prefix}{planner.job_name(job, ctx)}", Result.FAILURE)
            return NeedDone(result=Result.FAILURE)
        if not legs:
            self._record(job, f"{prefix}{planner.job_name(job, ctx)}", Result.SKIPPED)
            return NeedDone(result=Result.SKIPPED)
        return ctx, legs

    def _contexts(self) -> RunContexts:
        """The run-wide contexts of job-level keys (`if`, `strategy`, `concurrency`, `with`)."""
        github = job_level(
            self.session.options.event,
            self.session.identity,
            workflow=self.call.top,
            payload=self.call.event_payload,
        )
        return RunContexts(github=github, inputs=self.call.inputs, vars=self.session.options.vars)

    def _record(self, job: Job, name: str, result: Result) -> None:
        self.results.append(JobResult(id=job.id, name=name, result=result, parent=self.call.parent))

    def _legs(self, job: Job, ctx: EvalContext, needs: Mapping[str, Value]) -> list[Leg]:
        """The planner's legs as the engine runs them (`--matrix` narrows the top level)."""
        filters = self.session.options.matrix_filter if self.call.depth == 0 else ()
        legs = []
        for planned in planner.legs(self.call.workflow, job, ctx, matrix_filter=filters):
            leg_ctx = planner.leg_context(ctx, planned.combo, planned.strategy)
            name = planner.leg_name(job, planned.combo, leg_ctx)
            legs.append(
                Leg(
                    job=job,
                    name=f"{self.call.name_prefix}{name}",
                    matrix=planned.combo,
                    strategy=planned.strategy,
                    needs=needs,
                    index=planned.index,
                )
            )
        return legs

    async def _run_legs(self, legs: list[Leg], ctx: EvalContext) -> list[JobResult]:
        """Run the legs (`ctx`: their job's context); their results in the order they
        finished."""
        limit = legs[0].strategy.get("max-parallel")
        slots = asyncio.Semaphore(limit if isinstance(limit, int) and limit > 0 else len(legs))
        controls = [self._new_control() for _ in legs]
        fail_fast = bool(legs[0].strategy.get("fail-fast"))

        def ended(result: JobResult, control: JobControl) -> None:
            if fail_fast and result.needs_result is Result.FAILURE and len(legs) > 1:
                for other in controls:
                    if other is not control:
                        other.cancel()

        finished: list[JobResult] = []  # in completion order: the last leg's outputs win

        async def one(leg: Leg, control: JobControl) -> None:
            finished.append(await self._leg(leg, ctx, control, slots, ended))

        await asyncio.gather(*(one(leg, c) for leg, c in zip(legs, controls, strict=True)))
        return finished

    async def _leg(
        self,
        leg: Leg,
        ctx: EvalContext,
        control: JobControl,
        slots: asyncio.Semaphore,
        ended: Callable[[JobResult, JobControl], None],
    ) -> JobResult:
        """Wait for the slots and the concurrency group (a stop while waiting cancels the leg
        before it starts), then run it."""
        async with contextlib.AsyncExitStack() as stack:
            if not await _until_stopped(slots.acquire(), control):
                return self._cancelled(leg)
            stack.callback(slots.release)
            global_slots = self.session.slots
            if global_slots is not None:
                if not await _until_stopped(global_slots.acquire(), control):
                    return self._cancelled(leg)
                stack.callback(global_slots.release)
            leg_ctx = planner.leg_context(ctx, leg.matrix, leg.strategy)
            name, cancel_running = planner.concurrency_key(leg.job, leg_ctx)
            if name:
                got = await _until_stopped(
                    self.session.concurrency.acquire(
                        name, cancel_in_progress=cancel_running, cancel=control.cancel
                    ),
                    control,
                )
                if not got:
                    return self._cancelled(leg)
                stack.callback(self.session.concurrency.release, name)
            if control.stop.is_set():
                return self._cancelled(leg)
            result = await self._execute(leg, leg_ctx, control)
            ended(result, control)  # fail-fast before the slot goes to a queued leg
        self.results.append(result)
        self.session.console.job_end(
            self.call.prefix(result.name), str(result.result), result.duration
        )
        return result

    async def _execute(self, leg: Leg, leg_ctx: EvalContext, control: JobControl) -> JobResult:
        if leg.job.uses is not None:
            return await run_call(
                self.session, self.call, leg, control, contexts=leg_ctx.contexts, run=self._called
            )
        return await run_job(self.session, self.call, leg, control)

    async def _called(
        self, call: WorkflowCall, stop: JobControl
    ) -> tuple[list[JobResult], dict[str, NeedDone]]:
        """Run a called workflow with a nested scheduler (stopping `stop` stops it); its
        results join this scheduler's."""
        nested = Scheduler(self.session, call, stop=stop)
        results = await nested.run()
        self.results.extend(results)
        return results, nested.finished()

    def _cancelled(self, leg: Leg) -> JobResult:
        result = JobResult(
            id=leg.job.id,
            name=leg.name,
            result=Result.CANCELLED,
            matrix=dict(leg.matrix) or None,
            parent=self.call.parent,
        )
        self.results.append(result)
        self.session.console.job_end(
            self.call.prefix(result.name), str(result.result), result.duration
        )
        return result


async def _until_stopped(waiting: Awaitable[bool | None], control: JobControl) -> bool:
    """Await `waiting` unless the leg is stopped first; False when stopped or refused."""
    if control.stop.is_set():
        if asyncio.iscoroutine(waiting):
            waiting.close()
        return False
    task = asyncio.ensure_future(waiting)
    stopper = asyncio.ensure_future(control.stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result() is not False
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return False
