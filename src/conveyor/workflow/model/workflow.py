"""A whole workflow file, parsed and validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from conveyor.workflow.model.job import Concurrency, Job, RunDefaults
from conveyor.workflow.model.triggers import EventTrigger
from conveyor.workflow.model.values import Raw


@dataclass(frozen=True, slots=True, kw_only=True)
class Workflow:
    """`path` is relative to the repository root (e.g. `.github/workflows/ci.yml`);
    `jobs` keep their file order."""

    path: str
    name: str | None = None
    run_name: Raw = None
    on: Mapping[str, EventTrigger] = field(default_factory=dict)
    env: Mapping[str, Raw] = field(default_factory=dict)
    defaults: RunDefaults = field(default_factory=RunDefaults)
    concurrency: Concurrency | None = None
    permissions: Raw = None
    jobs: tuple[Job, ...] = ()

    @property
    def display_name(self) -> str:
        return self.name or self.path

    def job(self, job_id: str) -> Job | None:
        return next((j for j in self.jobs if j.id == job_id), None)

    @property
    def call_trigger(self) -> EventTrigger | None:
        """The `workflow_call` trigger when this is a reusable workflow."""
        return self.on.get("workflow_call")
