"""One `conveyor run` invocation: options, shared services and the run's identity.

Built by `conveyor.app.cmd_run`; read by the scheduler, jobs and steps. Shared across every
workflow and job of the run: the secret `Masker`, the `Console`, the concurrency groups and
the run-wide `--max-parallel` limit.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from conveyor.runners.base import Runner
from conveyor.workflow.plan.github import RunIdentity
from conveyor.workflow.run.concurrency import ConcurrencyGroups

if TYPE_CHECKING:
    from conveyor.workflow.events import Event
    from conveyor.workflow.run.console import Console
    from conveyor.workflow.run.masking import Masker


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    """What the user asked for (flags of `conveyor run`)."""

    repo_dir: Path
    run_dir: Path
    run_number: int
    event: Event
    # `github.run_id`: the CI service's own run id (so `…/actions/runs/${{ github.run_id }}`
    # in a promotion trailer names the run the UI shows); `conveyor run` makes one up
    run_id: int | None = None
    secrets: Mapping[str, str] = field(default_factory=dict)
    vars: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    matrix_filter: tuple[tuple[str, str], ...] = ()
    job_filter: str | None = None
    max_parallel: int | None = None
    worktree: bool = False
    debug: bool = False
    tty: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvironmentRelease:
    """What an environment gives a job once its protection rules passed."""

    secrets: Mapping[str, str] = field(default_factory=dict)
    vars: Mapping[str, str] = field(default_factory=dict)


class EnvironmentGate(Protocol):
    """The CI service's hook for `jobs.<id>.environment` (`conveyor.ci`; None for `conveyor run`).

    `enter` waits until the environment's protection rules let the job start (approval, wait
    timer, allowed branches) and returns the environment's secrets and variables; it raises
    `ConveyorError` when the job must not run (rejected), which fails the job with that
    message. `leave` records the deployment with the evaluated `environment.url`.
    """

    async def enter(
        self, *, job_id: str, job_name: str, environment: str
    ) -> EnvironmentRelease: ...

    async def leave(
        self, *, job_id: str, job_name: str, environment: str, url: str, result: str
    ) -> None: ...


class Stoppable(Protocol):
    """What the session needs of a running leg (`scope.JobControl`): a way to stop it.

    A Protocol, so that the session does not import the leg's state (which holds a session).
    """

    def cancel(self, reason: str = "cancelled") -> None: ...


class Session:
    """Mutable services of one run; one instance per invocation."""

    def __init__(
        self,
        options: RunOptions,
        *,
        masker: Masker,
        console: Console,
        runner_factory: Callable[[], Runner],
    ) -> None:
        self.options = options
        self.masker = masker
        self.console = console
        self.runner_factory = runner_factory
        self.concurrency = ConcurrencyGroups()
        self.environment_gate: EnvironmentGate | None = None
        # re-run of failed jobs (CI service): job id -> (result, outputs) of the previous
        # attempt, for the jobs this attempt does not run; their dependants read them
        self.prior_jobs: dict[str, tuple[str, Mapping[str, str]]] = {}
        # the run was cancelled (CI service): jobs evaluated from now on see `cancelled()`
        # true and `success()` false, as GitHub re-evaluates `if` after a cancellation
        self.run_cancelled = False
        self.controls: list[Stoppable] = []  # every leg's control (the scheduler adds them)
        self.slots = asyncio.Semaphore(options.max_parallel) if options.max_parallel else None
        token = options.secrets.get("GITHUB_TOKEN") or "ghs_" + os.urandom(18).hex()
        self.secrets: dict[str, str] = {**options.secrets, "GITHUB_TOKEN": token}
        for value in self.secrets.values():
            masker.add(value)
        self.identity = RunIdentity(
            run_id=options.run_id or int(time.time() * 1000) % 10**10,
            run_number=options.run_number,
            event_path=options.run_dir / "event.json",
            token=token,
            debug=options.debug,
        )

    def cancel(self, reason: str = "cancelled") -> None:
        """The run was cancelled while it ran (the CI server's cancellation message): the
        running legs are stopped (their `always()`/`cancelled()` steps still run), and jobs
        that start later are evaluated with `cancelled()` true."""
        self.run_cancelled = True
        for control in self.controls:
            control.cancel(reason)
