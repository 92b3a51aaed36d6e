"""The parsed workflow: frozen values built by `conveyor.workflow.load`, read by plan and run.

Parsed specs are immutable; run state lives in `conveyor.workflow.run`. Pure: no I/O.
The action metadata types (`Action`, `ActionInput`, `ActionOutput`, `ActionRuns`) load on
first use: a run without `uses:` steps never needs them.
"""

from typing import TYPE_CHECKING

from conveyor.workflow.model.job import (
    Concurrency,
    Container,
    Environment,
    Job,
    RunDefaults,
    Strategy,
)
from conveyor.workflow.model.step import Step
from conveyor.workflow.model.triggers import EventTrigger, InputSpec, SecretSpec, WorkflowOutput
from conveyor.workflow.model.values import Raw, RawMap, Scalar
from conveyor.workflow.model.workflow import Workflow

if TYPE_CHECKING:
    from conveyor.workflow.model.action import Action, ActionInput, ActionOutput, ActionRuns

_LAZY = frozenset({"Action", "ActionInput", "ActionOutput", "ActionRuns"})

__all__ = [
    "Action",
    "ActionInput",
    "ActionOutput",
    "ActionRuns",
    "Concurrency",
    "Container",
    "Environment",
    "EventTrigger",
    "InputSpec",
    "Job",
    "Raw",
    "RawMap",
    "RunDefaults",
    "Scalar",
    "SecretSpec",
    "Step",
    "Strategy",
    "Workflow",
    "WorkflowOutput",
]


def __getattr__(name: str) -> object:
    """The action metadata types, imported when first asked for."""
    if name in _LAZY:
        from conveyor.workflow.model import action

        return getattr(action, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
