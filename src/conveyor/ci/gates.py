"""Environment protection rules before dispatch: a job that deploys to an environment whose
rules hold it waits, with no runner, until they let it go — as on GitHub.

A mixin of `CIService`. `_gate(unit)` is where a unit leaves `pending` (`ci.jobgroups`, once
its job-level concurrency group lets it): a unit without an environment (`jobs.<id>.
environment`, evaluated per leg by `ci.jobplan`) is queued at once. Otherwise the
environment's rules are read (`Settings.environment_verdict`): allowed branches first, so a
branch that may not deploy fails the job at once and nothing waits; then required reviewers
and the wait timer (counted from the moment the job first asked). Each job is reviewed, as
on GitHub: the jobs waiting together share one review, and a later job of the run that
deploys to the same environment asks again (its timer starts again too). A held unit is `waiting`:
no runner can claim it, its job row says `waiting`, the pending approval is listed by
`/approvals` and `conveyor status`, and the environment's commit status is pending.
`release_waiting` looks again — after each review (`Settings.decide`) and on every tick of
`Recovery.supervise` (the wait timer runs out, a server restarted) — queueing the units
whose rules now pass and failing those whose deployment was rejected (the run then goes on
as after any failed job). The environment's secrets and variables are not part of the
assignment: the runner asks for them when the job reaches `environment:` (through
`RunnerAPI.environment_gate`, which releases them to a unit gated here without asking the
rules again), after the approval. Units from before this gate (no
environment recorded) are held by their runner's gate as before.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from conveyor.ci.parts import ServiceParts

log = logging.getLogger(__name__)


class EnvironmentGates(ServiceParts):
    """The server-side environment gate of `CIService` (see the module docstring)."""

    if TYPE_CHECKING:  # provided by CIService and its mixins

        def environment_verdict(
            self, run_id: int, environment: str, *, new_job: bool = False
        ) -> dict[str, Any]: ...

        def _refresh_run_status(self, run_id: int) -> None: ...

        def _finish_unit(
            self,
            unit: Mapping[str, Any],
            conclusion: str,
            *,
            outputs: Mapping[str, str] | None = None,
            reason: str = "",
            advance: bool = True,
        ) -> bool: ...

    def _gate(self, unit: Mapping[str, Any]) -> None:
        """A pending (or waiting) unit: queue it, hold it `waiting`, or fail it."""
        environment = str(unit.get("environment") or "")
        if environment:
            verdict = self.environment_verdict(
                int(unit["run_id"]), environment, new_job=unit["status"] == "pending"
            )
            if verdict["state"] == "rejected":
                self._finish_unit(unit, "failure", reason=str(verdict["message"]))
                return
            if verdict["state"] == "waiting":
                self._hold(unit, environment, str(verdict["message"]))
                return
        self._queue(unit)

    def _queue(self, unit: Mapping[str, Any]) -> None:
        run_id = int(unit["run_id"])
        if not self.store.update_unit(
            int(unit["id"]), only_from=("pending", "waiting"), status="queued"
        ):
            return
        if unit["status"] == "waiting":  # the runner reports the job's rows from now on
            self.store.delete_job(run_id, str(unit["name"]), status="waiting")
            log.info(
                "run %d: job %s may deploy to %s: queued", run_id, unit["name"], unit["environment"]
            )
            self._refresh_run_status(run_id)
        self.wake.set()

    def _hold(self, unit: Mapping[str, Any], environment: str, message: str) -> None:
        run_id = int(unit["run_id"])
        if not self.store.update_unit(int(unit["id"]), only_from=("pending",), status="waiting"):
            return  # already waiting
        name = str(unit["name"])
        self.store.upsert_job(run_id, name, job_id=str(unit["job_id"]), status="waiting")
        self.store.add_logs(run_id, [(name, f"Waiting: {message}")])
        run = self._run(run_id)
        self.store.set_status(
            run["repo"],
            run["sha"],
            f"deployment/{environment}",
            state="pending",
            description=f"{name} to {environment}: waiting",
            target_url="",
            environment=environment,
        )
        log.info("run %d: job %s waits (%s); no runner is held", run_id, name, message)
        self._refresh_run_status(run_id)

    def release_waiting(self, run_id: int | None = None) -> None:
        """Queue the waiting units (of one run, or all) whose environment now lets them go;
        fail those whose deployment was rejected."""
        with self.lock:
            for unit in self.store.units(run_id=run_id, status=("waiting",)):
                self._gate(unit)
