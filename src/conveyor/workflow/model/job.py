"""A job and its parts, as written in the workflow file.

Built by `conveyor.workflow.load`; expanded by `conveyor.workflow.plan` (matrix, graph) and
executed by `conveyor.workflow.run`. Fields that may hold expressions are `Raw`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from conveyor.core.location import Location
from conveyor.workflow.model.step import Step
from conveyor.workflow.model.values import Raw


@dataclass(frozen=True, slots=True, kw_only=True)
class RunDefaults:
    """`defaults.run` at workflow or job level (applies to `run` steps only).

    `template` holds a job's `defaults.run` as written when GitHub evaluates it as a whole at
    job start before reading its properties (it has an expression key or `${{ insert }}`, or
    is itself an expression); the two fields are then unset.
    """

    shell: str | None = None
    working_directory: str | None = None
    template: Raw = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Concurrency:
    """`concurrency:` as a group name or a mapping; both fields may be expressions."""

    group: Raw
    cancel_in_progress: Raw = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Strategy:
    """`strategy:`; `matrix` is the raw mapping (or an expression string for `fromJSON`).

    `template` holds the whole `strategy` as written when GitHub evaluates it before reading
    its properties (an expression key or `${{ insert }}` in it, or `strategy: ${{ … }}`);
    the other fields then keep their defaults. `conveyor.workflow.plan.strategy` reads both.
    """

    matrix: Raw = None
    fail_fast: Raw = True
    max_parallel: Raw = None
    template: Raw = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Container:
    """`container:` of a job or one entry of `services:`.

    `template` holds the container as written when GitHub evaluates it as a whole at job
    start before reading its properties (an expression key or `${{ insert }}` anywhere in it,
    or the container itself an expression); `image` is then None and the rest unset.
    `entrypoint` and `command` exist only for services (GitHub's `service-container-mapping`;
    the schema rejects them on a job container). `conveyor.workflow.plan.containers` reads
    both forms.
    """

    image: Raw
    credentials: Raw = None
    env: Mapping[str, Raw] = field(default_factory=dict)
    ports: tuple[Raw, ...] = ()
    volumes: tuple[Raw, ...] = ()
    options: Raw = None
    entrypoint: Raw = None
    command: Raw = None
    template: Raw = None
    loc: Location | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Environment:
    """`environment:` as a name or `{name, url}`."""

    name: Raw
    url: Raw = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """`jobs.<id>`: either a normal job (`runs_on` + `steps`) or a reusable-workflow call
    (`uses` + `with_` + `secrets`)."""

    id: str
    name: Raw = None
    needs: tuple[str, ...] = ()
    if_: str | None = None  # raw condition text, with or without ${{ }}
    runs_on: Raw = None
    env: Mapping[str, Raw] = field(default_factory=dict)
    defaults: RunDefaults = field(default_factory=RunDefaults)
    outputs: Mapping[str, Raw] = field(default_factory=dict)
    strategy: Strategy | None = None
    timeout_minutes: Raw = 360
    continue_on_error: Raw = False
    concurrency: Concurrency | None = None
    environment: Environment | None = None
    container: Container | None = None
    services: Mapping[str, Container] = field(default_factory=dict)
    #: `services: ${{ … }}` as written: GitHub evaluates the whole map at job start
    #: (`services` is then empty); the schema allows no other expression at that level
    services_template: Raw = None
    permissions: Raw = None
    steps: tuple[Step, ...] = ()
    uses: str | None = None  # reusable workflow reference
    with_: Mapping[str, Raw] = field(default_factory=dict)
    secrets: Mapping[str, Raw] | str | None = None  # mapping, "inherit", or absent
    loc: Location | None = None

    @property
    def is_reusable_call(self) -> bool:
        return self.uses is not None
