"""Commit statuses: a run's (`conveyor/<workflow>`) and an environment's
(`deployment/<environment>`), as GitHub shows them on the commit.

`CommitStatuses` is handed to the parts that move a run (`ci.newruns`, `ci.endings`,
`ci.dispatch`, `ci.reruns`, `ci.runnerapi`) and to `ci.gates` (a job waiting for its
environment).
"""

from __future__ import annotations

from conveyor.ci.model import CommitState, Conclusion, Run, Status
from conveyor.store.ci_store import CIStore

_COMMIT_STATE = {
    Conclusion.CANCELLED: CommitState.ERROR,
    Status.IN_PROGRESS: CommitState.PENDING,
    Status.QUEUED: CommitState.PENDING,
    Status.WAITING: CommitState.PENDING,
    Conclusion.SKIPPED: CommitState.SUCCESS,
}


class CommitStatuses:
    """Writes commit statuses through the store."""

    def __init__(self, store: CIStore) -> None:
        self.store = store

    def run(self, run: Run, state: Status | Conclusion) -> None:
        """The run's status on its commit: pending until it concludes, then its conclusion
        (cancelled shows as error, skipped as success)."""
        self.store.set_status(
            run.repo,
            run.sha,
            f"conveyor/{run.workflow_name}",
            state=_COMMIT_STATE.get(state, state),
            description=f"{run.workflow_name}: {state}",
            target_url=f"/api/v1/runs/{run.id}",
        )

    def deployment(
        self, run: Run, environment: str, *, state: CommitState, description: str, url: str = ""
    ) -> None:
        """The environment's status on the run's commit: pending while a job waits for it or
        deploys to it, then the deployment's result."""
        self.store.set_status(
            run.repo,
            run.sha,
            f"deployment/{environment}",
            state=state,
            description=description,
            target_url=url,
            environment=environment,
        )
