"""Recovery after a restart and the heartbeat clock of remote runners.

A mixin of `CIService`. `recover` runs once when the server starts (before it serves):
jobs the local pool held died with the process and are queued again (those a cancel had
told to stop are cancelled instead); runs an older server
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


class Recovery(ServiceParts):
    """`recover` and `supervise` of `CIService`."""

    if TYPE_CHECKING:  # provided by CIService and its mixins
        config: ServiceConfig

        def _refresh_run_status(self, run_id: int) -> None: ...

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
        """After a restart: re-queue the jobs the local pool had (their runner died with us).

        Jobs held by remote runners keep going; `supervise` gives them a fresh heartbeat
        deadline once the server accepts connections again. A run an older server left
        queued or in progress without units (from before per-job dispatch) starts over.
        """
        for unit in self.store.units(status=("in_progress",)):
            if unit["runner"].startswith(LOCAL_PREFIX):
                run_id = int(unit["run_id"])
                if self.stopping(unit):  # its run was being cancelled: it is not run again
                    self._finish_unit(unit, "cancelled", reason="server restarted")
                    continue
                self.store.update_unit(
                    int(unit["id"]), status="queued", runner="", started=None, job_names=[]
                )
                self.store.add_logs(run_id, [("", "server restarted: run re-queued")])
                log.warning(
                    "run %d: job %s: its local runner died with the server; re-queued",
                    run_id,
                    unit["name"],
                )
                self._forget_runner(run_id, str(unit["runner"]))
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

    def _forget_runner(self, run_id: int, runner: str) -> None:
        run = self._run(run_id)
        held = [r for r in str(run["runner"]).split(",") if r and r != runner]
        self.store.update_run(run_id, runner=",".join(held))
        self._refresh_run_status(run_id)

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
                    reason = (
                        f"The runner '{unit['runner']}' stopped responding: no heartbeat for "
                        f"{self.config.heartbeat_timeout:g} s; the job was failed."
                    )
                    log.warning("run %d: job %s: %s", unit["run_id"], unit["name"], reason)
                    self._finish_unit(unit, "failure", reason=reason)
            self.release_waiting()  # wait timers that ran out
            self.enforce_cancel_timeout()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
