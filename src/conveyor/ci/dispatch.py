"""Per-job dispatch: a run becomes units (one job, or one label set of a matrix job) that
runners take one at a time, each as soon as the jobs it needs have concluded.

A mixin of `CIService`. `_advance(run_id)` is the one step function: called when a run
leaves `pending` (its workflow-level concurrency group let it), whenever a unit concludes
(a runner completed it, its heartbeat stopped, job-level concurrency cancelled it) and on
recovery. It reads the run's workflow again from its commit (cached), decides every job
that became ready with `ci.jobplan` (skips and `if`/matrix/`runs-on` errors conclude the
job right here, without a runner), queues the units of the others (`_enqueue_unit`, where
job-level concurrency groups and then environment rules apply: `ci.gates`) and concludes
the run once every job has: failure wins, then cancelled, then success; a run whose every
job was skipped is `skipped`, as GitHub does; a run being cancelled (`ci.cancels`) plans
its jobs with `cancelled()` true and concludes `cancelled`.

A unit's `conclusion` is the result dependants see (`needs.<id>.result`, a failed
`continue-on-error` job counts as success) and `outputs` the job's outputs; a job split
into several units merges them in the order they finished, as the engine merges legs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from conveyor.ci.jobplan import (
    NeedDone,
    RunContexts,
    UnitSpec,
    fail_fast,
    github_context,
    plan_job,
    ready,
    typed_inputs,
)
from conveyor.ci.parts import ServiceParts
from conveyor.core.errors import ConveyorError
from conveyor.workflow.run.results import Result, combine

if TYPE_CHECKING:
    from pathlib import Path

    from conveyor.workflow.model import Workflow

log = logging.getLogger(__name__)

_CACHE_SIZE = 64
UNFINISHED = ("pending", "waiting", "queued", "in_progress")


class JobDispatch(ServiceParts):
    """Units of runs: planning, queueing, concluding (see the module docstring)."""

    if TYPE_CHECKING:  # provided by CIService

        def git_dir_of(self, full_name: str) -> Path: ...

        def _enqueue_unit(self, unit_id: int) -> None: ...

        def _release_unit_group(self, unit: Mapping[str, Any]) -> None: ...

        def _stop_unit(
            self, unit: Mapping[str, Any], reason: str = "", *, advance: bool = True
        ) -> None: ...

    lock: threading.RLock

    def _workflow(self, run: Mapping[str, Any]) -> Workflow:
        """The run's parsed workflow, read from its commit (cached per repo, sha and path)."""
        from conveyor.ci.triggers import load_run_workflow

        cache = self.__dict__.setdefault("_workflows", {})
        key = (str(run["repo"]), str(run["sha"]), str(run["workflow_path"]))
        if key not in cache:
            if len(cache) >= _CACHE_SIZE:
                cache.pop(next(iter(cache)))
            cache[key] = load_run_workflow(self.git_dir_of(str(run["repo"])), run)
        workflow: Workflow = cache[key]
        return workflow

    def _advance(self, run_id: int) -> None:
        """Plan every job that became ready; conclude the run when every job has.

        Serialized by the service's lock (sync routes run in worker threads); a call made
        while the same run advances (a job-level group cancelling a unit of its own run)
        only asks the running call for one more pass, so no job is planned twice.
        """
        with self.lock:
            again = self.__dict__.setdefault("_advancing", {})
            if run_id in again:
                again[run_id] = True
                return
            again[run_id] = False
            try:
                while True:
                    self._advance_once(run_id)
                    if not again[run_id]:
                        break
                    again[run_id] = False
            finally:
                del again[run_id]

    def _advance_once(self, run_id: int) -> None:
        run = self._run(run_id)
        if run["status"] in ("completed", "pending"):
            return
        try:
            workflow = self._workflow(run)
        except ConveyorError as exc:
            self._conclude(run_id, "failure", f"cannot read the workflow of this run: {exc}")
            return
        units = self.store.units(run_id=run_id)
        planned = {u["job_id"] for u in units}
        done = concluded_jobs(units)
        cancelling = self.store.cancel_request(run_id) is not None
        contexts: RunContexts | None = None
        progress = True
        while progress:
            progress = False
            for job in workflow.jobs:
                if job.id in planned or not ready(job, done):
                    continue
                if contexts is None:
                    contexts = self._contexts(run, workflow)
                decision = plan_job(workflow, job, contexts, done, cancelled=cancelling)
                planned.add(job.id)
                if decision.result is not None:
                    self._conclude_job_here(
                        run_id, job.id, decision.name, decision.result, decision.message
                    )
                    done[job.id] = NeedDone(result=decision.result, outputs={})
                    progress = True
                else:
                    self._add_units(run_id, job.id, decision.units)
        if len(done) == len(workflow.jobs):
            self._conclude_from_jobs(run_id, done)
        else:
            self._refresh_run_status(run_id)

    def _contexts(self, run: Mapping[str, Any], workflow: Workflow) -> RunContexts:
        owner = str(run["repo"]).partition("/")[0]
        variables = {
            **self.store.config.variables(f"org:{owner}"),
            **self.store.config.variables(f"repo:{run['repo']}"),
        }
        return RunContexts(
            github=github_context(run, workflow),
            inputs=typed_inputs(workflow, run),
            vars=variables,
        )

    def _conclude_job_here(
        self, run_id: int, job_id: str, name: str, result: Result, message: str
    ) -> None:
        """A job decided on the server (skipped, or its `if`/matrix/runs-on failed)."""
        now = time.time()
        self.store.add_unit(
            {
                "run_id": run_id,
                "job_id": job_id,
                "name": name,
                "status": "completed",
                "conclusion": str(result),
                "reason": message,
                "job_names": [name],
                "started": now,
                "finished": now,
            }
        )
        self.store.upsert_job(
            run_id, name, job_id=job_id, status="completed", conclusion=str(result)
        )
        if message:
            self.store.add_logs(run_id, [(name, f"Error: {message}")])
        log.info(
            "run %d: job %s %s on the server%s",
            run_id,
            job_id,
            result,
            f" ({message})" if message else "",
        )

    def _add_units(self, run_id: int, job_id: str, specs: Sequence[UnitSpec]) -> None:
        for spec in specs:
            unit_id = self.store.add_unit(
                {
                    "run_id": run_id,
                    "job_id": job_id,
                    "name": spec.name,
                    "labels": list(spec.labels),
                    "matrix_filter": None
                    if spec.matrix_filter is None
                    else [list(p) for p in spec.matrix_filter],
                    "status": "pending",
                    "concurrency_group": spec.concurrency_group,
                    "cancel_in_progress": int(spec.cancel_in_progress),
                    "environment": spec.environment,
                }
            )
            self._enqueue_unit(unit_id)
            log.info(
                "run %d: job %s queued for labels %s", run_id, spec.name, ",".join(spec.labels)
            )
        self.wake.set()

    def _finish_unit(
        self,
        unit: Mapping[str, Any],
        conclusion: str,
        *,
        outputs: Mapping[str, str] | None = None,
        reason: str = "",
        advance: bool = True,
    ) -> bool:
        """A unit ends (not yet completed ones only); its unfinished job rows end with it."""
        with self.lock:  # its group's next unit and the run's next jobs: one thread at a time
            return self._finish_unit_locked(
                unit, conclusion, outputs=outputs, reason=reason, advance=advance
            )

    def _finish_unit_locked(
        self,
        unit: Mapping[str, Any],
        conclusion: str,
        *,
        outputs: Mapping[str, str] | None,
        reason: str,
        advance: bool,
    ) -> bool:
        if not self.store.update_unit(
            int(unit["id"]),
            only_from=UNFINISHED,
            status="completed",
            conclusion=conclusion,
            outputs=dict(outputs or {}),
            reason=reason,
            finished=time.time(),
        ):
            return False
        run_id = int(unit["run_id"])
        names = set(unit["job_names"] or [])
        for job in self.store.jobs(run_id):
            if job["name"] in names and job["status"] != "completed":
                self.store.upsert_job(
                    run_id, job["name"], status="completed", conclusion=conclusion
                )
        if not names:  # ended before a runner reported it (cancelled while queued …)
            self.store.upsert_job(
                run_id,
                str(unit["name"]),
                job_id=str(unit["job_id"]),
                status="completed",
                conclusion=conclusion,
            )
        if conclusion == "failure" and advance:  # (a concluding run ends every unit anyway)
            self._fail_fast(unit)
        if reason:
            self.store.add_logs(run_id, [(str(unit["name"]), reason)])
        self._release_unit_group(unit)
        if advance:
            self._advance(run_id)
        self.wake.set()
        return True

    def _fail_fast(self, unit: Mapping[str, Any]) -> None:
        """A failed share of a matrix job split over runners cancels the job's other shares
        under `fail-fast` (default true), as a failed leg cancels its siblings in the engine."""
        run_id = int(unit["run_id"])
        siblings = [
            u
            for u in self.store.units(run_id=run_id, status=UNFINISHED)
            if u["job_id"] == unit["job_id"]
        ]
        if not siblings:
            return
        run = self._run(run_id)
        try:
            workflow = self._workflow(run)
        except ConveyorError:
            return  # `_advance` fails the run with the reason
        job = workflow.job(str(unit["job_id"]))
        if job is None or not fail_fast(job, self._contexts(run, workflow)):
            return
        for sibling in siblings:  # running ones stop through their runner (`ci.cancels`)
            self._stop_unit(sibling, advance=False)

    def _conclude_from_jobs(self, run_id: int, done: Mapping[str, NeedDone]) -> None:
        cancel = self.store.cancel_request(run_id)
        if cancel is not None:  # a cancelled run is cancelled, whatever its last jobs did
            self._conclude(run_id, "cancelled", str(cancel["reason"]))
            return
        results = [d.result for d in done.values()]
        verdict = combine(results) if results else Result.SUCCESS
        reasons = [
            str(u["reason"])
            for u in self.store.units(run_id=run_id)
            if u["reason"] and u["conclusion"] in ("failure", "cancelled")
        ]
        # each unit's reason is in its job's log already (`_finish_unit`): the run keeps
        # them as its reason without printing them a second time (issue 18)
        self._conclude(run_id, str(verdict), "; ".join(dict.fromkeys(reasons)), logged=True)

    def _refresh_run_status(self, run_id: int) -> None:
        """queued until a unit started; in_progress from then on (until it concludes);
        waiting while its only unfinished jobs wait for their environment (GitHub's
        `waiting`)."""
        run = self._run(run_id)
        if run["status"] not in ("queued", "waiting", "in_progress"):
            return
        units = self.store.units(run_id=run_id)
        states = {u["status"] for u in units}
        started = any(u["status"] == "in_progress" or u["runner"] for u in units)
        status = "in_progress" if started else "queued"
        if "waiting" in states and not states & {"pending", "queued", "in_progress"}:
            status = "waiting"
        if status != run["status"]:
            self.store.update_run(run_id, status=status)
            self._status(run_id, status)


def concluded_jobs(units: Sequence[Mapping[str, Any]]) -> dict[str, NeedDone]:
    """Jobs whose every unit concluded: combined result, outputs merged in finishing order."""
    by_job: dict[str, list[Mapping[str, Any]]] = {}
    for unit in units:
        by_job.setdefault(str(unit["job_id"]), []).append(unit)
    done: dict[str, NeedDone] = {}
    for job_id, parts in by_job.items():
        if any(p["status"] != "completed" for p in parts):
            continue
        outputs: dict[str, str] = {}
        for part in sorted(parts, key=lambda p: p["finished"] or 0.0):
            outputs.update({k: v for k, v in (part["outputs"] or {}).items() if v != ""})
        result = combine(_result(p["conclusion"]) for p in parts)
        done[job_id] = NeedDone(result=result, outputs=outputs)
    return done


def _result(conclusion: str) -> Result:
    try:
        return Result(conclusion)
    except ValueError:
        return Result.FAILURE
