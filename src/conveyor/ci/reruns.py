"""Re-runs: a new attempt of a completed run, with all its jobs or only the failed ones.

`Reruns` is called by the API through `CIService` (`POST /runs/{id}/rerun`). "Re-run failed
jobs" picks the failed and cancelled jobs and every job after them (GitHub's rule); the
other jobs are kept as concluded units with the results and outputs of the latest attempt
that ran them, and the run's artifacts are copied, so the re-run jobs read `needs` and
download artifacts as they did the first time. The attempts chain through `rerun_of`; the
new attempt meets its concurrency group (`enqueue_run`, handed in: `ci.groups`) as a new run
does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from conveyor.ci.artifactstore import ArtifactStore
from conveyor.ci.deps import Deps
from conveyor.ci.errors import Conflict
from conveyor.ci.ledger import Ledger
from conveyor.ci.model import INVALID_WORKFLOW, Conclusion, Job, Run, Status, Unit
from conveyor.ci.runworkflows import RunWorkflows
from conveyor.ci.statuses import CommitStatuses
from conveyor.workflow.plan.graph import Graph

_KEPT = (  # what a new attempt takes over from the run it re-runs
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


class Reruns:
    """`rerun` (see the module docstring)."""

    def __init__(
        self,
        deps: Deps,
        ledger: Ledger,
        workflows: RunWorkflows,
        statuses: CommitStatuses,
        artifacts: ArtifactStore,
        *,
        enqueue_run: Callable[[int], None],
    ) -> None:
        self.deps = deps
        self.store = deps.store
        self.ledger = ledger
        self.workflows = workflows
        self.statuses = statuses
        self.artifacts = artifacts
        self.enqueue_run = enqueue_run  # `Groups.enqueue_run`

    def rerun(self, run_id: int, *, failed_only: bool = False) -> int:
        """A new attempt of a completed run: all jobs, or the failed ones and their dependants."""
        run = self.ledger.run(run_id)
        if run.status != Status.COMPLETED:
            raise Conflict(f"run {run_id} is still {run.status}")
        if run.reason == INVALID_WORKFLOW:
            raise Conflict(f"run {run_id} has an invalid workflow file; push a fix instead")
        only = self._failed_and_dependants(run) if failed_only else None
        values: dict[str, Any] = {k: getattr(run, k) for k in _KEPT}
        values.update(
            payload=dict(run.payload),
            labels=list(run.labels),
            cancel_in_progress=int(run.cancel_in_progress),
            status=Status.PENDING,
            conclusion="",
            reason="",
            created=self.deps.clock(),
            attempt=run.attempt + 1,
            rerun_of=run_id,
            only_jobs=only,
            annotations=[],
        )
        new_id = self.store.add_run(values)
        if only is not None:
            self._keep_jobs(run_id, new_id, only)
            self.artifacts.copy(run_id, new_id)
        self.statuses.run(self.ledger.run(new_id), Status.PENDING)
        self.enqueue_run(new_id)
        return new_id

    def _keep_jobs(self, old_id: int, new_id: int, only: list[str]) -> None:
        """A re-run of failed jobs keeps the other jobs' results, outputs and artifacts
        (GitHub's attempts share them): concluded copies of their units, from the latest
        attempt that ran each (a run from before per-job units: from its job rows)."""
        kept: set[str] = set()
        previous: int | None = old_id
        while previous is not None:
            units: Sequence[Unit | Job] = self.ledger.units(run_id=previous)
            for part in units or self.ledger.jobs(previous):
                if part.job_id and part.job_id not in only and part.status == Status.COMPLETED:
                    self.store.add_unit(_kept_unit(new_id, part))
                    kept.add(part.job_id)
            earlier = self.ledger.find_run(previous)
            previous = earlier.rerun_of if earlier and earlier.only_jobs is not None else None
            if previous is not None:
                only = [*only, *kept]  # an older attempt fills in only what is still missing

    def _failed_and_dependants(self, run: Run) -> list[str]:
        """GitHub's "re-run failed jobs": failed/cancelled jobs and every job after them."""
        parts: list[Unit | Job] = [*self.ledger.jobs(run.id), *self.ledger.units(run_id=run.id)]
        failed = {
            p.job_id
            for p in parts
            if p.conclusion in (Conclusion.FAILURE, Conclusion.CANCELLED) and p.job_id
        }
        if not failed:
            raise Conflict(f"run {run.id} has no failed jobs")
        graph = Graph.of(self.workflows.of(run).jobs)
        pending, chosen = list(failed), set(failed)
        while pending:
            for dependant in graph.dependents(pending.pop()):
                if dependant not in chosen:
                    chosen.add(dependant)
                    pending.append(dependant)
        return sorted(chosen)


def _kept_unit(run_id: int, part: Unit | Job) -> dict[str, Any]:
    """A concluded copy of a unit (or, from before per-job units, of a job row)."""
    return {
        "run_id": run_id,
        "job_id": part.job_id,
        "name": part.name,
        "status": Status.COMPLETED,
        "conclusion": part.conclusion or Conclusion.SUCCESS,
        "outputs": dict(part.outputs),
        "finished": part.finished if isinstance(part, Unit) else part.updated,
    }
