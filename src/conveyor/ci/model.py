"""The CI service's values: runs, units and job rows as frozen records, and the words their
states are spelled in.

`ci.ledger` builds these from store rows (the store's edge: `conveyor.store` keeps plain
dicts and knows nothing of this module); every part of the service (`ci.dispatch`,
`ci.endings`, `ci.groups`, `ci.gates`, `ci.cancels`, `ci.reruns`, `ci.recovery`,
`ci.runnerapi`) reads them and writes through the store with the enum members below, whose
values are the words the database and the API have always held.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from conveyor.workflow.run.results import Result

Conclusion = Result
"""A unit's, a job's and a run's conclusion: GitHub's job results (success, failure,
cancelled, skipped); a run's conclusion aggregates its jobs' (`workflow.run.results.combine`)."""


class Status(StrEnum):
    """Where a run, a unit or a job row stands (GitHub's `status` words)."""

    PENDING = "pending"  # waits for its concurrency group
    WAITING = "waiting"  # waits for its environment's review or wait timer
    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


UNFINISHED = (Status.PENDING, Status.WAITING, Status.QUEUED, Status.IN_PROGRESS)
ACTIVE = (Status.QUEUED, Status.WAITING, Status.IN_PROGRESS)  # holds a concurrency group
NOT_STARTED = (Status.PENDING, Status.WAITING, Status.QUEUED)


class CommitState(StrEnum):
    """A commit status's state (GitHub's words)."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"


class ApprovalState(StrEnum):
    """A deployment review of one environment for one run."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"  # its run ended while nothing had decided it


class GateState(StrEnum):
    """What an environment's protection rules say about a job now (`ci.settings`)."""

    WAITING = "waiting"
    APPROVED = "approved"
    REJECTED = "rejected"


class BeatAnswer(StrEnum):
    """The answer to a runner's heartbeat (`ci.runnerapi.RunnerProtocol.beat_answer`)."""

    GO_ON = ""
    CANCEL = "cancel"  # the run is being cancelled and the job's `if` fails then
    STOP = "stop"  # the unit is no longer the runner's


INVALID_WORKFLOW = "invalid workflow file"  # a run's reason when its file did not load


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """An environment's rules for one job: waiting, approved or rejected, and why."""

    state: GateState
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "message": self.message}


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One attempt of one workflow for one event (a `ci_runs` row)."""

    id: int
    repo: str
    clone_url: str
    workflow_path: str
    workflow_name: str
    event: str
    ref: str
    sha: str
    payload: Mapping[str, Any]
    status: Status
    conclusion: Conclusion | None
    reason: str
    concurrency_group: str
    cancel_in_progress: bool
    labels: tuple[str, ...]
    only_jobs: tuple[str, ...] | None
    attempt: int
    run_number: int
    rerun_of: int | None
    runner: str
    created: float
    started: float | None
    finished: float | None

    @property
    def owner(self) -> str:
        return self.repo.partition("/")[0]


@dataclass(frozen=True, slots=True, kw_only=True)
class Unit:
    """One job of a run (or one label set of a matrix job) as a runner takes it."""

    id: int
    run_id: int
    job_id: str
    name: str
    labels: tuple[str, ...]
    matrix_filter: tuple[tuple[str, str], ...] | None
    status: Status
    conclusion: Conclusion | None
    outputs: Mapping[str, str]
    reason: str
    job_names: tuple[str, ...]  # the `ci_jobs` rows its runner reported
    concurrency_group: str
    cancel_in_progress: bool
    environment: str
    runner: str
    heartbeat: float
    finished: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """A job row as its runner (or the server) reported it (a `ci_jobs` row)."""

    run_id: int
    name: str
    job_id: str
    status: Status
    conclusion: Conclusion | None
    outputs: Mapping[str, str]
    updated: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """A cancel of a run, or a stop of one running unit, as requested."""

    reason: str
    requested: float
