"""One step of a job or of a composite action."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from conveyor.core.location import Location
from conveyor.workflow.model.values import Raw


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """`steps[i]`: exactly one of `run` and `uses` is set.

    `id` is the user's id, or the one GitHub generates for anonymous steps (`__run`,
    `__run_2`, `__actions_checkout`, …); `explicit_id` tells which.
    """

    id: str
    explicit_id: bool = False
    index: int = 0
    name: Raw = None
    if_: str | None = None
    run: str | None = None
    uses: str | None = None
    with_: Mapping[str, Raw] = field(default_factory=dict)
    env: Mapping[str, Raw] = field(default_factory=dict)
    shell: str | None = None
    working_directory: str | None = None
    continue_on_error: Raw = False
    timeout_minutes: Raw = None
    loc: Location | None = None
