"""The `on:` section: which events start a workflow and with which filters.

Built by `conveyor.workflow.load`; read by `conveyor.workflow.plan.filters` (does an event
trigger the workflow) and by the run layer (typed `inputs`, `workflow_call` interface).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from conveyor.core.location import Location
from conveyor.workflow.model.values import Raw


@dataclass(frozen=True, slots=True, kw_only=True)
class InputSpec:
    """One input of `workflow_dispatch` or `workflow_call` (`type` as GitHub spells it)."""

    name: str
    type: str = "string"  # string | boolean | number | choice | environment
    required: bool = False
    default: Raw = None
    description: str = ""
    options: tuple[str, ...] = ()  # choice
    loc: Location | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretSpec:
    """A secret a reusable workflow declares under `on.workflow_call.secrets`."""

    name: str
    required: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowOutput:
    """`on.workflow_call.outputs.<name>`: `value` is a template over the `jobs` context."""

    name: str
    value: Raw
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class EventTrigger:
    """One event under `on:` with its filters; `None` means the filter is absent.

    Pattern lists keep their order and any `!` negations, because GitHub evaluates them in
    order and the last match wins.
    """

    event: str
    types: tuple[str, ...] | None = None
    branches: tuple[str, ...] | None = None
    branches_ignore: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    tags_ignore: tuple[str, ...] | None = None
    paths: tuple[str, ...] | None = None
    paths_ignore: tuple[str, ...] | None = None
    crons: tuple[str, ...] = ()  # schedule
    inputs: Mapping[str, InputSpec] = field(default_factory=dict)  # dispatch / call
    outputs: Mapping[str, WorkflowOutput] = field(default_factory=dict)  # workflow_call
    secrets: Mapping[str, SecretSpec] = field(default_factory=dict)  # workflow_call
    loc: Location | None = None
