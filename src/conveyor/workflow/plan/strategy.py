"""`strategy:` evaluated: the matrix legs, `fail-fast` and `max-parallel` of one job.

One rule for both places that plan a job's legs, through the job planner (`plan.jobs.legs`,
`plan.jobs.fail_fast`): the engine's scheduler (`conveyor.workflow.run.scheduler`) and the
CI server's dispatcher (`conveyor.ci.jobplan`), as GitHub's server evaluates `strategy`
when it plans the job, with the contexts the schema allows there (`github`, `inputs`,
`vars`, `needs`).

A strategy written with an expression key or `${{ insert }}` (or as one expression,
`strategy: ${{ fromJSON(…) }}`) is a `Strategy.template`: GitHub's template evaluator
evaluates the whole mapping first (keys, insertions, values) and only then reads its
properties, so a key that is no property of `strategy` after evaluation is an error, and so
is a strategy that does not evaluate to a mapping. A written-out strategy has its three
properties evaluated one by one.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from conveyor.workflow.expr import EvalContext, Value, evaluate_raw, is_truthy
from conveyor.workflow.model import Strategy
from conveyor.workflow.plan import matrix as matrix_plan
from conveyor.workflow.plan.errors import PlanError

#: the properties of GitHub's `strategy` definition
PROPERTIES = ("matrix", "fail-fast", "max-parallel")


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolved:
    """A job's strategy after evaluation: its legs (each a matrix combination, `{}` for a
    job without a matrix) and the values of the `strategy` context."""

    combos: tuple[dict[str, Value], ...]
    has_matrix: bool
    fail_fast: bool
    max_parallel: int | None  # None: as many as there are legs

    def context(self, index: int) -> dict[str, Value]:
        """The `strategy` context of leg `index`."""
        total = len(self.combos)
        return {
            "fail-fast": self.fail_fast,
            "job-index": index,
            "job-total": total,
            "max-parallel": self.max_parallel or total,
        }


def resolve(strategy: Strategy | None, ctx: EvalContext, *, where: str, job_id: str) -> Resolved:
    """Evaluate `strategy` and expand its matrix; `where` names it in errors
    (`ci.yml: jobs.build.strategy`). Raises `PlanError` or an evaluation error."""
    if strategy is None:
        return Resolved(combos=({},), has_matrix=False, fail_fast=True, max_parallel=None)
    if strategy.template is not None:
        values = evaluated_properties(strategy.template, ctx, where=where)
        matrix = values.get("matrix")
        fail_fast: Value = values.get("fail-fast", True)
        max_parallel = values.get("max-parallel")
    else:
        matrix = evaluate_raw(strategy.matrix, ctx)
        fail_fast = evaluate_raw(strategy.fail_fast, ctx)
        max_parallel = evaluate_raw(strategy.max_parallel, ctx)
    combos = matrix_plan.expand(matrix, where=f"{where}.matrix", job_id=job_id)
    return Resolved(
        combos=tuple(combos),
        has_matrix=matrix is not None,
        fail_fast=is_truthy(fail_fast),
        max_parallel=whole(max_parallel),
    )


def evaluated_properties(template: object, ctx: EvalContext, *, where: str) -> dict[str, Value]:
    """A `strategy` template evaluated, checked to be a mapping of `strategy`'s properties."""
    value = evaluate_raw(template, ctx)  # type: ignore[arg-type]
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise PlanError(
            f"{where}: the strategy evaluated to {type(value).__name__} "
            f"{str(value)[:80]!r}, not a mapping; a strategy is a mapping of "
            f"{', '.join(PROPERTIES)}"
        )
    unknown = [key for key in value if key not in PROPERTIES]
    if unknown:
        raise PlanError(
            f"{where}: Unexpected value '{unknown[0]}' (after evaluating the strategy's "
            f"expression keys); a strategy has only {', '.join(PROPERTIES)}"
        )
    return dict(value)


def whole(value: Value) -> int | None:
    """`max-parallel` as a positive whole number (expressions may give floats or strings)."""
    try:
        number = int(float(str(value))) if value not in (None, "") else 0
    except ValueError:
        return None
    return number if number > 0 else None
