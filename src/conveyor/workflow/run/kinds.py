"""One interface for every kind of step: `pre`, `main`, `post` (act's model).

`factory.step_kind` picks a step's kind: a `run:` script (`script.py`), a `docker://` image,
a composite, node or docker action, or a built-in (`actions/`). `phases.run_pres` calls
`pre` of every step when the job starts; `steps.py` calls `main` when the step's turn comes
and registers what `post` returns; `phases.run_posts` runs those posts at the job's end.
A kind knows nothing of the step runner: a composite action runs its own steps through the
`StepCall.run_steps` it is handed.

`render` and `render_map` (an expression value as the string a process sees) are here too:
every kind and the job use them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import EvalContext, evaluate_mapping, evaluate_raw, to_str
from conveyor.workflow.model import Raw, Step
from conveyor.workflow.run.results import Result, StepResult
from conveyor.workflow.run.scope import JobRun, PostStep, Scope


class StepFailed(ConveyorError):
    """A step could not run; the message is printed as the step's error."""


#: the step runner (`steps.run_steps`), as a composite action is handed it
StepsRunner = Callable[[Sequence[Step], Scope, JobRun], Awaitable[list[StepResult]]]


def render(raw: Raw, ctx: EvalContext) -> str:
    return to_str(evaluate_raw(raw, ctx))


def render_map(raw: Mapping[str, Raw] | None, ctx: EvalContext) -> dict[str, str]:
    """A mapping's keys and values evaluated (`${{ insert }}` merged in), values as strings."""
    return {k: to_str(v) for k, v in evaluate_mapping(raw or {}, ctx).items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class StepCall:
    """What the step runner hands a step's `main`."""

    step: Step
    scope: Scope
    jr: JobRun
    ctx: EvalContext  # the step's expression context (its own `env:` included)
    env: Mapping[str, str]  # the process environment: job variables, env files, INPUT_*
    inputs: Mapping[str, str]  # `with:`, evaluated (empty for a script)
    timeout: float | None  # seconds; None: no limit
    run_steps: StepsRunner


class StepKind(ABC):
    """A step's behaviour in the job's three phases."""

    #: True when `main` enforces `StepCall.timeout` itself (a script's process is killed by
    #: the runner, which reports how long it ran); otherwise the step runner cancels `main`
    enforces_timeout: ClassVar[bool] = False

    async def pre(self, jr: JobRun, scope: Scope) -> bool:
        """At the job's start, before any step runs; False fails the job (default: no `pre`)."""
        return True

    @abstractmethod
    async def main(self, call: StepCall) -> tuple[Result, dict[str, str]]:
        """Run the step: its outcome and the outputs it declares (or said by commands)."""

    def post(self) -> Sequence[PostStep]:
        """Asked once `main` returned: what runs at the job's end (last registered first)."""
        return ()

    def outputs(self, own: dict[str, str], files: dict[str, str]) -> dict[str, str]:
        """The step's outputs from `main`'s and the GITHUB_OUTPUT file's: an action's
        declared outputs replace what its files said."""
        return own or files
