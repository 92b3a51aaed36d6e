"""Picks a step's kind: the one place that knows every kind of step.

Called by `steps.py` when a step's turn comes and by `phases.run_pres` at the job's start.
In this order: `run:` is a script (`script.py`); `docker://image` runs the image; `./path`
(in the workspace) and vendored actions load their `action.yml` and run as a composite,
node or docker action; otherwise the built-in of that name runs (`actions/`).
"""

from __future__ import annotations

from pathlib import Path

from conveyor.core.errors import ConveyorError
from conveyor.workflow.model import Action, Step
from conveyor.workflow.run.actions.builtins import BuiltinStep, built_in
from conveyor.workflow.run.actions.composite import CompositeStep
from conveyor.workflow.run.actions.docker import DockerStep, ImageStep
from conveyor.workflow.run.actions.node import NodeStep
from conveyor.workflow.run.actions.resolve import action_name, load, locate
from conveyor.workflow.run.kinds import StepCall, StepKind
from conveyor.workflow.run.results import Result
from conveyor.workflow.run.scope import JobRun
from conveyor.workflow.run.script import ScriptStep


def step_kind(step: Step, jr: JobRun) -> StepKind:
    """The kind of `step`; raises `ConveyorError` when its action cannot be found or loaded."""
    if step.run is not None:
        return ScriptStep(step)
    assert step.uses is not None
    if step.uses.startswith("docker://"):
        return ImageStep(step.uses.removeprefix("docker://"))
    directory = locate(step.uses, jr)
    if directory is None:
        fn = built_in(action_name(step.uses))
        if fn is None:
            raise ConveyorError(f"action '{step.uses}' is not available offline")
        return BuiltinStep(fn)
    return _action_kind(load(directory, jr), directory, step)


def _action_kind(action: Action, directory: Path, step: Step) -> StepKind:
    using = action.runs.using.lower()
    if using == "composite":
        return CompositeStep(action, directory)
    if using.startswith("node"):
        return NodeStep(action, directory, step)
    if using == "docker":
        return DockerStep(action, directory, step)
    return Unsupported(f"action '{step.uses}' uses '{action.runs.using}', which is not supported")


class Unsupported(StepKind):
    """An action whose `runs.using` the engine does not know: the step fails when it runs."""

    def __init__(self, message: str) -> None:
        self.message = message

    async def main(self, call: StepCall) -> tuple[Result, dict[str, str]]:
        raise ConveyorError(self.message)
