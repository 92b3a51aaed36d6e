"""Re-runs: a new attempt of a completed run, with all its jobs or only the failed ones.

A mixin of `CIService`, called by the API (`POST /runs/{id}/rerun`). "Re-run failed jobs"
picks the failed and cancelled jobs and every job after them (GitHub's rule); the other
jobs are kept as concluded units with the results and outputs of the latest attempt that
ran them, and the run's artifacts are copied, so the re-run jobs read `needs` and download
artifacts as they did the first time. The attempts chain through `rerun_of`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from conveyor.ci.errors import Conflict
from conveyor.ci.parts import ServiceParts

if TYPE_CHECKING:
    from conveyor.ci.service import ServiceConfig
    from conveyor.workflow.model import Workflow


class Reruns(ServiceParts):
    """`rerun` of `CIService`."""

    if TYPE_CHECKING:  # provided by CIService and its mixins
        config: ServiceConfig

        def _enqueue(self, run_id: int) -> None: ...

        def _workflow(self, run: Mapping[str, Any]) -> Workflow: ...

    def rerun(self, run_id: int, *, failed_only: bool = False) -> int:
        """A new attempt of a completed run: all jobs, or the failed ones and their dependants."""
        run = self._run(run_id)
        if run["status"] != "completed":
            raise Conflict(f"run {run_id} is still {run['status']}")
        if run["reason"] == "invalid workflow file":
            raise Conflict(f"run {run_id} has an invalid workflow file; push a fix instead")
        only = self._failed_and_dependants(run) if failed_only else None
        keep = (
            "repo",
            "clone_url",
            "workflow_path",
            "workflow_name",
            "event",
            "ref",
            "sha",
            "payload",
            "labels",
            "concurrency_group",
            "cancel_in_progress",
            "run_number",
        )
        values = {k: run[k] for k in keep}
        values.update(
            status="pending",
            conclusion="",
            reason="",
            created=time.time(),
            attempt=run["attempt"] + 1,
            rerun_of=run_id,
            only_jobs=only,
            annotations=[],
        )
        new_id = self.store.add_run(values)
        if only is not None:
            self._keep_jobs(run_id, new_id, only)
        self._status(new_id, "pending")
        self._enqueue(new_id)
        return new_id

    def _keep_jobs(self, old_id: int, new_id: int, only: list[str]) -> None:
        """A re-run of failed jobs keeps the other jobs' results, outputs and artifacts
        (GitHub's attempts share them): concluded copies of their units, from the latest
        attempt that ran each (a run from before per-job units: from its job rows)."""
        kept: set[str] = set()
        previous: int | None = old_id
        while previous is not None:
            units = self.store.units(run_id=previous)
            rows = units or [
                {**j, "reason": "", "finished": j["updated"]} for j in self.store.jobs(previous)
            ]
            for row in rows:
                job_id = str(row["job_id"])
                if job_id and job_id not in only and row["status"] == "completed":
                    self.store.add_unit(
                        {
                            "run_id": new_id,
                            "job_id": job_id,
                            "name": row["name"],
                            "status": "completed",
                            "conclusion": row["conclusion"] or "success",
                            "outputs": row["outputs"],
                            "finished": row["finished"],
                        }
                    )
                    kept.add(job_id)
            earlier = self.store.run(previous)
            previous = earlier["rerun_of"] if earlier and earlier["only_jobs"] is not None else None
            if previous is not None:
                only = [*only, *kept]  # an older attempt fills in only what is still missing
        old = self.config.data_dir / "artifacts" / str(old_id)
        if old.is_dir():
            shutil.copytree(old, self.config.data_dir / "artifacts" / str(new_id))

    def _failed_and_dependants(self, run: Mapping[str, Any]) -> list[str]:
        """GitHub's "re-run failed jobs": failed/cancelled jobs and every job after them."""
        from conveyor.workflow.plan.graph import Graph

        failed = {
            j["job_id"]
            for j in [*self.store.jobs(run["id"]), *self.store.units(run_id=run["id"])]
            if j["conclusion"] in ("failure", "cancelled") and j["job_id"]
        }
        if not failed:
            raise Conflict(f"run {run['id']} has no failed jobs")
        graph = Graph.of(self._workflow(run).jobs)
        pending, chosen = list(failed), set(failed)
        while pending:
            for dependant in graph.dependents(pending.pop()):
                if dependant not in chosen:
                    chosen.add(dependant)
                    pending.append(dependant)
        return sorted(chosen)
