"""What a run produced: per-step, per-job and per-workflow results, and their JSON form.

Built by the engine (`job`, `scheduler`, `reusable`); read by `conveyor.app.cmd_run`, which
prints `to_json(run)` for `--json` (INTERFACES.md section D2) and the summary table, and
derives the exit code from `RunResult.result`. `Result` itself is the job planner's
(`conveyor.workflow.plan.jobs`), which decides on the results of a job's needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conveyor.workflow.plan.jobs import Result
from conveyor.workflow.run.commands import Annotation

__all__ = [
    "JobResult",
    "Result",
    "RunResult",
    "StepResult",
    "WorkflowResult",
    "combine",
    "run_result",
    "workflow_result",
]


def combine(results: Iterable[Result]) -> Result:
    """The result of a group (matrix legs, a workflow's jobs): failure wins, then cancelled."""
    seen = set(results)
    for worst in (Result.FAILURE, Result.CANCELLED, Result.SUCCESS):
        if worst in seen:
            return worst
    return Result.SKIPPED if seen else Result.SUCCESS


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    """A finished step: outcome (before continue-on-error), conclusion and outputs."""

    id: str
    name: str
    outcome: Result
    conclusion: Result
    outputs: Mapping[str, str] = field(default_factory=dict)
    duration: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "outcome": str(self.outcome),
            "conclusion": str(self.conclusion),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class JobResult:
    """One job run: a matrix leg, a plain job, a reusable-workflow caller or a callee job.

    `continue_on_error` jobs that failed keep `result == failure` (as GitHub's UI shows) but
    count as success for the run and for their dependants (`needs_result`).
    """

    id: str
    name: str
    result: Result
    matrix: Mapping[str, Any] | None = None
    outputs: Mapping[str, str] = field(default_factory=dict)
    duration: float = 0.0
    steps: tuple[StepResult, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    parent: str | None = None
    continue_on_error: bool = False
    log_dir: str | None = None

    @property
    def needs_result(self) -> Result:
        """What `needs.<id>.result` and the run's conclusion see."""
        if self.continue_on_error and self.result is Result.FAILURE:
            return Result.SUCCESS
        return self.result

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "matrix": dict(self.matrix) if self.matrix else None,
            "result": str(self.result),
            "outputs": dict(self.outputs),
            "duration": round(self.duration, 3),
            "steps": [s.to_json() for s in self.steps],
            "annotations": [a.as_dict() for a in self.annotations],
            "parent": self.parent,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowResult:
    """A workflow of the run: whether it was triggered (and why not), and its jobs."""

    path: str
    name: str
    triggered: bool
    reason: str = ""
    result: Result = Result.SKIPPED
    jobs: tuple[JobResult, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "name": self.name,
            "triggered": self.triggered,
            "reason": self.reason,
            "result": str(self.result),
            "jobs": [j.to_json() for j in self.jobs],
        }


def workflow_result(jobs: Iterable[JobResult]) -> Result:
    """A workflow's conclusion from its top-level jobs (callee jobs count through callers)."""
    return combine(j.needs_result for j in jobs if j.parent is None)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """The whole run: overall result, run directory, event and workflows."""

    result: Result
    run_dir: str
    event: str
    workflows: tuple[WorkflowResult, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 when every job succeeded (skipped is fine), 1 otherwise."""
        return 0 if self.result in (Result.SUCCESS, Result.SKIPPED) else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "result": "success" if self.result is Result.SKIPPED else str(self.result),
            "run_dir": self.run_dir,
            "event": self.event,
            "workflows": [w.to_json() for w in self.workflows],
        }


def run_result(workflows: Iterable[WorkflowResult], *, run_dir: str, event: str) -> RunResult:
    done = tuple(workflows)
    verdict = combine(w.result for w in done if w.triggered)
    return RunResult(result=verdict, run_dir=run_dir, event=event, workflows=done)
