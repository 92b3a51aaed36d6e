"""One job leg while it runs (`JobRun`) and one list of steps (`Scope`).

`job.py` builds a `JobRun` when a leg starts: its `JobSetup` (frozen: the job, its
directories, default variables, control) and its `JobState` (what changes: contexts and
`env:` set while the leg starts, then env files, PATH, annotations, posts per step).
`steps.py` and the step kinds read both and update the state; a composite action
(`actions/composite.py`) opens a nested `Scope` for its own steps. The parsed workflow stays
untouched: everything that changes during a run lives here.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from conveyor.runners.base import JobDirs, Runner
from conveyor.workflow.expr import EvalContext, Function, Value
from conveyor.workflow.model import Job, RunDefaults, Workflow
from conveyor.workflow.run.commands import Annotation, AnnotationLevel
from conveyor.workflow.run.console import annotation_text
from conveyor.workflow.run.session import Session
from conveyor.workflow.run.status import step_functions

MAX_ACTION_DEPTH = 10


class JobControl:
    """Stops a running leg from outside: fail-fast, timeout, concurrency, interruption."""

    def __init__(self) -> None:
        self.stop = asyncio.Event()
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        if not self.stop.is_set():
            self.reason = reason
            self.stop.set()

    @property
    def timed_out(self) -> bool:
        return self.reason == "timeout"


@dataclass(frozen=True, slots=True, kw_only=True)
class PostStep:
    """A step that runs at the job's end, in reverse order of registration: a node action's
    `post`, a docker action's `post-entrypoint`, a built-in's save (actions/cache).
    `condition` is evaluated then, with the job's status (`always()` by default)."""

    name: str
    condition: str
    run: Callable[[], Awaitable[bool]]  # True when it succeeded


@dataclass(slots=True, kw_only=True)
class Scope:
    """The steps of a job, or of one composite action invocation (its own `steps` context)."""

    steps: dict[str, Value] = field(default_factory=dict)
    inputs: Mapping[str, Value] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)  # the composite step's env layer
    action_path: str = ""
    action_name: str = ""
    defaults: RunDefaults = field(default_factory=RunDefaults)
    depth: int = 0
    failed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSetup:
    """What is fixed for a leg once it starts (built by `job.run_job`)."""

    session: Session
    workflow: Workflow
    job: Job
    name: str
    prefix: str  # the console prefix `workflow/job (matrix)`
    dirs: JobDirs
    log_dir: Path
    base_env: Mapping[str, str]  # host basics (PATH, HOME, ...); `env:` may override them
    default_env: Mapping[str, str]  # GITHUB_*, RUNNER_*, CI: `env:` cannot override them
    control: JobControl
    hash_files: Function | None = None


@dataclass(slots=True, kw_only=True)
class JobState:
    """What changes while a leg runs: set while it starts (contexts with the environment's
    secrets, `env:`, the job container's runner), then by every step."""

    runner: Runner
    contexts: dict[str, Value]  # github, vars, secrets, inputs, matrix, strategy, needs, runner
    wf_env: dict[str, str] = field(default_factory=dict)
    job_env: dict[str, str] = field(default_factory=dict)
    job_context: dict[str, Value] = field(default_factory=dict)  # job.container, job.services
    failed: bool = False
    file_env: dict[str, str] = field(default_factory=dict)  # GITHUB_ENV of earlier steps
    path_prepend: tuple[str, ...] = ()
    summaries: list[str] = field(default_factory=list)
    annotations: list[Annotation] = field(default_factory=list)
    log: IO[str] | None = None
    env_files: dict[str, Path] | None = None  # GITHUB_OUTPUT & co., emptied after each step
    step_counter: int = 0
    posts: list[PostStep] = field(default_factory=list)
    action_state: dict[str, dict[str, str]] = field(default_factory=dict)  # STATE_* per step


class JobRun:
    """One job leg while it runs: its `setup` (frozen) and its `state`, and what every step
    does with them (expression contexts, output lines, annotations)."""

    __slots__ = ("setup", "state")

    def __init__(self, setup: JobSetup, state: JobState) -> None:
        self.setup = setup
        self.state = state

    @property
    def step_debug(self) -> bool:
        """--debug, or ACTIONS_STEP_DEBUG=true as a secret or variable (GitHub's switch)."""
        if self.setup.session.options.debug:
            return True
        for source in (self.setup.session.secrets, self.setup.session.options.vars):
            if str(source.get("ACTIONS_STEP_DEBUG", "")).lower() == "true":
                return True
        return False

    @property
    def cancelled(self) -> bool:
        return self.setup.control.stop.is_set()

    def status(self, scope: Scope | None = None) -> str:
        """`job.status` and what step-level status functions read."""
        if self.cancelled:
            return "cancelled"
        if self.state.failed or (scope is not None and scope.failed):
            return "failure"
        return "success"

    def env_context(
        self, scope: Scope, step_env: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """workflow < job < GITHUB_ENV of earlier steps < composite step < this step."""
        state = self.state
        return {**state.wf_env, **state.job_env, **state.file_env, **scope.env, **(step_env or {})}

    def eval_context(self, scope: Scope, *, env: Mapping[str, str] | None = None) -> EvalContext:
        contexts: dict[str, Value] = {
            **self.state.contexts,
            "env": dict(env) if env is not None else dict(self.env_context(scope)),
            "steps": scope.steps,
            "job": {**self.state.job_context, "status": self.status(scope)},
        }
        if scope.depth:
            contexts["inputs"] = dict(scope.inputs)
            github = self.state.contexts.get("github")
            if isinstance(github, dict):
                contexts["github"] = {**github, "action_path": scope.action_path}
        functions = step_functions(lambda: self.status(scope))
        if self.setup.hash_files is not None:
            functions["hashFiles"] = self.setup.hash_files
        return EvalContext(contexts=contexts, functions=functions)

    def write(self, text: str) -> None:
        """One output line of the job: masked, to the console and the step's log."""
        masked = self.setup.session.masker.mask(text)
        self.setup.session.console.line(self.setup.prefix, masked)
        if self.state.log is not None:
            self.state.log.write(masked + "\n")

    def error(self, message: str) -> None:
        """An error the runner raises (exit codes, timeouts, bad expressions): annotated."""
        self.annotate(
            Annotation(level=AnnotationLevel.ERROR, message=self.setup.session.masker.mask(message))
        )

    def warning(self, message: str) -> None:
        self.annotate(
            Annotation(
                level=AnnotationLevel.WARNING, message=self.setup.session.masker.mask(message)
            )
        )

    def annotate(self, note: Annotation) -> None:
        """Keep an annotation (masked) for the results and show it."""
        mask = self.setup.session.masker.mask
        note = dataclasses.replace(
            note, message=mask(note.message), title=mask(note.title) if note.title else None
        )
        self.state.annotations.append(note)
        self.setup.session.console.annotation(self.setup.prefix, note)
        if self.state.log is not None:
            self.state.log.write(self.setup.session.masker.mask(annotation_text(note)) + "\n")
