"""Step-level status functions (`success()`, `failure()`, `cancelled()`, `always()`).

The expression evaluator (`conveyor.workflow.expr`) has no status functions built in: the
engine passes these in `EvalContext.functions`. Step level (`scope.py`, for `steps.py`) they
read the job's status. The job-level ones, over the results of a job's ancestors, belong to
the job planner (`conveyor.workflow.plan.jobs.job_functions`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from conveyor.workflow.expr import Function, Value


def step_functions(status: Callable[[], str]) -> dict[str, Function]:
    """`status()` is the job's current status: success, failure or cancelled."""

    def _is(wanted: str) -> Callable[[Sequence[Value]], Value]:
        return lambda _args: status() == wanted

    return {
        "success": Function(name="success", min_args=0, max_args=0, call=_is("success")),
        "failure": Function(name="failure", min_args=0, max_args=0, call=_is("failure")),
        "cancelled": Function(name="cancelled", min_args=0, max_args=0, call=_is("cancelled")),
        "always": Function(name="always", min_args=0, max_args=0, call=lambda _args: True),
    }
