"""Calls a local reusable workflow (`jobs.<id>.uses: ./.github/workflows/x.yml`).

Called by the scheduler for a caller leg (each matrix leg of a caller is its own call); the
scheduler hands `run_call` the leg's contexts and the callable that runs the callee (a
nested scheduler), so this module does not know the scheduler.
GitHub's rules: `with:` values are typed by the callee's `on.workflow_call.inputs`;
`secrets:` passes the named secrets or, with `inherit`, all of the caller's; GITHUB_TOKEN is
always there; the caller's `env` is NOT propagated; the `github` context is the caller's.
The callee's jobs appear in the results as `caller / callee job` with `parent` = caller id;
the caller's result combines theirs and its outputs are the callee's
`on.workflow_call.outputs`, evaluated over the `jobs` context.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping

from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import EvalContext, Value, evaluate_mapping, evaluate_raw, to_str
from conveyor.workflow.model import InputSpec, Workflow
from conveyor.workflow.plan.inputs import call_inputs
from conveyor.workflow.plan.jobs import NeedDone, Result
from conveyor.workflow.run.job import Leg, WorkflowCall
from conveyor.workflow.run.results import JobResult, combine
from conveyor.workflow.run.scope import JobControl
from conveyor.workflow.run.selection import load_called
from conveyor.workflow.run.session import Session

MAX_DEPTH = 10

#: Runs a called workflow, stopped with the caller leg's control: its results (every callee
#: job) and its jobs as dependants see them. The scheduler hands its own (`Scheduler._called`).
RunWorkflow = Callable[
    [WorkflowCall, JobControl], Awaitable[tuple[list[JobResult], Mapping[str, NeedDone]]]
]


async def run_call(
    session: Session,
    call: WorkflowCall,
    leg: Leg,
    control: JobControl,
    *,
    contexts: Mapping[str, Value],
    run: RunWorkflow,
) -> JobResult:
    """Run caller `leg` of `call`: `contexts` are what its keys read (the planner's leg
    context: github, inputs, vars, needs, matrix, strategy)."""
    started = time.monotonic()
    job = leg.job
    assert job.uses is not None
    try:
        callee, inputs, secrets = _resolve(session, call, leg, contexts)
    except ConveyorError as exc:
        session.console.line(call.prefix(leg.name), f"Error: {exc}")
        return JobResult(id=job.id, name=leg.name, result=Result.FAILURE, parent=call.parent)
    sub = WorkflowCall(
        workflow=callee,
        inputs=inputs,
        secrets=secrets,
        event_payload=call.event_payload,
        parent=job.id,
        name_prefix=f"{leg.name} / ",
        depth=call.depth + 1,
        root=call.top,
        event_path=call.event_path,
    )
    results, finished = await run(sub, control)
    own = [r for r in results if r.parent == job.id]
    verdict = combine(r.needs_result for r in own)
    if control.stop.is_set() and verdict is not Result.FAILURE:
        verdict = Result.CANCELLED
    outputs = _outputs(callee, finished, {**contexts, "inputs": dict(inputs)})
    return JobResult(
        id=job.id,
        name=leg.name,
        result=verdict,
        matrix=dict(leg.matrix) or None,
        outputs=outputs,
        duration=time.monotonic() - started,
        parent=call.parent,
    )


def _resolve(
    session: Session, call: WorkflowCall, leg: Leg, contexts: Mapping[str, Value]
) -> tuple[Workflow, dict[str, Value], dict[str, str]]:
    """The callee, its typed `with:` inputs and its secrets; raises when the call is wrong."""
    job = leg.job
    assert job.uses is not None
    if call.depth + 1 > MAX_DEPTH:
        raise ConveyorError(f"reusable workflows nest deeper than {MAX_DEPTH} levels")
    callee = load_called(job.uses, repo_dir=session.options.repo_dir)
    trigger = callee.call_trigger
    if trigger is None:
        raise ConveyorError(f"{callee.path} is not a reusable workflow (no on.workflow_call)")
    ctx = EvalContext(contexts=contexts)
    given = evaluate_mapping(job.with_, ctx)
    given = {**_expression_defaults(trigger.inputs, given, contexts), **given}
    inputs = call_inputs(trigger.inputs, given, where=f"{call.workflow.path}: jobs.{job.id}")
    return callee, dict(inputs), _secrets(job.secrets, call, contexts)


def _secrets(spec: object, call: WorkflowCall, contexts: Mapping[str, Value]) -> dict[str, str]:
    token = call.secrets.get("GITHUB_TOKEN", "")
    if spec == "inherit":
        return dict(call.secrets)
    out = {"GITHUB_TOKEN": token}
    if isinstance(spec, dict):
        ctx = EvalContext(contexts={**contexts, "secrets": dict(call.secrets)})
        out.update({k: to_str(evaluate_raw(v, ctx)) for k, v in spec.items()})
    return out


def _outputs(
    callee: Workflow, finished: Mapping[str, NeedDone], contexts: Mapping[str, Value]
) -> dict[str, str]:
    trigger = callee.call_trigger
    if trigger is None or not trigger.outputs:
        return {}
    jobs_ctx: dict[str, Value] = {}
    for job_id, done in finished.items():
        jobs_ctx[job_id] = {"result": str(done.result), "outputs": dict(done.outputs)}
    ctx = EvalContext(contexts={**contexts, "jobs": jobs_ctx})
    out: dict[str, str] = {}
    for name, spec in trigger.outputs.items():
        try:
            out[name] = to_str(evaluate_raw(spec.value, ctx))
        except ConveyorError:
            out[name] = ""
    return out


def _expression_defaults(
    specs: Mapping[str, InputSpec], given: Mapping[str, Value], contexts: Mapping[str, Value]
) -> dict[str, Value]:
    """Defaults of inputs the caller did not pass that hold `${{ }}`, evaluated with the
    contexts the schema allows there (`workflow-call-input-default`: github, inputs, vars)."""
    ctx = EvalContext(
        contexts={
            "github": contexts.get("github"),
            "vars": contexts.get("vars"),
            "inputs": dict(given),
        }
    )
    return {
        name: evaluate_raw(spec.default, ctx)
        for name, spec in specs.items()
        if name not in given and isinstance(spec.default, str) and "${{" in spec.default
    }
