"""Environment protection rules before dispatch: a job that deploys to an environment whose
rules hold it waits, with no runner, until they let it go — as on GitHub.

`Gates.gate(unit)` is where a unit leaves `pending` (`ci.groups`, once its job-level
concurrency group lets it): a unit without an environment (`jobs.<id>. environment`,
evaluated per leg by `ci.jobplan`) is queued at once. Otherwise the environment's rules are
read (`Settings.environment_verdict`): allowed branches first, so a branch that may not
deploy fails the job at once and nothing waits; then required reviewers and the wait timer
(counted from the moment the job first asked). Each job is reviewed, as on GitHub: the jobs
waiting together share one review, and a later job of the run that deploys to the same
environment asks again (its timer starts again too). A held unit is `waiting`: no runner can
claim it, its job row says `waiting`, the pending approval is listed by `/approvals` and
`conveyor status`, and the environment's commit status is pending. `release_waiting` looks
again — after each review (`CIService.decide`) and on every tick of `Recovery.supervise`
(the wait timer runs out, a server restarted) — queueing the units whose rules now pass and
failing those whose deployment was rejected (the run then goes on as after any failed job).
The environment's secrets and variables are not part of the assignment: the runner asks for
them when the job reaches `environment:` (through `RunnerProtocol.environment_gate`, which
releases them to a unit gated here without asking the rules again), after the approval.
Units from before this gate (no environment recorded) are held by their runner's gate as
before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from conveyor.ci.deps import Deps
from conveyor.ci.endings import Endings
from conveyor.ci.ledger import Ledger
from conveyor.ci.model import CommitState, Conclusion, GateState, Status, Unit
from conveyor.ci.notices import approval_waiting
from conveyor.ci.settings import Settings
from conveyor.ci.statuses import CommitStatuses

log = logging.getLogger(__name__)


class Gates:
    """The server-side environment gate (see the module docstring)."""

    def __init__(
        self,
        deps: Deps,
        ledger: Ledger,
        statuses: CommitStatuses,
        endings: Endings,
        settings: Settings,
        *,
        refresh_run_status: Callable[[int], None],
    ) -> None:
        self.deps = deps
        self.store = deps.store
        self.ledger = ledger
        self.statuses = statuses
        self.endings = endings
        self.settings = settings  # the environment's rules: `environment_verdict`
        self.refresh_run_status = refresh_run_status  # `Dispatcher.refresh_run_status`

    def gate(self, unit: Unit) -> None:
        """A pending (or waiting) unit: queue it, hold it `waiting`, or fail it."""
        if unit.environment:
            verdict = self.settings.environment_verdict(
                unit.run_id, unit.environment, new_job=unit.status == Status.PENDING
            )
            if verdict.state == GateState.REJECTED:
                self.endings.finish_unit(unit, Conclusion.FAILURE, reason=verdict.message)
                return
            if verdict.state == GateState.WAITING:
                self._hold(unit, verdict.message)
                return
        self._queue(unit)

    def _queue(self, unit: Unit) -> None:
        if not self.store.update_unit(
            unit.id, only_from=(Status.PENDING, Status.WAITING), status=Status.QUEUED
        ):
            return
        if unit.status == Status.WAITING:  # the runner reports the job's rows from now on
            self.store.delete_job(unit.run_id, unit.name, status=Status.WAITING)
            log.info(
                "run %d: job %s may deploy to %s: queued",
                unit.run_id,
                unit.name,
                unit.environment,
            )
            self.refresh_run_status(unit.run_id)
        self.deps.wake.set()

    def _hold(self, unit: Unit, message: str) -> None:
        run_id, name, environment = unit.run_id, unit.name, unit.environment
        if not self.store.update_unit(unit.id, only_from=(Status.PENDING,), status=Status.WAITING):
            return  # already waiting
        self.store.upsert_job(run_id, name, job_id=unit.job_id, status=Status.WAITING)
        self.store.add_logs(run_id, [(name, f"Waiting: {message}")])
        run = self.ledger.run(run_id)
        self.statuses.deployment(
            run,
            environment,
            state=CommitState.PENDING,
            description=f"{name} to {environment}: waiting",
        )
        log.info("run %d: job %s waits (%s); no runner is held", run_id, name, message)
        notice = approval_waiting(
            run,
            job=name,
            environment=environment,
            message=message,
            base_url=self.deps.config.public_url,
            now=self.deps.clock(),
        )
        self.deps.notices.publish(notice)
        self.refresh_run_status(run_id)

    def release_waiting(self, run_id: int | None = None) -> None:
        """Queue the waiting units (of one run, or all) whose environment now lets them go;
        fail those whose deployment was rejected."""
        with self.deps.lock:
            for unit in self.ledger.units(run_id=run_id, status=(Status.WAITING,)):
                self.gate(unit)
