"""Server-side job planning: a ready job becomes runner units, or is concluded here (pure).

Called by `ci.dispatch.JobDispatch` each time a run advances (queued, or a job concluded)
and by `ci.cancels` (`holds`). GitHub decides these on the server, before any runner is
involved, and so does Conveyor, with the engine's own planner (`workflow.plan.jobs`:
readiness, `if` with the job-level status functions, the matrix, `runs-on`, job-level
`concurrency` and `environment`); what is the CI server's own is here:

* a job skipped by its `if` or by a failed need, or with no legs, is concluded `skipped`
  without ever needing a runner; one whose `if`, matrix or `runs-on` cannot be evaluated
  is concluded `failure` with the message;
* `runs-on` (string, list, or `{group, labels}`), `concurrency` and the `environment` name
  are evaluated per leg: a unit deploys to one environment, whose protection rules the
  service applies before it is queued;
* legs that share labels, concurrency group and environment form one unit; a job whose
  legs differ becomes one unit per distinct set, each selected by the engine's matrix
  filter;
* after the run was cancelled, `cancelled()` holds and `success()` does not (`cancelled=`),
  so only jobs whose `if` says so (`always()`, `cancelled()`) still run; `holds` evaluates
  the `if` of a job already planned again that way (GitHub's cancellation re-evaluates it);
* `github_context` and `typed_inputs` give the planner's run-wide contexts from a run row.

The runner's engine plans the job again with the same planner and inputs (the needed jobs'
results and outputs come as `prior_jobs`), so both sides agree. `group` of
`{group, labels}` names a runner group, which Conveyor does not have: it is not matched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from conveyor.ci.model import Run
from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import EvalContext, Value
from conveyor.workflow.model import Job, Workflow
from conveyor.workflow.plan import jobs as planner
from conveyor.workflow.plan import matrix as matrix_plan
from conveyor.workflow.plan.event import Event
from conveyor.workflow.plan.github import RunIdentity, job_level
from conveyor.workflow.plan.inputs import dispatch_inputs
from conveyor.workflow.plan.jobs import (
    NeedDone,
    PlannedLeg,
    Result,
    RunContexts,
    fail_fast,
    holds,
    ready,
    runs_on_labels,
)

__all__ = [
    "Decision",
    "Filter",
    "NeedDone",
    "RunContexts",
    "UnitSpec",
    "fail_fast",
    "github_context",
    "holds",
    "plan_job",
    "ready",
    "runs_on_labels",
    "typed_inputs",
]

Filter = tuple[tuple[str, str], ...]


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


def plan_job(
    workflow: Workflow,
    job: Job,
    contexts: RunContexts,
    done: Mapping[str, NeedDone],
    *,
    cancelled: bool = False,
) -> Decision:
    """Decide a ready job (see the module docstring); `cancelled`: the run is cancelling."""
    ctx = planner.job_context(workflow, job, contexts, done, cancelled=cancelled)
    name = planner.job_name(job, ctx)
    try:
        if not planner.runs(job, ctx):
            return Decision(name=name, result=Result.SKIPPED)
        legs = planner.legs(workflow, job, ctx)
        if not legs:
            return Decision(name=name, result=Result.SKIPPED)
        units = _units(job, name, legs, ctx)
    except ConveyorError as exc:
        return Decision(name=name, result=Result.FAILURE, message=str(exc))
    return Decision(name=name, units=units)


def _units(
    job: Job, name: str, legs: Sequence[PlannedLeg], ctx: EvalContext
) -> tuple[UnitSpec, ...]:
    keyed: dict[tuple[tuple[str, ...], str, bool, str], list[PlannedLeg]] = {}
    for leg in legs:
        leg_ctx = planner.leg_context(ctx, leg.combo, leg.strategy)
        labels = planner.runner_labels(job, leg_ctx)
        group, cancel = planner.concurrency_key(job, leg_ctx)
        environment = planner.environment_name(job, leg_ctx)
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
    job: Job, combos: Sequence[Mapping[str, Value]], chosen: Sequence[PlannedLeg]
) -> list[list[PlannedLeg]]:
    """`chosen` as one filtered group, or leg by leg when no filter selects exactly them."""
    for parts in ([list(chosen)], [[leg] for leg in chosen]):
        if all(_exact(combos, part) for part in parts):
            return parts
    raise ConveyorError(
        f"jobs.{job.id}: its matrix legs need different runners but a leg cannot be told "
        "apart by its matrix values; give each leg a distinct value"
    )


def _filter(part: Sequence[PlannedLeg]) -> Filter:
    pairs = {
        (key, matrix_plan.scalar_text(value)) for leg in part for key, value in leg.combo.items()
    }
    return tuple(sorted(pairs))


def _exact(combos: Sequence[Mapping[str, Value]], part: Sequence[PlannedLeg]) -> bool:
    picked = matrix_plan.filter_legs(list(combos), _filter(part))
    return len(picked) == len(part) and all(any(p is leg.combo for leg in part) for p in picked)


def github_context(run: Run, workflow: Workflow) -> dict[str, Value]:
    """The `github` context of job-level keys for a run (`plan.github.job_level`, as the
    engine's scheduler builds it)."""
    payload = dict(run.payload)
    pull = payload.get("pull_request") or {}
    event = Event(
        name=run.event,
        payload=payload,
        ref=run.ref,
        sha=run.sha,
        actor=str((payload.get("sender") or {}).get("login", "")),
        repository=run.repo,
        base_ref=str((pull.get("base") or {}).get("ref", "")) if pull else "",
        head_ref=str((pull.get("head") or {}).get("ref", "")) if pull else "",
    )
    ident = RunIdentity(
        run_id=run.id,
        run_number=run.run_number,
        run_attempt=run.attempt,
        event_path=Path("event.json"),
        token="",
    )
    return job_level(event, ident, workflow=workflow, payload=payload)


def typed_inputs(workflow: Workflow, run: Run) -> dict[str, Value]:
    """The `inputs` context: workflow_dispatch inputs typed as the workflow declares them."""
    given = {str(k): str(v) for k, v in (run.payload.get("inputs") or {}).items()}
    trigger = workflow.on.get(run.event)
    if run.event != "workflow_dispatch" or trigger is None:
        return dict(given)
    try:
        return dict(dispatch_inputs(trigger.inputs, given, allow_unknown=True).typed)
    except ConveyorError:
        return dict(given)
