"""An action's metadata (`action.yml` / `action.yaml`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from conveyor.workflow.model.step import Step
from conveyor.workflow.model.values import Raw


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionInput:
    name: str
    description: str = ""
    required: bool = False
    default: Raw = None  # may be an expression, evaluated in the action's context
    deprecation_message: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionOutput:
    name: str
    description: str = ""
    value: Raw = None  # composite actions only


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionRuns:
    """`runs:`; which fields matter depends on `using` (composite, node*, docker)."""

    using: str
    steps: tuple[Step, ...] = ()  # composite
    main: str | None = None  # node
    pre: str | None = None
    post: str | None = None
    pre_if: str | None = None
    post_if: str | None = None
    image: str | None = None  # docker
    args: tuple[Raw, ...] = ()
    entrypoint: str | None = None
    pre_entrypoint: str | None = None
    post_entrypoint: str | None = None
    env: Mapping[str, Raw] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Action:
    """`path` is the action's directory."""

    path: str
    name: str = ""
    description: str = ""
    inputs: Mapping[str, ActionInput] = field(default_factory=dict)
    outputs: Mapping[str, ActionOutput] = field(default_factory=dict)
    runs: ActionRuns = field(default_factory=lambda: ActionRuns(using="composite"))
