"""The job planner: what is decided about a job before any of its steps runs. Pure.

One rule for both places that plan jobs, as GitHub's server plans them before a runner is
involved: the engine's scheduler (`conveyor.workflow.run.scheduler`, which awaits a job's
needs, then runs its legs) and the CI server's dispatcher (`conveyor.ci.jobplan`, which
turns the legs into runner units). Each calls, in this order:

* `ready`: every job it `needs` has concluded (`NeedDone`: what dependants see of it);
* `job_context`: what the job's `if`, `name` and `strategy` read: `github` (its job-level
  form, `plan.github.job_level`), `inputs`, `vars`, `needs`, and the job-level status
  functions (`job_functions`) over the job's transitive `ancestors`; once the run was
  cancelled, `cancelled()` holds and `success()` does not;
* `runs`: the job's `if` (implicit `success()`); `holds` is the same, False when the
  condition cannot be evaluated (the CI server asks it again after a cancellation);
* `legs`: the matrix expanded by `strategy.resolve` (it may read `needs`), optionally
  narrowed by `conveyor run --matrix`;
* per leg, with `leg_context` (adds `matrix` and `strategy`): `leg_name`, `runner_labels`
  (`runs-on`), `concurrency_key` (job-level `concurrency`) and `environment_name`.

`job_name` and `fail_fast` complete it. `Result` is a job's (or step's) result as GitHub
names it; `conveyor.workflow.run.results` builds the run's results from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import (
    EvalContext,
    Function,
    Value,
    compile_condition,
    evaluate_raw,
    is_truthy,
    to_str,
)
from conveyor.workflow.model import Job, Workflow
from conveyor.workflow.plan import matrix as matrix_plan
from conveyor.workflow.plan import strategy as strategy_plan
from conveyor.workflow.plan.github import EventLike, ref_name_and_type

_MANY = 255


class Result(StrEnum):
    """A job's or step's result as GitHub names it (`needs.<id>.result`, `steps.<id>.outcome`)."""

    SUCCESS = "success"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedDone:
    """What dependants see of a concluded job: the result `needs.<id>.result` shows (a
    failed `continue-on-error` job counts as success) and its outputs."""

    result: Result
    outputs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunContexts:
    """The run-wide contexts of job-level keys (`github` in its job-level form)."""

    github: Mapping[str, Value]
    inputs: Mapping[str, Value]
    vars: Mapping[str, Value]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedLeg:
    """One matrix combination of a job (`{}` without a matrix) and its `strategy` context."""

    combo: dict[str, Value]
    strategy: dict[str, Value]
    index: int = 0


def ready(job: Job, done: Mapping[str, NeedDone]) -> bool:
    return all(need in done for need in job.needs)


def ancestors(workflow: Workflow, job: Job, done: Mapping[str, NeedDone]) -> dict[str, Result]:
    """Every concluded job `job` transitively needs, with its result (a job that did not
    conclude, or is not part of this run, hides the jobs before it)."""
    found: dict[str, Result] = {}
    pending = list(job.needs)
    while pending:
        job_id = pending.pop()
        if job_id in found or job_id not in done:
            continue
        found[job_id] = done[job_id].result
        upstream = workflow.job(job_id)
        pending.extend(upstream.needs if upstream is not None else ())
    return found


def job_functions(ancestors: Mapping[str, Result], *, cancelled: bool) -> dict[str, Function]:
    """Job-level status functions: `ancestors` maps every job the job transitively needs to
    the result its dependants see.

    `success()` holds when no ancestor failed, was cancelled or was skipped (a skipped need
    skips the dependant) and the run is not cancelled; `failure()` when one failed; with
    arguments (`failure('build')`, as GitHub's schema allows), only the named jobs count.
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


def needs_context(job: Job, done: Mapping[str, NeedDone]) -> dict[str, Value]:
    """The `needs` context: result and outputs of each concluded direct need."""
    return {
        n: {"result": str(done[n].result), "outputs": dict(done[n].outputs)}
        for n in job.needs
        if n in done
    }


def job_context(
    workflow: Workflow,
    job: Job,
    contexts: RunContexts,
    done: Mapping[str, NeedDone],
    *,
    cancelled: bool,
) -> EvalContext:
    """What a job's `if`, `name` and `strategy` read: github, inputs, vars, needs and the
    status functions."""
    base: dict[str, Value] = {
        "github": dict(contexts.github),
        "inputs": dict(contexts.inputs),
        "vars": dict(contexts.vars),
        "needs": needs_context(job, done),
    }
    functions = job_functions(ancestors(workflow, job, done), cancelled=cancelled)
    return EvalContext(contexts=base, functions=functions)


def runs(job: Job, ctx: EvalContext) -> bool:
    """Whether the job's `if` (implicit `success()`) holds; raises when it cannot be
    evaluated (the job fails)."""
    condition = compile_condition(job.if_ if job.if_ is not None else "success()")
    return is_truthy(condition.evaluate(ctx))


def holds(
    workflow: Workflow,
    job: Job,
    contexts: RunContexts,
    done: Mapping[str, NeedDone],
    *,
    cancelled: bool,
) -> bool:
    """Whether the job's `if` (implicit `success()`) holds; False when it cannot be evaluated."""
    ctx = job_context(workflow, job, contexts, done, cancelled=cancelled)
    try:
        return runs(job, ctx)
    except ConveyorError:
        return False


def job_name(job: Job, ctx: EvalContext) -> str:
    """`name:` evaluated; the job id without one, or when it cannot be evaluated."""
    if job.name is None:
        return job.id
    try:
        return to_str(evaluate_raw(job.name, ctx))
    except ConveyorError:
        return job.id


def legs(
    workflow: Workflow,
    job: Job,
    ctx: EvalContext,
    *,
    matrix_filter: Sequence[tuple[str, str]] = (),
) -> list[PlannedLeg]:
    """The job's legs (`ctx`: its `job_context`); `matrix_filter` keeps the legs
    `--matrix K:V` selects (`matrix.filter_legs`). No legs: the job is skipped."""
    where = f"{workflow.path}: jobs.{job.id}.strategy"
    strategy = strategy_plan.resolve(job.strategy, ctx, where=where, job_id=job.id)
    if matrix_filter and strategy.has_matrix:
        combos = tuple(matrix_plan.filter_legs(list(strategy.combos), matrix_filter))
        strategy = replace(strategy, combos=combos)
    return [
        PlannedLeg(combo=combo, strategy=strategy.context(index), index=index)
        for index, combo in enumerate(strategy.combos)
    ]


def leg_context(
    ctx: EvalContext, matrix: Mapping[str, Value], strategy: Mapping[str, Value]
) -> EvalContext:
    """What a leg's keys read: the job's contexts with `matrix` and `strategy` (no status
    functions: GitHub allows none in `runs-on`, `concurrency` or `environment`)."""
    return EvalContext(
        contexts={**ctx.contexts, "matrix": dict(matrix), "strategy": dict(strategy)}
    )


def leg_name(job: Job, combo: Mapping[str, Value], ctx: EvalContext) -> str:
    """A leg's display name (`ctx`: its `leg_context`): `build (linux, 3.12)`, or the
    evaluated `name:` alone when that is an expression (it names the leg itself)."""
    name = job_name(job, ctx)
    if job.name is None or "${{" not in str(job.name):
        name = matrix_plan.leg_name(name, dict(combo))
    return name


def runs_on_labels(raw: Any, ctx: EvalContext) -> tuple[str, ...]:
    """`runs-on` evaluated: a label, a list of labels, or `{group, labels}` (Conveyor has
    no runner groups: `group` is not matched)."""
    value = evaluate_raw(raw, ctx)
    if isinstance(value, Mapping):
        value = value.get("labels")
    items = value if isinstance(value, list) else [] if value is None else [value]
    labels = tuple(to_str(item).strip() for item in items)
    return tuple(label for label in labels if label)


def runner_labels(job: Job, ctx: EvalContext) -> tuple[str, ...]:
    """The labels a leg's runner must have (`ctx`: its `leg_context`); none for a
    reusable-workflow call, whose callee runs where it lands. Raises without a label."""
    if job.uses is not None:
        return ()
    labels = runs_on_labels(job.runs_on, ctx)
    if not labels:
        raise ConveyorError(f"jobs.{job.id}.runs-on evaluated to no label; give it a runner label")
    return labels


def concurrency_key(job: Job, ctx: EvalContext) -> tuple[str, bool]:
    """Job-level `concurrency` of a leg (`ctx`: its `leg_context`): the group ("" when
    none) and whether it cancels the group's running member (evaluated only with a group)."""
    if job.concurrency is None:
        return "", False
    group = to_str(evaluate_raw(job.concurrency.group, ctx))
    cancel = bool(group) and is_truthy(evaluate_raw(job.concurrency.cancel_in_progress, ctx))
    return group, cancel


def workflow_concurrency(
    workflow: Workflow,
    event: EventLike,
    *,
    payload: Mapping[str, Value],
    inputs: Mapping[str, Value],
    variables: Mapping[str, Value],
) -> tuple[str, bool]:
    """Workflow-level `concurrency` (called by the engine when a run starts and by
    `ci.triggers` when a run is queued): the group ("" when none, or when it cannot be
    evaluated) and whether it cancels the group's running run. The contexts are those a
    workflow-level key sees: `github` (event fields only), `inputs` and `vars`."""
    if workflow.concurrency is None:
        return "", False
    github: dict[str, Value] = {
        "event_name": event.name,
        "event": dict(payload),
        "ref": event.ref,
        "ref_name": ref_name_and_type(event.ref)[0],
        "sha": event.sha,
        "repository": event.repository,
        "workflow": workflow.display_name,
        "head_ref": event.head_ref or "",
        "base_ref": event.base_ref or "",
    }
    contexts = {"github": github, "inputs": dict(inputs), "vars": dict(variables)}
    ctx = EvalContext(contexts=contexts)
    try:
        group = to_str(evaluate_raw(workflow.concurrency.group, ctx))
        cancel = is_truthy(evaluate_raw(workflow.concurrency.cancel_in_progress, ctx))
    except ConveyorError:
        return "", False
    return group, cancel


def environment_name(job: Job, ctx: EvalContext) -> str:
    """The name of the environment a leg deploys to (`ctx`: its `leg_context`), "" for none."""
    if job.environment is None:
        return ""
    return to_str(evaluate_raw(job.environment.name, ctx)).strip()


def fail_fast(job: Job, contexts: RunContexts) -> bool:
    """`strategy.fail-fast` of a job (true by default and when it cannot be evaluated)."""
    if job.strategy is None:
        return True
    ctx = EvalContext(
        contexts={
            "github": dict(contexts.github),
            "inputs": dict(contexts.inputs),
            "vars": dict(contexts.vars),
        }
    )
    try:
        if job.strategy.template is not None:
            values = strategy_plan.evaluated_properties(job.strategy.template, ctx, where="")
            return is_truthy(values.get("fail-fast", True))
        return is_truthy(evaluate_raw(job.strategy.fail_fast, ctx))
    except ConveyorError:
        return True
