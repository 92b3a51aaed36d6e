"""Schedules a workflow's jobs: each starts as soon as its own `needs` are done.

Called by `engine.py` for every triggered workflow and by `reusable.py` for a called one.
Per job: wait for the direct needs, evaluate `if` (implicit `success()`, job-level status
functions over the job's ancestors), expand `strategy.matrix` now (so `fromJSON(needs...)`
works), then run the legs under `max-parallel`, the run-wide `--max-parallel`, concurrency
groups and `fail-fast` (a failing leg stops the running AND the queued ones). A skipped,
failed or cancelled need skips the dependant unless its `if` uses a status function.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import (
    EvalContext,
    Value,
    compile_condition,
    evaluate_raw,
    is_truthy,
    to_str,
)
from conveyor.workflow.model import Job
from conveyor.workflow.plan import matrix as matrix_plan
from conveyor.workflow.plan import strategy as strategy_plan
from conveyor.workflow.run.contexts import github_context
from conveyor.workflow.run.job import Leg, WorkflowCall, run_job
from conveyor.workflow.run.results import JobResult, Result, combine
from conveyor.workflow.run.scope import JobControl
from conveyor.workflow.run.session import Session
from conveyor.workflow.run.status import job_functions


@dataclass(frozen=True, slots=True, kw_only=True)
class Done:
    """What dependants see of a finished job."""

    result: Result
    outputs: Mapping[str, str] = field(default_factory=dict)
    ancestors: Mapping[str, Result] = field(default_factory=dict)


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
        self._done: dict[str, asyncio.Future[Done]] = {}
        self._controls: list[JobControl] = []

    async def run(self) -> list[JobResult]:
        loop = asyncio.get_running_loop()
        jobs = [j for j in self.call.workflow.jobs if self.only is None or j.id in self.only]
        self._done = {j.id: loop.create_future() for j in jobs}
        if self.call.parent is None:  # a re-run's kept jobs, as their dependants see them
            for job_id, (result, outputs) in self.session.prior_jobs.items():
                if job_id not in self._done:
                    self._done[job_id] = loop.create_future()
                    self._done[job_id].set_result(
                        Done(
                            result=Result(result),
                            outputs=outputs,
                            ancestors=self._prior_ancestors(job_id),
                        )
                    )
        watcher = asyncio.ensure_future(self._watch_stop()) if self.stop else None
        try:
            await asyncio.gather(*(self._job(j) for j in jobs))
        finally:
            if watcher is not None:
                watcher.cancel()
        return self.results

    def _prior_ancestors(self, job_id: str) -> dict[str, Result]:
        """A kept job's own ancestors among the kept jobs, so `failure()` and friends of a
        job after it see the whole chain (a job dispatched alone by the CI service)."""
        prior = self.session.prior_jobs
        found: dict[str, Result] = {}
        job = self.call.workflow.job(job_id)
        pending = list(job.needs) if job is not None else []
        while pending:
            need = pending.pop()
            if need in found or need not in prior:
                continue
            found[need] = Result(prior[need][0])
            upstream = self.call.workflow.job(need)
            pending.extend(upstream.needs if upstream is not None else ())
        return found

    def finished(self) -> dict[str, Done]:
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

    def job_name(self, job: Job, ctx: EvalContext | None) -> str:
        if job.name is None or ctx is None:
            return job.id
        try:
            return to_str(evaluate_raw(job.name, ctx))
        except ConveyorError:
            return job.id

    async def _job(self, job: Job) -> None:
        done = Done(result=Result.FAILURE)
        try:
            done = await self._job_body(job)
        finally:
            self._done[job.id].set_result(done)

    async def _job_body(self, job: Job) -> Done:
        needs = {n: await self._done[n] for n in job.needs if n in self._done}
        ancestors: dict[str, Result] = {}
        for need_id, need in needs.items():
            ancestors.update(need.ancestors)
            ancestors[need_id] = need.result
        needs_ctx: dict[str, Value] = {
            n: {"result": str(d.result), "outputs": dict(d.outputs)} for n, d in needs.items()
        }
        base: dict[str, Value] = {
            "github": self._github(),
            "inputs": dict(self.call.inputs),
            "vars": dict(self.session.options.vars),
            "needs": needs_ctx,
        }
        functions = job_functions(ancestors, cancelled=self.session.run_cancelled)
        ctx = EvalContext(contexts=base, functions=functions)
        prefix = self.call.name_prefix
        try:
            condition = compile_condition(job.if_ if job.if_ is not None else "success()")
            runs = is_truthy(condition.evaluate(ctx))
            legs = self._legs(job, ctx, needs_ctx) if runs else []
        except ConveyorError as exc:
            self.session.console.line(self.call.prefix(f"{prefix}{job.id}"), f"Error: {exc}")
            self._record(job, f"{prefix}{self.job_name(job, ctx)}", Result.FAILURE)
            return Done(result=Result.FAILURE, ancestors=ancestors)
        if not legs:
            self._record(job, f"{prefix}{self.job_name(job, ctx)}", Result.SKIPPED)
            return Done(result=Result.SKIPPED, ancestors=ancestors)
        results = await self._run_legs(job, legs, ctx)
        outputs: dict[str, str] = {}
        for result in results:
            outputs.update({k: v for k, v in result.outputs.items() if v != ""})
        verdict = combine(r.needs_result for r in results)
        return Done(result=verdict, outputs=outputs, ancestors=ancestors)

    def _github(self) -> dict[str, Value]:
        """The `github` context of job-level keys (`if`, `strategy`, `concurrency`, `with`)."""
        github = github_context(
            self.session.options.event,
            self.session.identity,
            workflow_name=self.call.top.display_name,
            workflow_path=self.call.top.path,
            job_id="",
            workspace=self.session.options.run_dir,
        )
        github["event"] = dict(self.call.event_payload)
        github["workspace"] = ""
        return github

    def _record(self, job: Job, name: str, result: Result) -> None:
        self.results.append(JobResult(id=job.id, name=name, result=result, parent=self.call.parent))

    def _legs(self, job: Job, ctx: EvalContext, needs_ctx: dict[str, Value]) -> list[Leg]:
        where = f"{self.call.workflow.path}: jobs.{job.id}.strategy"
        strategy = strategy_plan.resolve(job.strategy, ctx, where=where, job_id=job.id)
        filters = self.session.options.matrix_filter
        if filters and self.call.depth == 0 and strategy.has_matrix:
            combos = tuple(matrix_plan.filter_legs(list(strategy.combos), filters))
            strategy = dataclasses.replace(strategy, combos=combos)
        legs = []
        for index, combo in enumerate(strategy.combos):
            strategy_ctx = strategy.context(index)
            contexts = {**ctx.contexts, "matrix": dict(combo), "strategy": strategy_ctx}
            name = self._leg_name(job, combo, EvalContext(contexts=contexts))
            legs.append(
                Leg(
                    job=job,
                    name=name,
                    matrix=combo,
                    strategy=strategy_ctx,
                    needs=needs_ctx,
                    index=index,
                )
            )
        return legs

    def _leg_name(self, job: Job, combo: dict[str, Value], ctx: EvalContext) -> str:
        base = self.job_name(job, ctx)
        if job.name is None or "${{" not in str(job.name):
            base = matrix_plan.leg_name(base, combo)
        return f"{self.call.name_prefix}{base}"

    async def _run_legs(self, job: Job, legs: list[Leg], ctx: EvalContext) -> list[JobResult]:
        """Run the legs; their results in the order they finished."""
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
            finished.append(await self._leg(leg, control, slots, ended))

        await asyncio.gather(*(one(leg, c) for leg, c in zip(legs, controls, strict=True)))
        return finished

    async def _leg(
        self,
        leg: Leg,
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
            group = self._group(leg)
            if group is not None:
                name, cancel_running = group
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
            result = await self._execute(leg, control)
            ended(result, control)  # fail-fast before the slot goes to a queued leg
        self.results.append(result)
        self.session.console.job_end(
            self.call.prefix(result.name), str(result.result), result.duration
        )
        return result

    async def _execute(self, leg: Leg, control: JobControl) -> JobResult:
        if leg.job.uses is not None:
            from conveyor.workflow.run.reusable import run_call

            return await run_call(self, leg, control)
        return await run_job(self.session, self.call, leg, control)

    def _group(self, leg: Leg) -> tuple[str, bool] | None:
        concurrency = leg.job.concurrency
        if concurrency is None:
            return None
        contexts: dict[str, Value] = {
            "github": self._github(),
            "inputs": dict(self.call.inputs),
            "vars": dict(self.session.options.vars),
            "needs": dict(leg.needs),
            "matrix": dict(leg.matrix),
            "strategy": dict(leg.strategy),
        }
        ctx = EvalContext(contexts=contexts)
        name = to_str(evaluate_raw(concurrency.group, ctx))
        cancel = is_truthy(evaluate_raw(concurrency.cancel_in_progress, ctx))
        return (name, cancel) if name else None

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
