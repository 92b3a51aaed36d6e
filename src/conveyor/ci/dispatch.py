"""Per-job dispatch: a run becomes units (one job, or one label set of a matrix job) that
runners take one at a time, each as soon as the jobs it needs have concluded.

`Dispatcher.advance(run_id)` is the one step function: called when a run leaves `pending`
(its workflow-level concurrency group let it: `ci.groups`), whenever a unit concludes
(`ci.endings`: a runner completed it, its heartbeat stopped, job-level concurrency
cancelled it), by `ci.cancels` and on recovery (`ci.recovery`). It reads the run's
workflow again from its commit (cached: `ci.runworkflows`), decides every job that became
ready with `ci.jobplan` (skips and `if`/matrix/`runs-on` errors conclude the job right
here, without a runner), queues the units of the others (`enqueue_unit`, handed in:
job-level concurrency groups, `ci.groups`, then environment rules, `ci.gates`) and
concludes the run once every job has (`ci.endings`): failure wins, then cancelled, then
success; a run whose every job was skipped is `skipped`, as GitHub does; a run being
cancelled (`ci.cancels`) plans its jobs with `cancelled()` true and concludes `cancelled`.

A unit's `conclusion` is the result dependants see (`needs.<id>.result`, a failed
`continue-on-error` job counts as success) and `outputs` the job's outputs; a job split
into several units merges them in the order they finished, as the engine merges legs
(`ci.ledger.concluded_jobs`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from conveyor.ci.deps import Deps
from conveyor.ci.endings import Endings
from conveyor.ci.jobplan import NeedDone, RunContexts, UnitSpec, plan_job, ready
from conveyor.ci.ledger import Ledger, concluded_jobs
from conveyor.ci.model import Conclusion, Run, Status
from conveyor.ci.runworkflows import RunWorkflows
from conveyor.ci.statuses import CommitStatuses
from conveyor.core.errors import ConveyorError
from conveyor.workflow.model import Workflow
from conveyor.workflow.run.results import Result, combine

log = logging.getLogger(__name__)


class Dispatcher:
    """Units of runs: planning and queueing (see the module docstring)."""

    def __init__(
        self,
        deps: Deps,
        ledger: Ledger,
        workflows: RunWorkflows,
        statuses: CommitStatuses,
        endings: Endings,
        *,
        enqueue_unit: Callable[[int], None],
    ) -> None:
        self.deps = deps
        self.store = deps.store
        self.ledger = ledger
        self.workflows = workflows
        self.statuses = statuses
        self.endings = endings
        self.enqueue_unit = enqueue_unit  # a new unit meets its group and gate (`ci.groups`)
        self.again: dict[int, bool] = {}  # runs advancing now: one more pass asked?

    def advance(self, run_id: int) -> None:
        """Plan every job that became ready; conclude the run when every job has.

        Serialized by the service's lock (sync routes run in worker threads); a call made
        while the same run advances (a job-level group cancelling a unit of its own run)
        only asks the running call for one more pass, so no job is planned twice.
        """
        with self.deps.lock:
            if run_id in self.again:
                self.again[run_id] = True
                return
            self.again[run_id] = False
            try:
                while True:
                    self._advance_once(run_id)
                    if not self.again[run_id]:
                        break
                    self.again[run_id] = False
            finally:
                del self.again[run_id]

    def _advance_once(self, run_id: int) -> None:
        run = self.ledger.run(run_id)
        if run.status in (Status.COMPLETED, Status.PENDING):
            return
        try:
            workflow = self.workflows.of(run)
        except ConveyorError as exc:
            self.endings.conclude(
                run_id, Conclusion.FAILURE, f"cannot read the workflow of this run: {exc}"
            )
            return
        done = self._plan_ready(run, workflow)
        if len(done) == len(workflow.jobs):
            self._conclude_from_jobs(run_id, done)
        else:
            self.refresh_run_status(run_id)

    def _plan_ready(self, run: Run, workflow: Workflow) -> dict[str, NeedDone]:
        """Plan each job whose needs concluded, until none is left; the jobs concluded."""
        units = self.ledger.units(run_id=run.id)
        planned = {u.job_id for u in units}
        done = concluded_jobs(units)
        cancelling = self.ledger.cancel_request(run.id) is not None
        contexts: RunContexts | None = None
        progress = True
        while progress:
            progress = False
            for job in workflow.jobs:
                if job.id in planned or not ready(job, done):
                    continue
                if contexts is None:
                    contexts = self.workflows.contexts(run, workflow)
                decision = plan_job(workflow, job, contexts, done, cancelled=cancelling)
                planned.add(job.id)
                if decision.result is not None:
                    self._conclude_job_here(
                        run.id, job.id, decision.name, decision.result, decision.message
                    )
                    done[job.id] = NeedDone(result=decision.result, outputs={})
                    progress = True
                else:
                    self._add_units(run.id, job.id, decision.units)
        return done

    def _conclude_job_here(
        self, run_id: int, job_id: str, name: str, result: Result, message: str
    ) -> None:
        """A job decided on the server (skipped, or its `if`/matrix/runs-on failed)."""
        now = self.deps.clock()
        self.store.add_unit(
            {
                "run_id": run_id,
                "job_id": job_id,
                "name": name,
                "status": Status.COMPLETED,
                "conclusion": str(result),
                "reason": message,
                "job_names": [name],
                "started": now,
                "finished": now,
            }
        )
        self.store.upsert_job(
            run_id, name, job_id=job_id, status=Status.COMPLETED, conclusion=str(result)
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
                    "status": Status.PENDING,
                    "concurrency_group": spec.concurrency_group,
                    "cancel_in_progress": int(spec.cancel_in_progress),
                    "environment": spec.environment,
                }
            )
            self.enqueue_unit(unit_id)
            log.info(
                "run %d: job %s queued for labels %s", run_id, spec.name, ",".join(spec.labels)
            )
        self.deps.wake.set()

    def _conclude_from_jobs(self, run_id: int, done: Mapping[str, NeedDone]) -> None:
        cancel = self.ledger.cancel_request(run_id)
        if cancel is not None:  # a cancelled run is cancelled, whatever its last jobs did
            self.endings.conclude(run_id, Conclusion.CANCELLED, cancel.reason)
            return
        results = [d.result for d in done.values()]
        verdict = combine(results) if results else Result.SUCCESS
        reasons = [
            u.reason
            for u in self.ledger.units(run_id=run_id)
            if u.reason and u.conclusion in (Conclusion.FAILURE, Conclusion.CANCELLED)
        ]
        # each unit's reason is in its job's log already (`Endings.finish_unit`): the run
        # keeps them as its reason without printing them a second time (issue 18)
        self.endings.conclude(run_id, verdict, "; ".join(dict.fromkeys(reasons)), logged=True)

    def refresh_run_status(self, run_id: int) -> None:
        """queued until a unit started; in_progress from then on (until it concludes);
        waiting while its only unfinished jobs wait for their environment (GitHub's
        `waiting`)."""
        run = self.ledger.run(run_id)
        if run.status not in (Status.QUEUED, Status.WAITING, Status.IN_PROGRESS):
            return
        units = self.ledger.units(run_id=run_id)
        states = {u.status for u in units}
        started = any(u.status == Status.IN_PROGRESS or u.runner for u in units)
        status = Status.IN_PROGRESS if started else Status.QUEUED
        if Status.WAITING in states and not states & {
            Status.PENDING,
            Status.QUEUED,
            Status.IN_PROGRESS,
        }:
            status = Status.WAITING
        if status != run.status:
            self.store.update_run(run_id, status=status)
            self.statuses.run(run, status)
