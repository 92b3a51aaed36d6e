"""A job that writes its log through the runner protocol, for the log viewer's tests
(`test_logs*`): the workflow is committed and pushed to the service's hosted repo
(`tests.ci.helpers.commit_workflow`), a runner takes the job (`poll`), writes lines
(`CIService.add_logs`: masked as a runner's batches are), reports steps (`set_job`) and
completes it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from conveyor.ci.service import CIService
from tests.ci.helpers import commit_workflow, complete_job, poll_job

RUNNER = "log-runner-1"
WORKFLOW = """name: Logs
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
"""


@dataclass
class LogJob:
    """Run `run_id`'s job `build`, held by `RUNNER`."""

    service: CIService
    run_id: int
    assignment: dict[str, Any]
    name: str = "build"

    @property
    def url(self) -> str:
        return f"/runs/{self.run_id}/jobs/{quote(self.name, safe='')}"

    def write(self, texts: Sequence[str], batch: int = 5000) -> None:
        """Lines of the job, as the executor sends them (`ci.executor._flush`): the job
        reported in progress first, then batches of lines."""
        if not any(j["name"] == self.name for j in self.service.store.jobs(self.run_id)):
            fields = {"status": "in_progress"}
            assert self.service.set_job(self.run_id, RUNNER, self.name, fields) is False
        for at in range(0, len(texts), batch):
            lines = [(self.name, t) for t in texts[at : at + batch]]
            assert self.service.add_logs(self.run_id, RUNNER, lines) is False

    def report(self, steps: Sequence[Mapping[str, str]], **fields: Any) -> None:
        assert (
            self.service.set_job(self.run_id, RUNNER, self.name, {"steps": list(steps), **fields})
            is False
        )

    def finish(self, result: str = "success") -> None:
        fields = {"status": "completed", "conclusion": result}
        assert self.service.set_job(self.run_id, RUNNER, self.name, fields) is False
        complete_job(self.service, self.assignment, RUNNER, result)


def start_job(service: CIService, tmp_path: Path) -> LogJob:
    [run_id] = commit_workflow(service, tmp_path, WORKFLOW)
    got = poll_job(service, RUNNER, "ubuntu-latest")
    assert got is not None and got["run_id"] == run_id
    return LogJob(service=service, run_id=run_id, assignment=got)
