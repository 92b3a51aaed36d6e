"""The parsed workflow: frozen values built by `conveyor.workflow.load`, read by plan and run.

Parsed specs are immutable; run state lives in `conveyor.workflow.run`. Pure: no I/O.
"""

from conveyor.workflow.model.action import Action, ActionInput, ActionOutput, ActionRuns
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
