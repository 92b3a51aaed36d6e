"""How units and runs end: a unit concludes (its runner completed it, its heartbeat stopped,
its environment was rejected, it was cancelled), a running unit is told to stop, a run
concludes.

`Endings` is built by `ci.wiring` and called by the parts that end things: `ci.runnerapi`
(`complete`), `ci.gates` (a rejected deployment), `ci.groups` (a newer unit of the group
cancels an older one: `stop_unit`), `ci.cancels`, `ci.recovery` and `ci.dispatch`, which
concludes a run once every job has. What follows an ending is handed in as callables: a
unit's end frees its job-level concurrency group and advances its run (`ci.dispatch`), a
run's end frees its workflow-level group (`ci.groups`).

A failed share of a matrix job split over runners cancels the job's other shares under
`fail-fast` (default true), as a failed leg cancels its siblings in the engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from conveyor.ci.deps import Deps
from conveyor.ci.jobplan import fail_fast
from conveyor.ci.ledger import Ledger
from conveyor.ci.model import UNFINISHED, ApprovalState, Conclusion, Run, Status, Unit
from conveyor.ci.notices import run_failed
from conveyor.ci.runworkflows import RunWorkflows
from conveyor.ci.statuses import CommitStatuses
from conveyor.ci.tracespans import run_concluded
from conveyor.core.errors import ConveyorError

log = logging.getLogger(__name__)


class Endings:
    """Concluding units and runs (see the module docstring)."""

    def __init__(
        self,
        deps: Deps,
        ledger: Ledger,
        workflows: RunWorkflows,
        statuses: CommitStatuses,
        *,
        advance: Callable[[int], None],
        release_unit_group: Callable[[Unit], None],
        release_run_group: Callable[[Run], None],
    ) -> None:
        self.deps = deps
        self.store = deps.store
        self.ledger = ledger
        self.workflows = workflows
        self.statuses = statuses
        self.advance = advance  # the run's step function (`ci.dispatch`)
        self.release_unit_group = release_unit_group  # `ci.groups`
        self.release_run_group = release_run_group  # `ci.groups`

    def finish_unit(
        self,
        unit: Unit,
        conclusion: Conclusion,
        *,
        outputs: Mapping[str, str] | None = None,
        reason: str = "",
        advance: bool = True,
    ) -> bool:
        """A unit ends (not yet completed ones only); its unfinished job rows end with it."""
        with self.deps.lock:  # its group's next unit and the run's next jobs: one at a time
            if not self.store.update_unit(
                unit.id,
                only_from=UNFINISHED,
                status=Status.COMPLETED,
                conclusion=conclusion,
                outputs=dict(outputs or {}),
                reason=reason,
                finished=self.deps.clock(),
            ):
                return False
            self._end_job_rows(unit, conclusion)
            if conclusion == Conclusion.FAILURE and advance:  # (a concluding run ends all)
                self._fail_fast(unit)
            if reason:
                self.store.add_logs(unit.run_id, [(unit.name, reason)])
            self.release_unit_group(unit)
            if advance:
                self.advance(unit.run_id)
            self.deps.wake.set()
            return True

    def _end_job_rows(self, unit: Unit, conclusion: Conclusion) -> None:
        names = set(unit.job_names)
        for job in self.ledger.jobs(unit.run_id):
            if job.name in names and job.status != Status.COMPLETED:
                self.store.upsert_job(
                    unit.run_id, job.name, status=Status.COMPLETED, conclusion=conclusion
                )
        if not names:  # ended before a runner reported it (cancelled while queued …)
            self.store.upsert_job(
                unit.run_id,
                unit.name,
                job_id=unit.job_id,
                status=Status.COMPLETED,
                conclusion=conclusion,
            )

    def _fail_fast(self, unit: Unit) -> None:
        """A failed share of a matrix job cancels its siblings under `fail-fast`."""
        siblings = [
            u
            for u in self.ledger.units(run_id=unit.run_id, status=UNFINISHED)
            if u.job_id == unit.job_id
        ]
        if not siblings:
            return
        run = self.ledger.run(unit.run_id)
        try:
            workflow = self.workflows.of(run)
        except ConveyorError:
            return  # `Dispatcher.advance` fails the run with the reason
        job = workflow.job(unit.job_id)
        if job is None or not fail_fast(job, self.workflows.contexts(run, workflow)):
            return
        for sibling in siblings:  # running ones stop through their runner (`ci.cancels`)
            self.stop_unit(sibling, advance=False)

    def stop_unit(self, unit: Unit, reason: str = "", *, advance: bool = True) -> None:
        """Cancel one job alone (fail-fast, job-level `cancel-in-progress`): not started yet,
        it is cancelled now; running, its runner is told to stop it as the engine does (its
        `always()` steps run and report) and it stays the runner's until it reports."""
        if unit.status != Status.IN_PROGRESS:
            self.finish_unit(unit, Conclusion.CANCELLED, reason=reason, advance=advance)
            return
        if self.store.request_stop(unit.id, run_id=unit.run_id, reason=reason):
            log.info(
                "run %d: job %s: cancel requested%s",
                unit.run_id,
                unit.name,
                f" ({reason})" if reason else "",
            )
        self.deps.wake.set()

    def conclude(
        self, run_id: int, conclusion: Conclusion, reason: str = "", *, logged: bool = False
    ) -> None:
        """End the run; its `reason` goes to the log unless it is `logged` there already."""
        with self.deps.lock:  # not while a job of the run is being planned (ci.dispatch)
            run = self.ledger.run(run_id)
            if run.status == Status.COMPLETED:
                return
            finished = self.deps.clock()
            self.store.update_run(
                run_id,
                status=Status.COMPLETED,
                conclusion=conclusion,
                reason=reason,
                finished=finished,
            )
            self._end_parts(run, conclusion, reason)
            run_concluded(self.ledger, run, conclusion, finished, self.store.pushed_at)
            if reason and not logged:
                self.store.add_logs(run_id, [("", reason)])
            self.statuses.run(run, conclusion)
            if conclusion == Conclusion.FAILURE:
                base, now = self.deps.config.public_url, self.deps.clock()
                self.deps.notices.publish(run_failed(run, reason, base_url=base, now=now))
            self.deps.count(f"runs_{conclusion}")
            log.info("run %d: %s%s", run_id, conclusion, f" ({reason})" if reason else "")
            self.release_run_group(run)
            self.deps.wake.set()

    def _end_parts(self, run: Run, conclusion: Conclusion, reason: str) -> None:
        """A concluded run's units, approvals and job rows end with it."""
        unfinished = (
            Conclusion.CANCELLED
            if conclusion in (Conclusion.SUCCESS, Conclusion.SKIPPED)
            else conclusion
        )
        for unit in self.ledger.units(run_id=run.id, status=UNFINISHED):
            self.finish_unit(unit, unfinished, advance=False)
        for approval in self.store.config.approvals(state=ApprovalState.PENDING, run_id=run.id):
            # nothing of the run waits for it any more: off the pending list
            self.store.config.decide(
                run.id,
                approval["environment"],
                state=ApprovalState.CANCELLED,
                by="",
                comment=reason,
            )
        for job in self.ledger.jobs(run.id):
            if job.status != Status.COMPLETED:
                self.store.upsert_job(
                    run.id,
                    job.name,
                    status=Status.COMPLETED,
                    conclusion=conclusion if conclusion != Conclusion.SUCCESS else "",
                )
