"""What runners call: poll for an assignment, stream logs and job states, beat, wait for an
environment's approval, record deployments, complete.

A mixin of `CIService` (kept apart so the service module stays about runs). The same calls
serve the local pool (in-process, `ci.pool`) and remote agents (through the server's
`/api/v1/runner/...` routes). Every call of a runner on a run it no longer owns (the run was
cancelled, failed by the heartbeat timeout, or re-queued) answers "cancel", so a runner
that comes back after a network split stops instead of writing into someone else's run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.ci.parts import ServiceParts
from conveyor.ci.triggers import labels_match

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


class RunnerAPI(ServiceParts):
    """Runner-facing methods of `CIService`."""

    if TYPE_CHECKING:  # provided by CIService

        def artifact_path(self, run_id: int, name: str) -> Path: ...

        def decrypt_scope(self, scope: str) -> dict[str, str]: ...

        def check_environment(self, run_id: int, environment: str) -> dict[str, Any]: ...

    async def poll(
        self,
        runner: str,
        *,
        labels: Sequence[str],
        kind: str = "remote",
        ephemeral: bool = False,
        timeout: float = 20.0,
    ) -> dict[str, Any] | None:
        """Wait up to `timeout` s for a queued run whose labels this runner has; claim it."""
        deadline = time.monotonic() + timeout
        while True:
            self.store.see_runner(runner, labels=labels, kind=kind, ephemeral=ephemeral)
            for run in reversed(self.store.runs(status=("queued",), limit=1000)):
                if labels_match(labels, run["labels"]) and self.store.claim_run(
                    run["id"], runner=runner, now=time.time()
                ):
                    self._status(run["id"], "in_progress")
                    log.info("run %d: assigned to runner %s", run["id"], runner)
                    return self.assignment(run["id"])
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=min(left, 1.0))

    def assignment(self, run_id: int) -> dict[str, Any]:
        """What a runner needs: where the code is, the event, org and repo secrets/vars."""
        run = self._run(run_id)
        owner = run["repo"].partition("/")[0]
        secrets = {
            **self.decrypt_scope(f"org:{owner}"),
            **self.decrypt_scope(f"repo:{run['repo']}"),
        }
        variables = {
            **self.store.variables(f"org:{owner}"),
            **self.store.variables(f"repo:{run['repo']}"),
        }
        return {
            "run_id": run_id,
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
            "only_jobs": run["only_jobs"],
            "prior_jobs": self._prior_jobs(run),
            "secrets": secrets,
            "vars": variables,
        }

    def _prior_jobs(self, run: Mapping[str, Any]) -> dict[str, Any]:
        """For a re-run of failed jobs: result and outputs of the jobs it keeps, from the
        latest earlier attempt that ran each (attempts chain through `rerun_of`)."""
        if run["only_jobs"] is None:
            return {}
        kept: dict[str, Any] = {}
        previous = run["rerun_of"]
        while previous is not None:
            for job in self.store.jobs(previous):
                job_id = job["job_id"]
                if job_id and job_id not in run["only_jobs"] and job_id not in kept:
                    kept[job_id] = [job["conclusion"] or "success", job["outputs"]]
            earlier = self.store.run(previous)
            previous = earlier["rerun_of"] if earlier and earlier["only_jobs"] is not None else None
        return kept

    def _owned(self, run_id: int, runner: str) -> dict[str, Any] | None:
        run = self.store.run(run_id)
        if run is None or run["status"] != "in_progress" or run["runner"] != runner:
            return None
        return run

    def beat(self, run_id: int, runner: str) -> bool:
        """A heartbeat; True when the runner must stop (cancelled or no longer its run)."""
        if self._owned(run_id, runner) is None:
            return True
        self.store.update_run(run_id, heartbeat=time.time())
        return False

    def add_logs(self, run_id: int, runner: str, lines: Sequence[tuple[str, str]]) -> bool:
        if self._owned(run_id, runner) is None:
            return True
        masked = [(job, self.masker.mask(text)) for job, text in lines]
        self.store.add_logs(run_id, masked)
        self.store.update_run(run_id, heartbeat=time.time())
        return False

    def set_job(self, run_id: int, runner: str, name: str, fields: Mapping[str, Any]) -> bool:
        if self._owned(run_id, runner) is None:
            return True
        allowed = ("status", "conclusion", "job_id", "steps", "annotations", "outputs", "summary")
        values = {k: fields[k] for k in allowed if k in fields}
        if "summary" in values:
            values["summary"] = self.masker.mask(str(values["summary"]))
        self.store.upsert_job(run_id, name, **values)
        return False

    def complete(self, run_id: int, runner: str, result: Mapping[str, Any]) -> None:
        if self._owned(run_id, runner) is None:
            return
        verdict = str(result.get("result") or "failure")
        reason = str(result.get("error") or "")
        self._conclude(
            run_id, verdict if verdict in ("success", "failure", "cancelled") else "failure", reason
        )
        run = self._run(run_id)
        if run["runner"]:
            self.store.see_runner(run["runner"], labels=(), kind="remote", ephemeral=False)

    async def environment_gate(
        self, run_id: int, runner: str, job: str, environment: str, *, wait: float = 20.0
    ) -> dict[str, Any]:
        """Long-poll the environment's protection rules for a job: waiting, approved or rejected."""
        deadline = time.monotonic() + wait
        run = self._owned(run_id, runner)
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
            self.store.update_run(run_id, heartbeat=time.time())
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

    def record_deployment(
        self, run_id: int, runner: str, *, job: str, environment: str, url: str, result: str
    ) -> None:
        run = self._owned(run_id, runner)
        if run is None:
            return
        state = "success" if result == "success" else "failure"
        self.store.add_deployment(
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
