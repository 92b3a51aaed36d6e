"""What runners call: poll for a unit (one job of a run), stream logs and job states, beat,
wait for an environment's approval, record deployments, up- and download artifacts,
complete.

`RunnerProtocol` is built by `ci.wiring`; `CIService` passes runners' calls on. The same calls
serve the local pool (in-process, `ci.pool`) and remote agents (through the server's
`/api/v1/runner/...` routes). A runner holds at most one unit at a time, so the calls name
the run and the runner; the unit is the one of that run the runner holds in progress. Every
call of a runner on a unit it no longer holds (the run or the job was cancelled, failed by
the heartbeat timeout, or re-queued) answers "cancel", so a runner that comes back after a
network split stops instead of writing into someone else's job. Who the runner is comes
from its credential (issue 12: the server's routes resolve it; the local pool's names are
the server's own, `ci.runnerscope`), and `poll` hands it only jobs of repositories in its
scope whose labels it has. `environment_gate` releases an environment's secrets only to the
unit that deploys to it, after its gate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from conveyor.ci import tracespans
from conveyor.ci.artifactstore import ArtifactStore
from conveyor.ci.cancels import Cancels
from conveyor.ci.deps import Deps
from conveyor.ci.endings import Endings
from conveyor.ci.events import from_fork
from conveyor.ci.kubepool_job import needs_containers
from conveyor.ci.ledger import Ledger, concluded_jobs
from conveyor.ci.model import BeatAnswer, CommitState, Conclusion, GateState, Status, Unit
from conveyor.ci.runnerscope import ALL, covers
from conveyor.ci.runworkflows import RunWorkflows
from conveyor.ci.settings import Settings
from conveyor.ci.statuses import CommitStatuses
from conveyor.ci.triggers import labels_match

log = logging.getLogger(__name__)

_JOB_FIELDS = ("status", "conclusion", "job_id", "steps", "annotations", "outputs", "summary")


class RunnerProtocol:
    """What runners call (see the module docstring)."""

    def __init__(
        self,
        deps: Deps,
        ledger: Ledger,
        *,
        workflows: RunWorkflows,
        statuses: CommitStatuses,
        settings: Settings,
        cancels: Cancels,
        endings: Endings,
        artifacts: ArtifactStore,
    ) -> None:
        self.deps = deps
        self.store = deps.store
        self.ledger = ledger
        self.workflows = workflows
        self.statuses = statuses
        self.settings = settings  # secrets, environments
        self.cancels = cancels  # whether a running job must stop
        self.endings = endings  # a completed job
        self.artifacts = artifacts

    async def poll(
        self,
        runner: str,
        *,
        labels: Sequence[str],
        kind: str = "remote",
        ephemeral: bool = False,
        timeout: float = 20.0,
        scope: str = ALL,
        only_unit: int | None = None,
        containers: bool = True,
    ) -> dict[str, Any] | None:
        """Wait up to `timeout` s for a queued unit (one job) of a repository in `scope`
        whose labels this runner has; claim it, oldest first. `only_unit`: that unit or
        nothing (a Kubernetes runner pod made for one job's containers, `ci.kubepool`);
        not `containers`: no job with services or a job container (a warm runner pod)."""
        deadline = time.monotonic() + timeout
        wake = self.deps.wake
        while True:
            self.store.access.see_runner(runner, labels=labels, kind=kind, ephemeral=ephemeral)
            for unit in self.ledger.units(status=(Status.QUEUED,)):
                if (
                    only_unit in (None, unit.id)
                    and labels_match(labels, unit.labels)
                    and covers(scope, self.ledger.run(unit.run_id).repo)
                    and (containers or not self._needs_containers(unit))
                    and self.store.claim_unit(unit.id, runner=runner, now=self.deps.clock())
                ):
                    return self._claimed(unit, runner)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=min(left, 1.0))

    def _needs_containers(self, unit: Unit) -> bool:
        workflow = self.workflows.of(self.ledger.run(unit.run_id))
        job = next((j for j in workflow.jobs if j.id == unit.job_id), None)
        return job is not None and needs_containers(job)

    def _claimed(self, unit: Unit, runner: str) -> dict[str, Any]:
        run_id = unit.run_id
        run = self.ledger.run(run_id)
        held = [r for r in run.runner.split(",") if r]
        values: dict[str, Any] = {"runner": ",".join(dict.fromkeys([*held, runner]))}
        if run.started is None:
            values["started"] = self.deps.clock()
        self.store.update_run(run_id, **values)
        if run.status != Status.IN_PROGRESS:
            self.store.update_run(run_id, status=Status.IN_PROGRESS)
            self.statuses.run(run, Status.IN_PROGRESS)
        log.info("run %d: job %s assigned to runner %s", run_id, unit.name, runner)
        return self.assignment(run_id, unit)

    def assignment(self, run_id: int, unit: Unit) -> dict[str, Any]:
        """What a runner needs for one unit: where the code is, the event, org and repo
        secrets/vars, the job (and matrix legs) to run, the concluded jobs' results and
        outputs, and the names of the artifacts uploaded so far."""
        run = self.ledger.run(run_id)
        fork = from_fork(run.event, run.payload)
        secrets = (
            {}  # a fork's pull request runs the fork author's code: no secrets (issue 12 §7)
            if fork
            else {
                **self.settings.decrypt_scope(f"org:{run.owner}"),
                **self.settings.decrypt_scope(f"repo:{run.repo}"),
            }
        )
        matrix = unit.matrix_filter
        return {
            "run_id": run_id,
            "unit_id": unit.id,
            "attempt": run.attempt,
            "run_number": run.run_number,
            "repo": run.repo,
            "clone_url": run.clone_url,
            "sha": run.sha,
            "ref": run.ref,
            "event": run.event,
            "payload": dict(run.payload),
            "inputs": run.payload.get("inputs") or {},
            "workflow_path": run.workflow_path,
            "job_id": unit.job_id,
            "matrix_filter": None if matrix is None else [list(p) for p in matrix],
            "only_jobs": [unit.job_id],
            "prior_jobs": self._prior_jobs(run_id, unit.job_id),
            "artifacts": [a["name"] for a in self.artifacts.listing(run_id)],
            "disk_limit": self.deps.config.job_disk_limit,  # bytes its work directory may use
            "secrets": secrets,
            "vars": self.workflows.variables(run),
            # the run is being cancelled: the engine evaluates `if` with `cancelled()` true
            "cancelled": self.ledger.cancel_request(run_id) is not None,
            **tracespans.assignment(run),  # the run's span, when tracing is on (issue 17)
        }

    def _prior_jobs(self, run_id: int, job_id: str) -> dict[str, Any]:
        """Result and outputs of every concluded job of the run but `job_id` (the engine
        reads them as `needs` and for the status functions over ancestors)."""
        done = concluded_jobs(self.ledger.units(run_id=run_id))
        return {k: [str(d.result), dict(d.outputs)] for k, d in done.items() if k != job_id}

    def _owned(self, run_id: int, runner: str) -> Unit | None:
        """The unit of run `run_id` that `runner` holds in progress, or None."""
        for unit in self.ledger.units(run_id=run_id, status=(Status.IN_PROGRESS,)):
            if unit.runner == runner:
                return unit
        return None

    def _beat(self, unit: Unit) -> None:
        self.store.update_unit(unit.id, heartbeat=self.deps.clock())

    def beat(self, run_id: int, runner: str) -> bool:
        """A heartbeat; True when the runner must stop (`beat_answer` says how)."""
        return bool(self.beat_answer(run_id, runner))

    def beat_answer(self, run_id: int, runner: str) -> BeatAnswer:
        """A heartbeat: "" (go on); "cancel" when the run is being cancelled and the job's
        `if` fails then (`ci.cancels`: the unit stays the runner's while its engine runs the
        job's `always()` steps and reports); "stop" when it is no longer the runner's unit
        (force-cancelled, failed by the heartbeat timeout, re-queued …)."""
        unit = self._owned(run_id, runner)
        if unit is None:
            return BeatAnswer.STOP
        self._beat(unit)
        return BeatAnswer.CANCEL if self.cancels.stopping(unit) else BeatAnswer.GO_ON

    def add_logs(self, run_id: int, runner: str, lines: Sequence[tuple[str, str]]) -> bool:
        unit = self._owned(run_id, runner)
        if unit is None:
            return True
        masked = [(job, self.deps.masker.mask(text)) for job, text in lines]
        self.store.add_logs(run_id, masked)
        self._beat(unit)
        return False

    def set_job(self, run_id: int, runner: str, name: str, fields: Mapping[str, Any]) -> bool:
        unit = self._owned(run_id, runner)
        if unit is None:
            return True
        values = {k: fields[k] for k in _JOB_FIELDS if k in fields}
        if "summary" in values:
            values["summary"] = self.deps.masker.mask(str(values["summary"]))
        values.setdefault("job_id", unit.job_id)
        self.store.upsert_job(run_id, name, **values)
        if name not in unit.job_names:
            self.store.update_unit(unit.id, job_names=[*unit.job_names, name])
        return False

    def complete(self, run_id: int, runner: str, result: Mapping[str, Any]) -> None:
        """The runner finished its unit: `result["job"]` carries the job's result (as its
        dependants see it) and outputs; without it the run-level `result` counts."""
        unit = self._owned(run_id, runner)
        if unit is None:
            return
        job = result.get("job") or {}
        word = str(job.get("result") or result.get("result") or Conclusion.FAILURE)
        verdict = Conclusion(word) if word in set(Conclusion) else Conclusion.FAILURE
        outputs = {str(k): str(v) for k, v in (job.get("outputs") or {}).items()}
        reason = str(result.get("error") or "")
        stop = self.ledger.stop_request(unit.id)  # cancelled alone: say why
        if not reason and stop is not None and verdict == Conclusion.CANCELLED:
            reason = stop.reason
        tracespans.job_reported(self.ledger, run_id, result)
        self.endings.finish_unit(unit, verdict, outputs=outputs, reason=reason)
        if self.store.access.drop_runner(
            runner, ephemeral_only=True
        ):  # one job, then gone (GitHub)
            log.info("runner %s: ephemeral, done with its job: removed from the list", runner)

    async def environment_gate(
        self, run_id: int, runner: str, job: str, environment: str, *, wait: float = 20.0
    ) -> dict[str, Any]:
        """Long-poll the environment's protection rules for a job: waiting, approved or
        rejected. A unit the server gated for this environment (`ci.gates`) passed them
        before it was queued: it gets the environment's secrets and variables at once. A
        unit planned with another environment or none is refused any other: only a
        reusable-workflow call (no labels of its own: its callee's jobs name their
        environments on the runner) asks the environment's rules here."""
        deadline = time.monotonic() + wait
        owned = self._owned(run_id, runner)
        if owned is not None and owned.environment == environment:
            self.store.upsert_job(run_id, job, status=Status.IN_PROGRESS)
            return self.settings.release_environment(run_id, environment)
        if owned is not None and (owned.environment or owned.labels):
            # the server planned this unit's environment (`ci.jobplan`): no other one
            log.warning(
                "run %d: runner %s asked for %s, which its job does not deploy to",
                run_id,
                runner,
                environment,
            )
            return {
                "state": GateState.REJECTED,
                "message": f"job {job} does not deploy to {environment}: no secrets released",
            }
        if owned is not None:  # the environment's commit status: pending until the job ends
            self.statuses.deployment(
                self.ledger.run(run_id),
                environment,
                state=CommitState.PENDING,
                description=f"{job} to {environment}: waiting",
            )
        return await self._wait_for_rules(run_id, runner, job, environment, deadline)

    async def _wait_for_rules(
        self, run_id: int, runner: str, job: str, environment: str, deadline: float
    ) -> dict[str, Any]:
        """Ask the environment's rules until they decide or `deadline` passes."""
        while True:
            unit = self._owned(run_id, runner)
            if unit is None:
                return {"state": GateState.REJECTED, "message": "the run is no longer running"}
            self._beat(unit)
            answer = self.settings.check_environment(run_id, environment)
            if answer["state"] != GateState.WAITING or time.monotonic() >= deadline:
                waiting = answer["state"] == GateState.WAITING
                status = Status.WAITING if waiting else Status.IN_PROGRESS
                self.store.upsert_job(run_id, job, status=status)
                return answer
            await asyncio.sleep(0.2)

    def save_artifact(self, run_id: int, runner: str, name: str, data: bytes) -> None:
        """Keep an artifact archive under `<data>/artifacts/<run id>/<name>.tar.gz`."""
        if self._owned(run_id, runner) is not None:
            self.artifacts.save(run_id, name, data)

    def read_artifact(self, run_id: int, runner: str, name: str) -> bytes | None:
        """An artifact archive of the run, for a runner holding one of its units (a job on
        runner B downloads what a job on runner A uploaded); None when not its run."""
        if self._owned(run_id, runner) is None:
            return None
        return self.artifacts.read(run_id, name)

    def record_deployment(
        self, run_id: int, runner: str, *, job: str, environment: str, url: str, result: str
    ) -> None:
        if self._owned(run_id, runner) is None:
            return
        run = self.ledger.run(run_id)
        state = CommitState.SUCCESS if result == Conclusion.SUCCESS else CommitState.FAILURE
        self.store.config.add_deployment(
            {
                "repo": run.repo,
                "environment": environment,
                "run_id": run_id,
                "ref": run.ref,
                "sha": run.sha,
                "url": url,
                "state": state,
            }
        )
        self.statuses.deployment(
            run,
            environment,
            state=state,
            description=f"{job} to {environment}: {result}",
            url=url,
        )
