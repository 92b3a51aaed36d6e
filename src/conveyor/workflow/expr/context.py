"""What an evaluation sees: named contexts and extension functions (`EvalContext`).

The engine builds one `EvalContext` per scope (job, step) and hands it to
`Expression.evaluate`; names match case-insensitively. Status functions and `hashFiles`
are not built in: the engine passes them as `Function`s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from conveyor.workflow.expr.errors import evaluation_error
from conveyor.workflow.expr.values import Value

#: The runner's limit on the memory an evaluation may hold (bytes, .NET string sizes).
MAX_MEMORY = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Function:
    """An extension function: called with its evaluated arguments."""

    name: str
    min_args: int
    max_args: int
    call: Callable[[Sequence[Value]], Value]


@dataclass(frozen=True, slots=True)
class EvalContext:
    """Named contexts (`github`, `env`, `matrix`…) and extension functions for one scope."""

    contexts: Mapping[str, Value]
    functions: Mapping[str, Function] = field(default_factory=dict)
    names: dict[str, Value] = field(init=False, repr=False, compare=False)
    lowered: dict[str, Function] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = {key.lower(): value for key, value in reversed(list(self.contexts.items()))}
        lowered = {key.lower(): value for key, value in self.functions.items()}
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "lowered", lowered)


class Run:
    """The mutable state of one evaluation: the context and the memory held so far."""

    __slots__ = ("functions", "memory", "names")

    def __init__(self, ctx: EvalContext) -> None:
        self.names = ctx.names
        self.functions = ctx.lowered
        self.memory = 0

    def hold(self, mark: int, result: Value) -> None:
        """Account a function's string result (its arguments are released, as the runner does)."""
        size = 26 + 2 * len(result) if isinstance(result, str) else 24
        self.memory = mark + size
        if self.memory > MAX_MEMORY:
            raise evaluation_error("The maximum allowed memory size was exceeded")
