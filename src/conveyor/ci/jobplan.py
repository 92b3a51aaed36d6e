"""Server-side job planning: whether a ready job runs, and on which labels (pure, no I/O).

Called by `ci.dispatch.JobDispatch` each time a run advances (queued, or a job concluded).
GitHub decides these on the server, before any runner is involved, and so does Conveyor:

* a job is *ready* when every job it `needs` has concluded;
* its `if` (implicit `success()`) is evaluated with the contexts GitHub allows there
  (`github`, `needs`, `vars`, `inputs`) and the job-level status functions over its
  transitive ancestors (`workflow.run.status.job_functions`, the engine's own), so a job
  skipped by `if: false` or by a failed need is concluded without ever needing a runner;
* its matrix is expanded here (it may read `needs`), and `runs-on` (string, list, or
  `{group, labels}`) and job-level `concurrency` are evaluated per leg with `github`,
  `needs`, `strategy`, `matrix`, `vars`, `inputs`;
* `environment` (its name) is evaluated per leg with the same contexts: a unit deploys to
  one environment, whose protection rules the service applies before it is queued;
* legs that share labels, concurrency group and environment form one unit; a job whose
  legs differ becomes one unit per distinct set, each selected by the engine's matrix
  filter;
* after the run was cancelled, `cancelled()` holds and `success()` does not (`cancelled=`),
  so only jobs whose `if` says so (`always()`, `cancelled()`) still run; `holds` evaluates
  the `if` of a job already planned again that way (GitHub's cancellation re-evaluates it).

The runner's engine evaluates `if` and the matrix again with the same inputs (the needed
jobs' results and outputs come as `prior_jobs`), so both sides agree. `group` of
`{group, labels}` names a runner group, which Conveyor does not have: it is not matched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import (
    EvalContext,
    Value,
    compile_condition,
    evaluate_raw,
    is_truthy,
    to_str,
)
from conveyor.workflow.model import Job, Workflow
from conveyor.workflow.plan import matrix as matrix_plan
from conveyor.workflow.plan import strategy as strategy_plan
from conveyor.workflow.run.results import Result
from conveyor.workflow.run.status import job_functions

Filter = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NeedDone:
    """What dependants see of a concluded job: its result and outputs."""

    result: Result
    outputs: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitSpec:
    """One runner's share of a job: labels it needs, the legs it runs (None: all)."""

    name: str
    labels: tuple[str, ...]
    matrix_filter: Filter | None = None
    concurrency_group: str = ""
    cancel_in_progress: bool = False
    environment: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """A ready job: concluded here (`result` skipped or failure, `message`) or `units`."""

    name: str
    result: Result | None = None
    message: str = ""
    units: tuple[UnitSpec, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunContexts:
    """The run-wide contexts of job-level keys."""

    github: Mapping[str, Value]
    inputs: Mapping[str, Value]
    vars: Mapping[str, Value]


def ready(job: Job, done: Mapping[str, NeedDone]) -> bool:
    return all(need in done for need in job.needs)


def ancestors(workflow: Workflow, job: Job, done: Mapping[str, NeedDone]) -> dict[str, Result]:
    """Every concluded job `job` transitively needs, with its result."""
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


def _job_context(
    workflow: Workflow,
    job: Job,
    contexts: RunContexts,
    done: Mapping[str, NeedDone],
    *,
    cancelled: bool,
) -> EvalContext:
    """What a job's `if` reads: github, inputs, vars, needs and the status functions."""
    needs: dict[str, Value] = {
        n: {"result": str(done[n].result), "outputs": dict(done[n].outputs)}
        for n in job.needs
        if n in done
    }
    base: dict[str, Value] = {
        "github": dict(contexts.github),
        "inputs": dict(contexts.inputs),
        "vars": dict(contexts.vars),
        "needs": needs,
    }
    functions = job_functions(ancestors(workflow, job, done), cancelled=cancelled)
    return EvalContext(contexts=base, functions=functions)


def holds(
    workflow: Workflow,
    job: Job,
    contexts: RunContexts,
    done: Mapping[str, NeedDone],
    *,
    cancelled: bool,
) -> bool:
    """Whether the job's `if` (implicit `success()`) holds; False when it cannot be evaluated."""
    ctx = _job_context(workflow, job, contexts, done, cancelled=cancelled)
    try:
        condition = compile_condition(job.if_ if job.if_ is not None else "success()")
        return is_truthy(condition.evaluate(ctx))
    except ConveyorError:
        return False


def plan_job(
    workflow: Workflow,
    job: Job,
    contexts: RunContexts,
    done: Mapping[str, NeedDone],
    *,
    cancelled: bool = False,
) -> Decision:
    """Decide a ready job (see the module docstring); `cancelled`: the run is cancelling."""
    ctx = _job_context(workflow, job, contexts, done, cancelled=cancelled)
    base = dict(ctx.contexts)
    name = _name(job, ctx)
    try:
        condition = compile_condition(job.if_ if job.if_ is not None else "success()")
        if not is_truthy(condition.evaluate(ctx)):
            return Decision(name=name, result=Result.SKIPPED)
        legs = _legs(workflow, job, ctx)
        if not legs:
            return Decision(name=name, result=Result.SKIPPED)
        units = _units(job, name, legs, base)
    except ConveyorError as exc:
        return Decision(name=name, result=Result.FAILURE, message=str(exc))
    return Decision(name=name, units=units)


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


def _name(job: Job, ctx: EvalContext) -> str:
    if job.name is None:
        return job.id
    try:
        return to_str(evaluate_raw(job.name, ctx))
    except ConveyorError:
        return job.id


@dataclass(frozen=True, slots=True, kw_only=True)
class _Leg:
    combo: Mapping[str, Value]
    strategy: Mapping[str, Value]


def _legs(workflow: Workflow, job: Job, ctx: EvalContext) -> list[_Leg]:
    where = f"{workflow.path}: jobs.{job.id}.strategy"
    strategy = strategy_plan.resolve(job.strategy, ctx, where=where, job_id=job.id)
    return [
        _Leg(combo=combo, strategy=strategy.context(index))
        for index, combo in enumerate(strategy.combos)
    ]


def runs_on_labels(raw: Any, ctx: EvalContext) -> tuple[str, ...]:
    """`runs-on` evaluated: a label, a list of labels, or `{group, labels}` (group unmatched)."""
    value = evaluate_raw(raw, ctx)
    if isinstance(value, Mapping):
        value = value.get("labels")
    items = value if isinstance(value, list) else [] if value is None else [value]
    labels = tuple(to_str(item).strip() for item in items)
    return tuple(label for label in labels if label)


def _units(
    job: Job, name: str, legs: Sequence[_Leg], base: Mapping[str, Value]
) -> tuple[UnitSpec, ...]:
    keyed: dict[tuple[tuple[str, ...], str, bool, str], list[_Leg]] = {}
    for leg in legs:
        ctx = EvalContext(
            contexts={**base, "matrix": dict(leg.combo), "strategy": dict(leg.strategy)}
        )
        labels: tuple[str, ...] = ()
        if job.uses is None:  # a reusable-workflow call runs its callee where it lands
            labels = runs_on_labels(job.runs_on, ctx)
            if not labels:
                raise ConveyorError(
                    f"jobs.{job.id}.runs-on evaluated to no label; give it a runner label"
                )
        group, cancel = "", False
        if job.concurrency is not None:
            group = to_str(evaluate_raw(job.concurrency.group, ctx))
            cancel = bool(group) and is_truthy(
                evaluate_raw(job.concurrency.cancel_in_progress, ctx)
            )
        environment = ""
        if job.environment is not None:
            environment = to_str(evaluate_raw(job.environment.name, ctx)).strip()
        keyed.setdefault((labels, group, cancel, environment), []).append(leg)
    if len(keyed) == 1:  # the whole job on one runner: fail-fast and max-parallel stay exact
        (labels, group, cancel, environment), _ = next(iter(keyed.items()))
        return (
            UnitSpec(
                name=name,
                labels=labels,
                concurrency_group=group,
                cancel_in_progress=cancel,
                environment=environment,
            ),
        )
    combos = [leg.combo for leg in legs]
    units: list[UnitSpec] = []
    for (labels, group, cancel, environment), chosen in keyed.items():
        for part in _selectable(job, combos, chosen):
            shown = matrix_plan.leg_name(name, dict(part[0].combo)) if len(part) == 1 else name
            units.append(
                UnitSpec(
                    name=shown if len(part) == 1 else f"{name} ({', '.join(labels)})",
                    labels=labels,
                    matrix_filter=_filter(part),
                    concurrency_group=group,
                    cancel_in_progress=cancel,
                    environment=environment,
                )
            )
    return tuple(units)


def _selectable(
    job: Job, combos: Sequence[Mapping[str, Value]], chosen: Sequence[_Leg]
) -> list[list[_Leg]]:
    """`chosen` as one filtered group, or leg by leg when no filter selects exactly them."""
    for parts in ([list(chosen)], [[leg] for leg in chosen]):
        if all(_exact(combos, part) for part in parts):
            return parts
    raise ConveyorError(
        f"jobs.{job.id}: its matrix legs need different runners but a leg cannot be told "
        "apart by its matrix values; give each leg a distinct value"
    )


def _filter(part: Sequence[_Leg]) -> Filter:
    pairs = {(key, _text(value)) for leg in part for key, value in leg.combo.items()}
    return tuple(sorted(pairs))


def _exact(combos: Sequence[Mapping[str, Value]], part: Sequence[_Leg]) -> bool:
    picked = matrix_plan.filter_legs(list(combos), _filter(part))
    return len(picked) == len(part) and all(any(p is leg.combo for leg in part) for p in picked)


def _text(value: Value) -> str:
    """A matrix value as the engine's filter renders it (`matrix.filter_legs`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        whole = value.is_integer() and abs(value) < 1e15
        return str(int(value)) if whole else format(value, ".15g")
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def github_context(run: Mapping[str, Any], workflow: Workflow) -> dict[str, Value]:
    """The `github` context of job-level keys for a run row (as the engine builds it)."""
    from conveyor.workflow.plan.event import Event
    from conveyor.workflow.run.contexts import RunIdentity
    from conveyor.workflow.run.contexts import github_context as engine_github

    payload = dict(run["payload"] or {})
    pull = payload.get("pull_request") or {}
    event = Event(
        name=str(run["event"]),
        payload=payload,
        ref=str(run["ref"]),
        sha=str(run["sha"]),
        actor=str((payload.get("sender") or {}).get("login", "")),
        repository=str(run["repo"]),
        base_ref=str((pull.get("base") or {}).get("ref", "")) if pull else "",
        head_ref=str((pull.get("head") or {}).get("ref", "")) if pull else "",
    )
    ident = RunIdentity(
        run_id=int(run["id"]),
        run_number=int(run["run_number"]),
        run_attempt=int(run["attempt"]),
        event_path=Path("event.json"),
        token="",
    )
    github = engine_github(
        event,
        ident,
        workflow_name=workflow.display_name,
        workflow_path=workflow.path,
        job_id="",
        workspace=Path(),
    )
    github["workspace"] = ""
    return github


def typed_inputs(workflow: Workflow, run: Mapping[str, Any]) -> dict[str, Value]:
    """The `inputs` context: workflow_dispatch inputs typed as the workflow declares them."""
    given = {str(k): str(v) for k, v in ((run["payload"] or {}).get("inputs") or {}).items()}
    trigger = workflow.on.get(str(run["event"]))
    if run["event"] != "workflow_dispatch" or trigger is None:
        return dict(given)
    from conveyor.workflow.plan.inputs import dispatch_inputs

    try:
        return dict(dispatch_inputs(trigger.inputs, given, allow_unknown=True).typed)
    except ConveyorError:
        return dict(given)
