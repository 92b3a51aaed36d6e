"""What runners call: poll for a unit (one job of a run), stream logs and job states, beat,
wait for an environment's approval, record deployments, up- and download artifacts,
complete.

A mixin of `CIService` (kept apart so the service module stays about runs). The same calls
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.ci.events import from_fork
from conveyor.ci.parts import ServiceParts
from conveyor.ci.runnerscope import ALL, covers
from conveyor.ci.triggers import labels_match

if TYPE_CHECKING:
    from conveyor.ci.service import ServiceConfig

log = logging.getLogger(__name__)


class RunnerAPI(ServiceParts):
    """Runner-facing methods of `CIService`."""

    if TYPE_CHECKING:  # provided by CIService
        config: ServiceConfig

        def artifact_path(self, run_id: int, name: str) -> Path: ...

        def artifacts(self, run_id: int) -> list[dict[str, Any]]: ...

        def _finish_unit(
            self,
            unit: Mapping[str, Any],
            conclusion: str,
            *,
            outputs: Mapping[str, str] | None = None,
            reason: str = "",
            advance: bool = True,
        ) -> bool: ...

        def decrypt_scope(self, scope: str) -> dict[str, str]: ...

        def check_environment(self, run_id: int, environment: str) -> dict[str, Any]: ...

        def stopping(self, unit: Mapping[str, Any]) -> bool: ...

        def release_environment(self, run_id: int, environment: str) -> dict[str, Any]: ...

    async def poll(
        self,
        runner: str,
        *,
        labels: Sequence[str],
        kind: str = "remote",
        ephemeral: bool = False,
        timeout: float = 20.0,
        scope: str = ALL,
    ) -> dict[str, Any] | None:
        """Wait up to `timeout` s for a queued unit (one job) of a repository in `scope`
        whose labels this runner has; claim it, oldest first."""
        deadline = time.monotonic() + timeout
        while True:
            self.store.access.see_runner(runner, labels=labels, kind=kind, ephemeral=ephemeral)
            for unit in self.store.units(status=("queued",)):
                if (
                    labels_match(labels, unit["labels"])
                    and covers(scope, str(self._run(int(unit["run_id"]))["repo"]))
                    and self.store.claim_unit(int(unit["id"]), runner=runner, now=time.time())
                ):
                    return self._claimed(unit, runner)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=min(left, 1.0))

    def _claimed(self, unit: Mapping[str, Any], runner: str) -> dict[str, Any]:
        run_id = int(unit["run_id"])
        run = self._run(run_id)
        held = [r for r in str(run["runner"]).split(",") if r]
        values: dict[str, Any] = {"runner": ",".join(dict.fromkeys([*held, runner]))}
        if run["started"] is None:
            values["started"] = time.time()
        self.store.update_run(run_id, **values)
        if run["status"] != "in_progress":
            self.store.update_run(run_id, status="in_progress")
            self._status(run_id, "in_progress")
        log.info("run %d: job %s assigned to runner %s", run_id, unit["name"], runner)
        return self.assignment(run_id, unit)

    def assignment(self, run_id: int, unit: Mapping[str, Any]) -> dict[str, Any]:
        """What a runner needs for one unit: where the code is, the event, org and repo
        secrets/vars, the job (and matrix legs) to run, the concluded jobs' results and
        outputs, and the names of the artifacts uploaded so far."""
        run = self._run(run_id)
        owner = run["repo"].partition("/")[0]
        fork = from_fork(str(run["event"]), run["payload"])
        secrets = (
            {}  # a fork's pull request runs the fork author's code: no secrets (issue 12 §7)
            if fork
            else {
                **self.decrypt_scope(f"org:{owner}"),
                **self.decrypt_scope(f"repo:{run['repo']}"),
            }
        )
        variables = {
            **self.store.config.variables(f"org:{owner}"),
            **self.store.config.variables(f"repo:{run['repo']}"),
        }
        prior = self._prior_jobs(run_id, str(unit["job_id"]))
        return {
            "run_id": run_id,
            "unit_id": unit["id"],
            "attempt": run["attempt"],
            "run_number": run["run_number"],
            "repo": run["repo"],
            "clone_url": run["clone_url"],
            "sha": run["sha"],
            "ref": run["ref"],
            "event": run["event"],
            "payload": run["payload"],
            "inputs": (run["payload"] or {}).get("inputs") or {},
            "workflow_path": run["workflow_path"],
            "job_id": unit["job_id"],
            "matrix_filter": unit["matrix_filter"],
            "only_jobs": [unit["job_id"]],
            "prior_jobs": prior,
            "artifacts": [a["name"] for a in self.artifacts(run_id)],
            "disk_limit": self.config.job_disk_limit,  # bytes its work directory may use
            "secrets": secrets,
            "vars": variables,
            # the run is being cancelled: the engine evaluates `if` with `cancelled()` true
            "cancelled": self.store.cancel_request(run_id) is not None,
        }

    def _prior_jobs(self, run_id: int, job_id: str) -> dict[str, Any]:
        """Result and outputs of every concluded job of the run but `job_id` (the engine
        reads them as `needs` and for the status functions over ancestors)."""
        from conveyor.ci.dispatch import concluded_jobs

        done = concluded_jobs(self.store.units(run_id=run_id))
        return {k: [str(d.result), dict(d.outputs)] for k, d in done.items() if k != job_id}

    def _owned(self, run_id: int, runner: str) -> dict[str, Any] | None:
        """The unit of run `run_id` that `runner` holds in progress, or None."""
        for unit in self.store.units(run_id=run_id, status=("in_progress",)):
            if unit["runner"] == runner:
                return unit
        return None

    def beat(self, run_id: int, runner: str) -> bool:
        """A heartbeat; True when the runner must stop (`beat_answer` says how)."""
        return bool(self.beat_answer(run_id, runner))

    def beat_answer(self, run_id: int, runner: str) -> str:
        """A heartbeat: "" (go on); "cancel" when the run is being cancelled and the job's
        `if` fails then (`ci.cancels`: the unit stays the runner's while its engine runs the
        job's `always()` steps and reports); "stop" when it is no longer the runner's unit
        (force-cancelled, failed by the heartbeat timeout, re-queued …)."""
        unit = self._owned(run_id, runner)
        if unit is None:
            return "stop"
        self.store.update_unit(int(unit["id"]), heartbeat=time.time())
        return "cancel" if self.stopping(unit) else ""

    def add_logs(self, run_id: int, runner: str, lines: Sequence[tuple[str, str]]) -> bool:
        unit = self._owned(run_id, runner)
        if unit is None:
            return True
        masked = [(job, self.masker.mask(text)) for job, text in lines]
        self.store.add_logs(run_id, masked)
        self.store.update_unit(int(unit["id"]), heartbeat=time.time())
        return False

    def set_job(self, run_id: int, runner: str, name: str, fields: Mapping[str, Any]) -> bool:
        unit = self._owned(run_id, runner)
        if unit is None:
            return True
        allowed = ("status", "conclusion", "job_id", "steps", "annotations", "outputs", "summary")
        values = {k: fields[k] for k in allowed if k in fields}
        if "summary" in values:
            values["summary"] = self.masker.mask(str(values["summary"]))
        values.setdefault("job_id", unit["job_id"])
        self.store.upsert_job(run_id, name, **values)
        if name not in (unit["job_names"] or []):
            self.store.update_unit(int(unit["id"]), job_names=[*(unit["job_names"] or []), name])
        return False

    def complete(self, run_id: int, runner: str, result: Mapping[str, Any]) -> None:
        """The runner finished its unit: `result["job"]` carries the job's result (as its
        dependants see it) and outputs; without it the run-level `result` counts."""
        unit = self._owned(run_id, runner)
        if unit is None:
            return
        job = result.get("job") or {}
        verdict = str(job.get("result") or result.get("result") or "failure")
        if verdict not in ("success", "failure", "cancelled", "skipped"):
            verdict = "failure"
        outputs = {str(k): str(v) for k, v in (job.get("outputs") or {}).items()}
        reason = str(result.get("error") or "")
        stop = self.store.stop_request(int(unit["id"]))  # cancelled alone: say why
        if not reason and stop is not None and verdict == "cancelled":
            reason = str(stop["reason"])
        self._finish_unit(unit, verdict, outputs=outputs, reason=reason)
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
        run = self._run(run_id) if owned is not None else None
        if owned is not None and owned["environment"] == environment:
            self.store.upsert_job(run_id, job, status="in_progress")
            return self.release_environment(run_id, environment)
        if owned is not None and (owned["environment"] or owned["labels"]):
            # the server planned this unit's environment (`ci.jobplan`): no other one
            log.warning(
                "run %d: runner %s asked for %s, which its job does not deploy to",
                run_id,
                runner,
                environment,
            )
            return {
                "state": "rejected",
                "message": f"job {job} does not deploy to {environment}: no secrets released",
            }
        if run is not None:  # the environment's commit status: pending until the job ends
            self.store.set_status(
                run["repo"],
                run["sha"],
                f"deployment/{environment}",
                state="pending",
                description=f"{job} to {environment}: waiting",
                target_url="",
                environment=environment,
            )
        while True:
            if self._owned(run_id, runner) is None:
                return {"state": "rejected", "message": "the run is no longer running"}
            unit = self._owned(run_id, runner)
            if unit is not None:
                self.store.update_unit(int(unit["id"]), heartbeat=time.time())
            answer = self.check_environment(run_id, environment)
            if answer["state"] != "waiting" or time.monotonic() >= deadline:
                if answer["state"] == "waiting":
                    self.store.upsert_job(run_id, job, status="waiting")
                else:
                    self.store.upsert_job(run_id, job, status="in_progress")
                return answer
            await asyncio.sleep(0.2)

    def save_artifact(self, run_id: int, runner: str, name: str, data: bytes) -> None:
        """Keep an artifact archive under `<data>/artifacts/<run id>/<name>.tar.gz`."""
        if self._owned(run_id, runner) is None:
            return
        path = self.artifact_path(run_id, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def read_artifact(self, run_id: int, runner: str, name: str) -> bytes | None:
        """An artifact archive of the run, for a runner holding one of its units (a job on
        runner B downloads what a job on runner A uploaded); None when not its run."""
        if self._owned(run_id, runner) is None:
            return None
        path = self.artifact_path(run_id, name)
        return path.read_bytes() if path.is_file() else None

    def record_deployment(
        self, run_id: int, runner: str, *, job: str, environment: str, url: str, result: str
    ) -> None:
        if self._owned(run_id, runner) is None:
            return
        run = self._run(run_id)
        state = "success" if result == "success" else "failure"
        self.store.config.add_deployment(
            {
                "repo": run["repo"],
                "environment": environment,
                "run_id": run_id,
                "ref": run["ref"],
                "sha": run["sha"],
                "url": url,
                "state": state,
            }
        )
        self.store.set_status(
            run["repo"],
            run["sha"],
            f"deployment/{environment}",
            state=state,
            description=f"{job} to {environment}: {result}",
            target_url=url,
            environment=environment,
        )
