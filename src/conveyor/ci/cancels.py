"""Cancelling a run as GitHub does: the jobs whose `if` still holds once the run is cancelled
(`always()`, `cancelled()`, `failure()` after a failed need) go on; the others stop.

`Cancels` is called by the API (`POST /runs/{id}/cancel`, `.../force-cancel`) and by
workflow-level concurrency (`ci.groups`: `cancel-in-progress`, a replaced pending run).
`cancel` records the request (`ci_run_cancels`, so it survives a restart) and evaluates the
`if` of every unfinished job again with `cancelled()` true (`ci.jobplan.holds`, the engine's
status functions): units not started yet (pending, waiting for a review, queued) whose `if`
fails are cancelled at once; a running one is told to stop on its runner's next call
(`stopping`, read by `RunnerProtocol.beat_answer`) and stays its runner's until the runner
reports it — the engine interrupts the running step and still runs the steps whose `if`
holds after a cancellation, whose logs still arrive. Jobs planned later (their needs
concluded) see `cancelled()` true too (`ci.dispatch`), and so does the engine of the runner
that takes them (`assignment["cancelled"]`). Once every job concluded, the run's conclusion
is `cancelled`. A job told to stop that has not ended `cancel_timeout` seconds later
(GitHub's five minutes) is cancelled by the server (`Recovery.supervise` calls
`enforce_cancel_timeout`); `force-cancel` (GitHub's API of that name) ends every job at
once, `always()` ones included. A job cancelled alone (`Endings.stop_unit`: a failed leg's
`fail-fast`, a job-level group's `cancel-in-progress`) stops the same way, through its
runner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from conveyor.ci.deps import Deps
from conveyor.ci.endings import Endings
from conveyor.ci.errors import Conflict
from conveyor.ci.jobplan import holds
from conveyor.ci.ledger import Ledger, concluded_jobs
from conveyor.ci.model import NOT_STARTED, Conclusion, Run, Status, Unit
from conveyor.ci.runworkflows import RunWorkflows
from conveyor.core.errors import ConveyorError
from conveyor.workflow.model import Workflow

log = logging.getLogger(__name__)


class Cancels:
    """Cancelling runs (see the module docstring)."""

    def __init__(
        self,
        deps: Deps,
        ledger: Ledger,
        workflows: RunWorkflows,
        endings: Endings,
        *,
        advance: Callable[[int], None],
    ) -> None:
        self.deps = deps
        self.store = deps.store
        self.ledger = ledger
        self.workflows = workflows
        self.endings = endings
        self.advance = advance  # the run's step function (`ci.dispatch`)

    def cancel(
        self, run_id: int, *, reason: str = "cancelled by a user", force: bool = False
    ) -> None:
        """Cancel a run (see the module docstring); `force` ends every job now."""
        run = self.ledger.run(run_id)
        if run.status == Status.COMPLETED:
            raise Conflict(f"run {run_id} already completed ({run.conclusion or ''})")
        with self.deps.lock:
            if force or run.status == Status.PENDING:  # a pending run has no job yet
                self.endings.conclude(run_id, Conclusion.CANCELLED, reason)
                return
            if not self.store.request_cancel(run_id, reason=reason):
                return  # already cancelling: its always() jobs go on (force-cancel ends them)
            log.info("run %d: cancel requested (%s)", run_id, reason)
            try:
                workflow = self.workflows.of(run)
            except ConveyorError:
                self.endings.conclude(run_id, Conclusion.CANCELLED, reason)
                return
            for unit in self.ledger.units(run_id=run_id, status=NOT_STARTED):
                if not self._still_runs(run, workflow, unit):
                    self.endings.finish_unit(unit, Conclusion.CANCELLED, advance=False)
            self.advance(run_id)
        self.deps.wake.set()

    def stopping(self, unit: Unit) -> bool:
        """Whether the runner of this running unit must stop: it was cancelled alone, or its
        run is being cancelled and the job's `if` does not hold with `cancelled()` true."""
        if self.ledger.stop_request(unit.id) is not None:
            return True
        if self.ledger.cancel_request(unit.run_id) is None:
            return False
        run = self.ledger.run(unit.run_id)
        try:
            workflow = self.workflows.of(run)
        except ConveyorError:
            return True
        return not self._still_runs(run, workflow, unit)

    def _still_runs(self, run: Run, workflow: Workflow, unit: Unit) -> bool:
        job = workflow.job(unit.job_id)
        if job is None:
            return False
        done = concluded_jobs(self.ledger.units(run_id=run.id))
        return holds(workflow, job, self.workflows.contexts(run, workflow), done, cancelled=True)

    def enforce_cancel_timeout(self) -> None:
        """Cancel the running jobs told to stop `cancel_timeout` s ago that still run."""
        now = self.deps.clock()
        timeout = self.deps.config.cancel_timeout
        for unit in self.ledger.units(status=(Status.IN_PROGRESS,)):
            alone = self.ledger.stop_request(unit.id)
            cancel = alone or self.ledger.cancel_request(unit.run_id)
            if cancel is None or now < cancel.requested + timeout:
                continue
            if self.stopping(unit):
                reason = (
                    f"The job was cancelled by the server: it did not stop within "
                    f"{timeout:g} s of the run's cancellation."
                )
                log.warning("run %d: job %s: %s", unit.run_id, unit.name, reason)
                self.endings.finish_unit(unit, Conclusion.CANCELLED, reason=reason)
