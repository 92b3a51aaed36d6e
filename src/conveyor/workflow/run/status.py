"""Status functions (`success()`, `failure()`, `cancelled()`, `always()`) as expression Functions.

The expression evaluator (`conveyor.workflow.expr`) has no status functions built in: the
engine passes these in `EvalContext.functions`. Step level (`steps.py`) they read the job's
status; job level (`scheduler.py`) they read the results of the job's ancestors and accept
job ids as arguments (`failure('build')`), as GitHub's schema allows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from conveyor.workflow.expr import Function, Value
from conveyor.workflow.run.results import Result

_MANY = 255


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


def job_functions(ancestors: Mapping[str, Result], *, cancelled: bool) -> dict[str, Function]:
    """Job-level status: `ancestors` maps every job the job transitively needs to the result
    its dependants see (a failed `continue-on-error` job counts as success).

    `success()` holds when no ancestor failed, was cancelled or was skipped (a skipped need
    skips the dependant); `failure()` when one failed; with arguments, only the named jobs
    count.
    """

    def _chosen(args: Sequence[Value]) -> list[Result]:
        if not args:
            return list(ancestors.values())
        wanted = {str(a).lower() for a in args}
        return [r for job_id, r in ancestors.items() if job_id.lower() in wanted]

    def _success(args: Sequence[Value]) -> Value:
        return not cancelled and all(r is Result.SUCCESS for r in _chosen(args))

    def _failure(args: Sequence[Value]) -> Value:
        return any(r is Result.FAILURE for r in _chosen(args))

    return {
        "success": Function(name="success", min_args=0, max_args=_MANY, call=_success),
        "failure": Function(name="failure", min_args=0, max_args=_MANY, call=_failure),
        "cancelled": Function(
            name="cancelled", min_args=0, max_args=0, call=lambda _args: cancelled
        ),
        "always": Function(name="always", min_args=0, max_args=0, call=lambda _args: True),
    }
