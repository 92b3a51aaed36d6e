"""A run's workflow, read again from its commit, and the contexts its jobs are planned with.

`RunWorkflows` is handed to the parts that plan or judge jobs on the server: `ci.dispatch`
(readiness, `if`, matrix), `ci.endings` (`fail-fast`), `ci.cancels` (which jobs still run
once a run is cancelled) and `ci.reruns` (the jobs after a failed one). Parsed workflows are
cached per repository, commit and path (`_CACHE_SIZE` of them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conveyor.ci.jobplan import RunContexts, github_context, typed_inputs
from conveyor.ci.model import Run
from conveyor.ci.triggers import load_run_workflow
from conveyor.store.ci_store import CIStore
from conveyor.workflow.model import Workflow

_CACHE_SIZE = 64


class RunWorkflows:
    """Parsed workflows of runs, and their variables and contexts."""

    def __init__(self, store: CIStore, git_dir_of: Callable[[str], Path]) -> None:
        self.store = store
        self.git_dir_of = git_dir_of  # where a repository's commits are (`ci.hosted`)
        self.cache: dict[tuple[str, str, str], Workflow] = {}

    def of(self, run: Run) -> Workflow:
        """The run's parsed workflow, read from its commit (cached per repo, sha and path)."""
        key = (run.repo, run.sha, run.workflow_path)
        if key not in self.cache:
            if len(self.cache) >= _CACHE_SIZE:
                self.cache.pop(next(iter(self.cache)))
            self.cache[key] = load_run_workflow(
                self.git_dir_of(run.repo), run.sha, run.workflow_path
            )
        return self.cache[key]

    def variables(self, run: Run) -> dict[str, str]:
        """The org's variables, overridden by the repository's."""
        return {
            **self.store.config.variables(f"org:{run.owner}"),
            **self.store.config.variables(f"repo:{run.repo}"),
        }

    def contexts(self, run: Run, workflow: Workflow) -> RunContexts:
        return RunContexts(
            github=github_context(run, workflow),
            inputs=typed_inputs(workflow, run),
            vars=self.variables(run),
        )
