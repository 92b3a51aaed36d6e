"""The local runner pool: between `min` and `max` runners inside the server process.

Started by the server (`conveyor.server.main`) with `LocalPool(service, ...).run(stop)`.
Each runner is an asyncio task that polls the service for a queued job (a unit of a run)
matching the local labels and executes it with `ci.executor` (the same code remote agents
run), reporting in-process through `LocalReporter`. The pool scales with the queue: it
starts a runner per queued job it can take, up to `max`, and idle runners above `min`
retire. Each runner's name is its identity (issue 12): `local-<pool id>-<n>`, with a pool id
drawn at random per process, so two servers on one database never share a runner name,
and no remote runner can take it (`ci.runnerscope.LOCAL_PREFIX` is refused at registration;
remote runners are named by their credential, never by what they send).

Where a job runs is `LocalIsolation` (`ci.jobuser`, issue 12 #1): by default each job runs in
its own process as the unprivileged job user (`ci.jobchild`), in a work directory outside
the data directory that the server clones the repository into and then hands over; with
`LocalMode.HOST` (an explicit opt-in) it runs inside the server process as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conveyor.ci.clone import clone
from conveyor.ci.executor import execute
from conveyor.ci.jobchild import run_in_child
from conveyor.ci.jobuser import (
    JobUser,
    LocalIsolation,
    LocalMode,
    conveyor_shim,
    default_work_root,
    ensure_user,
    hand_over,
    interpreter,
    prepare_work_root,
)
from conveyor.ci.model import Conclusion, GateState, Status
from conveyor.ci.runnerscope import LOCAL_PREFIX
from conveyor.ci.service import CIService
from conveyor.ci.triggers import labels_match
from conveyor.ci.workspaces import remove, sweep
from conveyor.core.errors import ConveyorError

log = logging.getLogger(__name__)


class LocalReporter:
    """`executor.Reporter` straight into the service (no HTTP)."""

    def __init__(self, service: CIService, run_id: int, runner: str) -> None:
        self.service, self.run_id, self.runner = service, run_id, runner

    async def logs(self, lines: Sequence[tuple[str, str]]) -> None:
        self.service.add_logs(self.run_id, self.runner, lines)

    async def job(self, name: str, fields: Mapping[str, Any]) -> None:
        self.service.set_job(self.run_id, self.runner, name, fields)

    async def heartbeat(self) -> str:
        return self.service.beat_answer(self.run_id, self.runner)

    async def environment(self, job_name: str, environment: str) -> Mapping[str, Any]:
        while True:
            answer = await self.service.environment_gate(
                self.run_id, self.runner, job_name, environment, wait=5.0
            )
            if answer["state"] != GateState.WAITING:
                return answer

    async def deployment(self, job_name: str, environment: str, url: str, result: str) -> None:
        self.service.record_deployment(
            self.run_id, self.runner, job=job_name, environment=environment, url=url, result=result
        )

    async def artifact(self, name: str, data: bytes) -> None:
        self.service.save_artifact(self.run_id, self.runner, name, data)

    async def fetch_artifact(self, name: str) -> bytes | None:
        return self.service.read_artifact(self.run_id, self.runner, name)

    async def complete(self, result: Mapping[str, Any]) -> None:
        self.service.complete(self.run_id, self.runner, result)


class LocalPool:
    """Local runners that scale with the queue (see the module docstring)."""

    def __init__(
        self,
        service: CIService,
        *,
        minimum: int = 1,
        maximum: int = 2,
        idle: float = 30.0,
        isolation: LocalIsolation | None = None,
    ) -> None:
        self.service = service
        self.isolation = isolation or LocalIsolation()
        data = service.config.data_dir
        self.work_root = self.isolation.work_root or default_work_root(data)
        self.user: JobUser | None = None
        self.python: list[str] = []
        self.minimum, self.maximum, self.idle = minimum, max(maximum, 0), idle
        self.labels = service.config.local_labels
        self.workers: set[asyncio.Task[None]] = set()
        self._names = itertools.count(1)
        self.pool_id = secrets.token_hex(3)
        self.busy = 0

    def wanted(self) -> int:
        """Runners wanted now: busy ones plus queued jobs they could take, within min..max."""
        queued = [
            u
            for u in self.service.parts.ledger.units(status=(Status.QUEUED,))
            if labels_match(self.labels, u.labels)
        ]
        return max(self.minimum, min(self.maximum, self.busy + len(queued)))

    def prepare(self) -> None:
        """Create the work root and (in user mode) the job user; raises `CIError` saying
        what to do when jobs cannot be isolated (a server that is not root)."""
        if self.maximum == 0:
            return
        prepare_work_root(self.work_root)
        # jobs of a server that was killed: failed by `recover`, their processes ended with
        # it (`runners.guardian`), their directories still here (issue 18 #3)
        sweep(self.work_root, keep=("bin", "cache"))
        if self.isolation.mode == LocalMode.USER:
            self.user = ensure_user(self.isolation.user)
            self.python = interpreter(sys.executable, sysconfig.get_paths()["purelib"])
            conveyor_shim(self.work_root / "bin", self.python)
            cache = self.work_root / "cache"  # the Actions cache of this server's jobs
            cache.mkdir(exist_ok=True)
            hand_over(cache, self.user)
            log.info("local jobs run as user %s in %s", self.user.name, self.work_root)
        else:
            log.warning(
                "local jobs run as the server's own user (--local-runner host): a workflow "
                "can read the server's key, tokens and database"
            )

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                self.workers = {w for w in self.workers if not w.done()}
                while len(self.workers) < self.wanted():
                    self.workers.add(asyncio.create_task(self._worker(stop)))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.3)
        finally:
            for worker in self.workers:
                worker.cancel()
            await asyncio.gather(*self.workers, return_exceptions=True)

    async def _worker(self, stop: asyncio.Event) -> None:
        name = f"{LOCAL_PREFIX}{self.pool_id}-{next(self._names)}"
        idle_for = 0.0
        while not stop.is_set():
            assignment = await self.service.poll(name, labels=self.labels, kind="local", timeout=2)
            if assignment is None:
                idle_for += 2
                if idle_for >= self.idle and len(self.workers) > self.minimum:
                    return
                continue
            idle_for = 0.0
            self.busy += 1
            try:
                await self._execute(name, assignment)
            finally:
                self.busy -= 1

    async def _execute(self, name: str, assignment: Mapping[str, Any]) -> None:
        run_id = int(assignment["run_id"])
        work = self.work_root / f"{run_id}-{assignment['unit_id']}"
        remove(work)
        work.mkdir(mode=0o700, parents=True)
        reporter = LocalReporter(self.service, run_id, name)
        hosted = self.service.repo_path(str(assignment["repo"]))
        if hosted.exists():  # in-process: clone the bare repository directly, no HTTP
            assignment = {**assignment, "clone_url": str(hosted)}
        try:
            if self.user is None:
                await execute(assignment, reporter, work_dir=work, heartbeat=0.5)
            else:
                await self._in_child(assignment, reporter, work, self.user)
        except Exception as exc:  # a bug must fail the run, not kill the pool
            log.exception("run %d: runner %s crashed", run_id, name)
            self.service.complete(
                run_id, name, {"result": Conclusion.FAILURE, "error": f"runner error: {exc}"}
            )
        finally:
            remove(work)  # logs and artifacts live on in the server (`ci.retention`)

    async def _in_child(
        self, assignment: Mapping[str, Any], reporter: LocalReporter, work: Path, user: JobUser
    ) -> None:
        """Clone as the server (the job user cannot read the hosted repositories), hand the
        work directory to the job user, run the job there in its own process."""
        source, sha = str(assignment["clone_url"]), str(assignment["sha"])
        try:
            await asyncio.to_thread(clone, source, sha, work / "repo")
        except ConveyorError as exc:
            await reporter.logs([("", f"Error: {exc}")])
            await reporter.complete(
                {"result": Conclusion.FAILURE, "error": str(exc), "workflows": []}
            )
            return
        await asyncio.to_thread(hand_over, work, user)
        await run_in_child(
            assignment,
            reporter,
            user=user,
            work_dir=work,
            python=self.python,
            bin_dir=self.work_root / "bin",
        )
