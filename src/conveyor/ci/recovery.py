"""Recovery after a restart and the heartbeat clock of remote runners.

`Recovery` (built by `ci.wiring`, called through `CIService`): `recover` runs once when the
server starts (before it serves): jobs the local pool held died with the process (their step
processes with them: issue 18 #2, `runners.guardian`) and are failed as GitHub fails a job
whose runner shut down, never run again behind the user's back — re-running is the user's
choice (`ci.reruns`), and never overlaps the dead attempt (those a cancel had told to stop
are cancelled instead); runs an older server left queued or in progress without units (from
before per-job dispatch) are planned from scratch; pending jobs and runs get their
concurrency groups' verdict again. `supervise` runs for the server's lifetime: a job whose
runner stopped beating for the heartbeat timeout is failed with a reason that names the
runner, and the run goes on as after any failed job (its dependants skip unless their `if`
says otherwise); jobs waiting for their environment whose wait timer ran out are queued
(`ci.gates`); a cancelled job whose runner did not stop within the cancel timeout is ended
(`ci.cancels`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from conveyor.ci.cancels import Cancels
from conveyor.ci.deps import Deps
from conveyor.ci.dispatch import Dispatcher
from conveyor.ci.endings import Endings
from conveyor.ci.executor import RETRY_DELAY_MAX
from conveyor.ci.gates import Gates
from conveyor.ci.groups import Groups
from conveyor.ci.ledger import Ledger
from conveyor.ci.model import ACTIVE, Conclusion, Status, Unit
from conveyor.ci.runnerscope import LOCAL_PREFIX

log = logging.getLogger(__name__)

RUNNER_SHUTDOWN = (  # GitHub's words for a job whose runner stopped while it ran
    "The runner has received a shutdown signal. This can happen when the runner service is "
    "stopped, or a manually started runner is canceled."
)
LOST_COMMUNICATION = (  # … and for a runner that fell silent
    "The self-hosted runner: {runner} lost communication with the server. Verify the machine "
    "is running and has a healthy network connection. Anything in your workflow that "
    "terminates the runner process, starves it for CPU/Memory, or blocks its network access "
    "can cause this error."
)


def shutdown_reason(runner: str) -> str:
    return (
        f"{RUNNER_SHUTDOWN} The server restarted while runner '{runner}' ran this job, and the "
        "job's processes ended with it; re-run the job to run it again."
    )


def lost_reason(runner: str, timeout: float) -> str:
    return (
        f"{LOST_COMMUNICATION.format(runner=runner)} (no heartbeat for {timeout:g} s; the job "
        "was failed; re-run it to run it again.)"
    )


class Recovery:
    """`recover` and `supervise` (see the module docstring)."""

    def __init__(
        self,
        deps: Deps,
        ledger: Ledger,
        *,
        dispatcher: Dispatcher,
        endings: Endings,
        groups: Groups,
        gates: Gates,
        cancels: Cancels,
    ) -> None:
        self.deps = deps
        self.store = deps.store
        self.ledger = ledger
        self.dispatcher = dispatcher
        self.endings = endings
        self.groups = groups
        self.gates = gates
        self.cancels = cancels

    def recover(self) -> None:
        """After a restart: fail the jobs the local pool had (their runner died with us).

        Jobs held by remote runners keep going; `supervise` gives them a fresh heartbeat
        deadline once the server accepts connections again. A run an older server left
        queued or in progress without units (from before per-job dispatch) starts over.
        """
        for unit in self.ledger.units(status=(Status.IN_PROGRESS,)):
            if unit.runner.startswith(LOCAL_PREFIX):
                self._local_job_died(unit)
        for run in self.ledger.runs(status=ACTIVE, limit=10000):
            if not self.store.units(run_id=run.id):
                self.store.update_run(run.id, status=Status.QUEUED, runner="")
            self.dispatcher.advance(run.id)
        for unit in self.ledger.units(status=(Status.PENDING,)):
            if unit.concurrency_group:
                repo = self.ledger.run(unit.run_id).repo
                self.groups.promote_units(repo, unit.concurrency_group)
        pending = self.ledger.runs(status=(Status.PENDING,), limit=10000)
        for run in sorted(pending, key=lambda r: r.id):
            self.groups.promote_run(run.id)
        self.deps.wake.set()

    def _local_job_died(self, unit: Unit) -> None:
        if self.cancels.stopping(unit):  # its run was being cancelled: it stays cancelled
            self.endings.finish_unit(unit, Conclusion.CANCELLED, reason="server restarted")
            return
        reason = shutdown_reason(unit.runner)
        log.warning("run %d: job %s: %s", unit.run_id, unit.name, reason)
        self.endings.finish_unit(unit, Conclusion.FAILURE, reason=reason)

    async def supervise(
        self,
        stop: asyncio.Event,
        *,
        every: float = 0.5,
        serving: Callable[[], bool] = lambda: True,
    ) -> None:
        """Fail jobs whose runner stopped sending heartbeats (the runner vanished); the run
        then goes on as after any failed job (dependants skip unless `if: always()` …).

        `serve` passes `serving` (uvicorn's started flag): runners cannot reach a server
        that is still starting, so the clock of every remote job starts again when it
        can, plus the longest back-off between a runner's attempts (RETRY_DELAY_MAX).
        """
        while not serving() and not stop.is_set():
            await asyncio.sleep(0.05)
        grace = self.deps.clock() + RETRY_DELAY_MAX
        for unit in self.ledger.units(status=(Status.IN_PROGRESS,)):
            if not unit.runner.startswith(LOCAL_PREFIX):
                self.store.update_unit(unit.id, heartbeat=max(unit.heartbeat, grace))
        while not stop.is_set():
            self._fail_silent_jobs()
            self.gates.release_waiting()  # wait timers that ran out
            self.cancels.enforce_cancel_timeout()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)

    def _fail_silent_jobs(self) -> None:
        timeout = self.deps.config.heartbeat_timeout
        limit = self.deps.clock() - timeout
        for unit in self.ledger.units(status=(Status.IN_PROGRESS,)):
            if unit.heartbeat < limit:
                reason = lost_reason(unit.runner, timeout)
                log.warning("run %d: job %s: %s", unit.run_id, unit.name, reason)
                self.endings.finish_unit(unit, Conclusion.FAILURE, reason=reason)
