"""Recovery after a restart and the heartbeat clock of remote runners.

A mixin of `CIService`. `recover` runs once when the server starts (before it serves):
jobs the local pool held died with the process (their step processes with them: issue 18
#2, `runners.guardian`) and are failed as GitHub fails a job whose runner shut down, never
run again behind the user's back — re-running is the user's choice (`ci.reruns`), and
never overlaps the dead attempt (those a cancel had told to stop are cancelled instead);
runs an older server
left queued or in progress without units (from before per-job dispatch) are planned from
scratch; pending jobs and runs get their concurrency groups' verdict again. `supervise`
runs for the server's lifetime: a job whose runner stopped beating for the heartbeat
timeout is failed with a reason that names the runner, and the run goes on as after any
failed job (its dependants skip unless their `if` says otherwise); jobs waiting for their
environment whose wait timer ran out are queued (`ci.gates`); a cancelled job whose runner
did not stop within the cancel timeout is ended (`ci.cancels`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from conveyor.ci.executor import RETRY_DELAY_MAX
from conveyor.ci.parts import ServiceParts
from conveyor.ci.runnerscope import LOCAL_PREFIX

if TYPE_CHECKING:
    from conveyor.ci.service import ServiceConfig

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


class Recovery(ServiceParts):
    """`recover` and `supervise` of `CIService`."""

    if TYPE_CHECKING:  # provided by CIService and its mixins
        config: ServiceConfig

        def _promote(self, run_id: int) -> None: ...

        def _promote_units(self, repo: str, group: str) -> None: ...

        def release_waiting(self, run_id: int | None = None) -> None: ...

        def enforce_cancel_timeout(self) -> None: ...

        def stopping(self, unit: Any) -> bool: ...

        def _finish_unit(
            self,
            unit: Any,
            conclusion: str,
            *,
            outputs: Any = None,
            reason: str = "",
            advance: bool = True,
        ) -> bool: ...

    def recover(self) -> None:
        """After a restart: fail the jobs the local pool had (their runner died with us).

        Jobs held by remote runners keep going; `supervise` gives them a fresh heartbeat
        deadline once the server accepts connections again. A run an older server left
        queued or in progress without units (from before per-job dispatch) starts over.
        """
        for unit in self.store.units(status=("in_progress",)):
            if unit["runner"].startswith(LOCAL_PREFIX):
                if self.stopping(unit):  # its run was being cancelled: it stays cancelled
                    self._finish_unit(unit, "cancelled", reason="server restarted")
                    continue
                reason = shutdown_reason(str(unit["runner"]))
                log.warning("run %d: job %s: %s", unit["run_id"], unit["name"], reason)
                self._finish_unit(unit, "failure", reason=reason)
        for run in self.store.runs(status=("queued", "waiting", "in_progress"), limit=10000):
            if not self.store.units(run_id=run["id"]):
                self.store.update_run(run["id"], status="queued", runner="")
            self._advance(run["id"])
        for unit in self.store.units(status=("pending",)):
            if unit["concurrency_group"]:
                self._promote_units(
                    self._run(int(unit["run_id"]))["repo"], unit["concurrency_group"]
                )
        for run in sorted(self.store.runs(status=("pending",), limit=10000), key=lambda r: r["id"]):
            self._promote(run["id"])
        self.wake.set()

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
        grace = time.time() + RETRY_DELAY_MAX
        for unit in self.store.units(status=("in_progress",)):
            if not unit["runner"].startswith(LOCAL_PREFIX):
                self.store.update_unit(
                    int(unit["id"]), heartbeat=max(unit["heartbeat"] or 0, grace)
                )
        while not stop.is_set():
            limit = time.time() - self.config.heartbeat_timeout
            for unit in self.store.units(status=("in_progress",)):
                if unit["heartbeat"] < limit:
                    reason = lost_reason(str(unit["runner"]), self.config.heartbeat_timeout)
                    log.warning("run %d: job %s: %s", unit["run_id"], unit["name"], reason)
                    self._finish_unit(unit, "failure", reason=reason)
            self.release_waiting()  # wait timers that ran out
            self.enforce_cancel_timeout()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
