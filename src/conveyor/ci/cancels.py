"""Cancelling a run as GitHub does: the jobs whose `if` still holds once the run is
cancelled (`always()`, `cancelled()`, `failure()` after a failed need) go on; the others stop.

A mixin of `CIService`, called by the API (`POST /runs/{id}/cancel`, `.../force-cancel`)
and by workflow-level concurrency (`cancel-in-progress`, a replaced pending run). `cancel`
records the request (`ci_run_cancels`, so it survives a restart) and evaluates the `if` of
every unfinished job again with `cancelled()` true (`ci.jobplan.holds`, the engine's status
functions): units not started yet (pending, waiting for a review, queued) whose `if` fails
are cancelled at once; a running one is told to stop on its runner's next call
(`stopping`, read by `RunnerAPI.beat`) and stays its runner's until the runner reports
it — the engine interrupts the running step and still runs the steps whose `if` holds
after a cancellation, whose logs still arrive. Jobs planned later (their needs concluded)
see `cancelled()` true too (`ci.dispatch`), and so does the engine of the runner that
takes them (`assignment["cancelled"]`). Once every job concluded, the run's conclusion is
`cancelled`. A job told to stop that has not ended `cancel_timeout` seconds later
(GitHub's five minutes) is cancelled by the server (`Recovery.supervise` calls
`enforce_cancel_timeout`); `force-cancel` (GitHub's API of that name) ends every job at
once, `always()` ones included. A job cancelled alone (`_stop_unit`: a failed leg's
`fail-fast`, a job-level group's `cancel-in-progress`) stops the same way, through its
runner.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from conveyor.ci.errors import Conflict
from conveyor.ci.jobplan import holds
from conveyor.ci.parts import ServiceParts
from conveyor.core.errors import ConveyorError

if TYPE_CHECKING:
    from conveyor.ci.jobplan import RunContexts
    from conveyor.ci.service import ServiceConfig
    from conveyor.workflow.model import Workflow

log = logging.getLogger(__name__)


class Cancels(ServiceParts):
    """`cancel` of `CIService` (see the module docstring)."""

    if TYPE_CHECKING:  # provided by CIService and its mixins
        config: ServiceConfig

        def _workflow(self, run: Mapping[str, Any]) -> Workflow: ...

        def _contexts(self, run: Mapping[str, Any], workflow: Workflow) -> RunContexts: ...

        def _finish_unit(
            self,
            unit: Mapping[str, Any],
            conclusion: str,
            *,
            outputs: Mapping[str, str] | None = None,
            reason: str = "",
            advance: bool = True,
        ) -> bool: ...

    def cancel(
        self, run_id: int, *, reason: str = "cancelled by a user", force: bool = False
    ) -> None:
        """Cancel a run (see the module docstring); `force` ends every job now."""
        run = self._run(run_id)
        if run["status"] == "completed":
            raise Conflict(f"run {run_id} already completed ({run['conclusion']})")
        with self.lock:
            if force or run["status"] == "pending":  # a pending run has no job yet
                self._conclude(run_id, "cancelled", reason)
                return
            if not self.store.request_cancel(run_id, reason=reason):
                return  # already cancelling: its always() jobs go on (force-cancel ends them)
            log.info("run %d: cancel requested (%s)", run_id, reason)
            try:
                workflow = self._workflow(run)
            except ConveyorError:
                self._conclude(run_id, "cancelled", reason)
                return
            for unit in self.store.units(run_id=run_id, status=("pending", "waiting", "queued")):
                if not self._still_runs(run, workflow, unit):
                    self._finish_unit(unit, "cancelled", advance=False)
            self._advance(run_id)
        self.wake.set()

    def _stop_unit(
        self, unit: Mapping[str, Any], reason: str = "", *, advance: bool = True
    ) -> None:
        """Cancel one job alone (fail-fast, job-level `cancel-in-progress`): not started yet,
        it is cancelled now; running, its runner is told to stop it as the engine does (its
        `always()` steps run and report) and it stays the runner's until it reports."""
        if unit["status"] != "in_progress":
            self._finish_unit(unit, "cancelled", reason=reason, advance=advance)
            return
        if self.store.request_stop(int(unit["id"]), run_id=int(unit["run_id"]), reason=reason):
            log.info(
                "run %d: job %s: cancel requested%s",
                unit["run_id"],
                unit["name"],
                f" ({reason})" if reason else "",
            )
        self.wake.set()

    def stopping(self, unit: Mapping[str, Any]) -> bool:
        """Whether the runner of this running unit must stop: it was cancelled alone, or its
        run is being cancelled and the job's `if` does not hold with `cancelled()` true."""
        run_id = int(unit["run_id"])
        if self.store.stop_request(int(unit["id"])) is not None:
            return True
        if self.store.cancel_request(run_id) is None:
            return False
        run = self._run(run_id)
        try:
            workflow = self._workflow(run)
        except ConveyorError:
            return True
        return not self._still_runs(run, workflow, unit)

    def _still_runs(
        self, run: Mapping[str, Any], workflow: Workflow, unit: Mapping[str, Any]
    ) -> bool:
        from conveyor.ci.dispatch import concluded_jobs

        job = workflow.job(str(unit["job_id"]))
        if job is None:
            return False
        done = concluded_jobs(self.store.units(run_id=int(run["id"])))
        return holds(workflow, job, self._contexts(run, workflow), done, cancelled=True)

    def enforce_cancel_timeout(self) -> None:
        """Cancel the running jobs told to stop `cancel_timeout` s ago that still run."""
        now = time.time()
        for unit in self.store.units(status=("in_progress",)):
            alone = self.store.stop_request(int(unit["id"]))
            cancel = alone or self.store.cancel_request(int(unit["run_id"]))
            if cancel is None or now < cancel["requested"] + self.config.cancel_timeout:
                continue
            if self.stopping(unit):
                reason = (
                    f"The job was cancelled by the server: it did not stop within "
                    f"{self.config.cancel_timeout:g} s of the run's cancellation."
                )
                log.warning("run %d: job %s: %s", unit["run_id"], unit["name"], reason)
                self._finish_unit(unit, "cancelled", reason=reason)
