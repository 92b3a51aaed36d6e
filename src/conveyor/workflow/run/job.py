"""Runs one job leg (a plain job, or one matrix combination) on a fresh workspace.

Called by the scheduler once per leg, after the job's `if` held and the leg's concurrency
group and parallelism slot were granted. Builds the leg's contexts and GITHUB_*/RUNNER_*
variables, runs the steps, enforces `timeout-minutes` (the leg is stopped, its process group
killed, the result is `failure` as on GitHub), evaluates the job's `outputs` at the end and
writes the concatenated step summaries to `summary.md` next to the step logs.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from conveyor.clients.podman_images import BUSYBOX_IMAGE
from conveyor.core.errors import ConveyorError
from conveyor.runners.base import JobDirs, base_environment, make_job_dirs
from conveyor.workflow.expr import (
    EvalContext,
    Value,
    evaluate_raw,
    hash_files_function,
    is_truthy,
    to_str,
)
from conveyor.workflow.model import Job, RunDefaults, Workflow
from conveyor.workflow.plan import containers as container_plan
from conveyor.workflow.plan.github import github_context
from conveyor.workflow.plan.jobs import environment_name
from conveyor.workflow.run.actions.store import ActionStore
from conveyor.workflow.run.containers import JobContainers
from conveyor.workflow.run.contexts import job_variables, runner_context
from conveyor.workflow.run.kinds import render_map
from conveyor.workflow.run.phases import run_posts, run_pres
from conveyor.workflow.run.platform import current
from conveyor.workflow.run.results import JobResult, Result, StepResult
from conveyor.workflow.run.rundir import job_log_dir
from conveyor.workflow.run.scope import JobControl, JobRun, JobSetup, JobState, Scope
from conveyor.workflow.run.session import Session
from conveyor.workflow.run.sidecars import SidecarServices
from conveyor.workflow.run.steps import run_steps

DEFAULT_TIMEOUT_MINUTES = 360


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkflowCall:
    """A workflow as it runs: top level, or called by a reusable-workflow job."""

    workflow: Workflow
    inputs: Mapping[str, Value] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    event_payload: Mapping[str, Value] = field(default_factory=dict)
    parent: str | None = None  # caller job id
    name_prefix: str = ""  # "caller / "
    depth: int = 0
    root: Workflow | None = None  # the top-level workflow of a callee (names, logs)
    event_path: str | None = None  # GITHUB_EVENT_PATH when this workflow's payload differs

    @property
    def top(self) -> Workflow:
        return self.root or self.workflow

    def prefix(self, leg_name: str) -> str:
        """The console prefix `workflow/job (matrix)` (callees under their caller's workflow)."""
        return f"{self.top.display_name}/{leg_name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Leg:
    """One matrix combination of a ready job, with what its contexts need."""

    job: Job
    name: str
    matrix: Mapping[str, Value]
    strategy: Mapping[str, Value]
    needs: Mapping[str, Value]
    index: int = 0


def job_contexts(session: Session, call: WorkflowCall, leg: Leg) -> dict[str, Value]:
    """The contexts every expression of the leg may see (env/steps/job are added later)."""
    return {
        "vars": dict(session.options.vars),
        "secrets": dict(call.secrets),
        "inputs": dict(call.inputs),
        "matrix": dict(leg.matrix),
        "strategy": dict(leg.strategy),
        "needs": dict(leg.needs),
    }


def leg_context(contexts: Mapping[str, Value], env: Mapping[str, str]) -> EvalContext:
    return EvalContext(contexts={**contexts, "env": dict(env)})


def _minutes(value: Value, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value) if isinstance(value, int | float) else float(str(value))
    except ValueError:
        raise ConveyorError(f"timeout-minutes must be a number, got {value!r}") from None


def _new_run(session: Session, call: WorkflowCall, leg: Leg, control: JobControl) -> JobRun:
    """The leg's setup (directories, contexts, default variables) and its initial state."""
    job, options, wf = leg.job, session.options, call.workflow
    top = call.top
    dirs = make_job_dirs(options.run_dir, f"{top.path.rsplit('/', 1)[-1]}-{leg.name}")
    github = github_context(
        options.event,
        session.identity,
        workflow_name=wf.display_name,
        workflow_path=wf.path,
        job_id=job.id,
        workspace=dirs.workspace,
    )
    github["event"] = dict(call.event_payload)
    if call.event_path:
        github["event_path"] = call.event_path
    runner = runner_context(temp=dirs.temp, tool_cache=dirs.tool_cache, debug=options.debug)
    setup = JobSetup(
        session=session,
        workflow=wf,
        job=job,
        name=leg.name,
        prefix=call.prefix(leg.name),
        dirs=dirs,
        log_dir=job_log_dir(options.run_dir, top.path, leg.name),
        base_env=base_environment(tty=options.tty),
        default_env=job_variables(github, runner),
        control=control,
        hash_files=hash_files_function(dirs.workspace),
    )
    contexts = {**job_contexts(session, call, leg), "github": github, "runner": runner}
    return JobRun(setup, JobState(runner=session.runner_factory(), contexts=contexts))


async def run_job(session: Session, call: WorkflowCall, leg: Leg, control: JobControl) -> JobResult:
    """Run the leg's steps; never raises for a failing job (the result says so)."""
    started = time.monotonic()
    job, options, wf = leg.job, session.options, call.workflow
    jr = _new_run(session, call, leg, control)
    contexts, dirs, log_dir = jr.state.contexts, jr.setup.dirs, jr.setup.log_dir
    timer: asyncio.TimerHandle | None = None
    minutes = float(DEFAULT_TIMEOUT_MINUTES)
    continue_on_error, environment = False, ""
    containers: JobContainers | SidecarServices | None = None
    step_results: list[StepResult] = []
    scope: Scope | None = None
    try:
        ctx = leg_context(contexts, options.env)
        environment = await _enter_environment(jr, leg, ctx)
        jr.state.wf_env = {**options.env, **render_map(wf.env, ctx)}
        jr.state.job_env = render_map(job.env, leg_context(contexts, jr.state.wf_env))
        ctx = leg_context(contexts, {**jr.state.wf_env, **jr.state.job_env})
        continue_on_error = is_truthy(evaluate_raw(job.continue_on_error, ctx))
        minutes = _minutes(evaluate_raw(job.timeout_minutes, ctx), DEFAULT_TIMEOUT_MINUTES)
        timer = asyncio.get_running_loop().call_later(minutes * 60, control.cancel, "timeout")
        containers = _containers(job, dirs, ctx)
        scope = Scope(defaults=_defaults(wf.defaults, job.defaults, ctx))
        step_results = await _run_steps(jr, containers, scope, ctx)
        outputs = _outputs(jr, scope)
    except ConveyorError as exc:
        jr.error(f"{exc}")
        jr.state.failed = True
        outputs = {}
    finally:
        if timer is not None:
            timer.cancel()
        step_results += await _finish(jr, containers)
    if jr.state.summaries:
        text = "\n".join(s.rstrip("\n") for s in jr.state.summaries) + "\n"
        (log_dir / "summary.md").write_text(session.masker.mask(text))
    if control.timed_out:
        jr.error(
            "The job running on runner conveyor has exceeded the maximum execution time of "
            f"{minutes:g} minutes."
        )
    verdict = await _leave_environment(jr, environment, scope, _verdict(jr, control))
    return JobResult(
        id=job.id,
        name=leg.name,
        result=verdict,
        matrix=dict(leg.matrix) or None,
        outputs=outputs,
        duration=time.monotonic() - started,
        steps=tuple(step_results),
        annotations=tuple(jr.state.annotations),
        parent=call.parent,
        continue_on_error=continue_on_error,
        log_dir=str(log_dir),
    )


async def _enter_environment(jr: JobRun, leg: Leg, ctx: EvalContext) -> str:
    """`environment:` under the CI service: wait for its gate, then add its secrets/vars.

    `conveyor run` has no gate (the name is only informative there), so nothing waits.
    """
    gate = jr.setup.session.environment_gate
    if leg.job.environment is None or gate is None:
        return ""
    name = environment_name(leg.job, ctx)  # as the CI server named it when it gated the job
    if not name:
        return ""
    release = await gate.enter(job_id=leg.job.id, job_name=leg.name, environment=name)
    for value in release.secrets.values():
        jr.setup.session.masker.add(value)
    secrets = jr.state.contexts.get("secrets")
    variables = jr.state.contexts.get("vars")
    jr.state.contexts["secrets"] = {
        **(secrets if isinstance(secrets, dict) else {}),
        **release.secrets,
    }
    jr.state.contexts["vars"] = {
        **(variables if isinstance(variables, dict) else {}),
        **release.vars,
    }
    return name


async def _leave_environment(jr: JobRun, name: str, scope: Scope | None, verdict: Result) -> Result:
    """Tell the gate how the job of environment `name` ended (with its URL); the verdict."""
    gate = jr.setup.session.environment_gate
    if gate is None or not name:
        return verdict
    url = ""
    raw = jr.setup.job.environment.url if jr.setup.job.environment is not None else None
    if raw is not None and scope is not None:
        try:
            url = to_str(evaluate_raw(raw, jr.eval_context(scope)))
        except ConveyorError as exc:
            jr.warning(f"environment url: {exc}")
    await gate.leave(
        job_id=jr.setup.job.id,
        job_name=jr.setup.name,
        environment=name,
        url=url,
        result=str(verdict),
    )
    return verdict


async def _run_steps(
    jr: JobRun, containers: JobContainers | SidecarServices | None, scope: Scope, ctx: EvalContext
) -> list[StepResult]:
    """Start the job's containers (if any), run the actions' `pre`s, then the steps."""
    if containers is not None:
        jr.state.job_context = await containers.start(host_path=jr.setup.base_env.get("PATH", ""))
        if containers.runner is not None:
            await jr.state.runner.cleanup()
            jr.state.runner = containers.runner
    if not await run_pres(jr.setup.job.steps, scope, jr):
        jr.state.failed = True
        return []
    return await run_steps(jr.setup.job.steps, scope, jr)


async def _finish(
    jr: JobRun, containers: JobContainers | SidecarServices | None
) -> list[StepResult]:
    """Post steps, then tear everything down (also after a failure or an interruption)."""
    try:
        return await run_posts(jr) if jr.state.posts else []
    finally:
        if containers is not None:
            await containers.stop()  # the job container too, with the services
        await jr.state.runner.cleanup()
        _remove(jr.setup.dirs.temp)  # scripts and env files hold secrets


def _containers(
    job: Job, dirs: JobDirs, ctx: EvalContext
) -> JobContainers | SidecarServices | None:
    """The job's Podman containers, or None when everything runs on the host; in a
    Kubernetes runner pod, the services that run beside the job (`sidecars.py`).

    The job container, then the services, are evaluated here at job start, as GitHub's
    runner does (`conveyor.workflow.plan.containers`)."""
    has_services = bool(job.services) or job.services_template is not None
    platform = current()
    if platform.sidecar_services or platform.job_container_control:
        return _sidecars(job, ctx, platform.job_container_control)
    if job.container is None and not has_services and platform.runner == "host":
        return None  # the host runs everything
    where = f"jobs.{job.id}"
    spec = None
    if job.container is not None:
        spec = container_plan.resolve(job.container, ctx, where=f"{where}.container")
    services = container_plan.resolve_services(
        job.services, job.services_template, ctx, where=where
    )
    image: str | None = None
    if spec is not None:
        image = spec.image or None  # an empty image is no container, as on GitHub
    elif platform.runner == "podman":
        labels = evaluate_raw(job.runs_on, ctx)
        if isinstance(labels, dict):
            labels = labels.get("labels")
        names = [to_str(v) for v in (labels if isinstance(labels, list) else [labels])]
        image = platform.image_for(names)
        if image is None:
            image = BUSYBOX_IMAGE
    if image is None and not services:
        return None
    store = ActionStore().root  # vendored actions run in the job container from there
    mounts = (dirs.root, store) if store.is_dir() else (dirs.root,)
    return JobContainers(container=spec, services=services, image=image, mounts=mounts)


def _sidecars(job: Job, ctx: EvalContext, control: str) -> SidecarServices:
    """The pod's other containers: services, and the job container when the pool made it
    the pod's sibling (`control`: its executor's control directory)."""
    where = f"jobs.{job.id}"
    spec = None
    if job.container is not None:
        if not control:
            raise container_plan.ContainerError(
                f"{where}.container: this runner is a Kubernetes pod made without the job "
                "container (no --sibling-job-container); a job container cannot run here"
            )
        spec = container_plan.resolve(job.container, ctx, where=f"{where}.container")
        if not spec.image:
            spec = None  # an empty image is no container, as on GitHub
    services = container_plan.resolve_services(
        job.services, job.services_template, ctx, where=where
    )
    return SidecarServices(
        services, container=spec, control=Path(control) if spec is not None else None
    )


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _verdict(jr: JobRun, control: JobControl) -> Result:
    if control.timed_out:
        return Result.FAILURE
    if control.stop.is_set():
        return Result.CANCELLED
    return Result.FAILURE if jr.state.failed else Result.SUCCESS


def _defaults(workflow: RunDefaults, job: RunDefaults, ctx: EvalContext) -> RunDefaults:
    """`defaults.run`: the job's (evaluated once at job start, with the job's `env`, as the
    schema's `job-defaults-run` context allows) over the workflow's (literal: no context).

    A job's `defaults.run` with an expression key or `${{ insert }}` is evaluated whole
    first; as GitHub's runner (JobExtension), an empty value leaves the workflow's."""
    if job.template is not None:
        values = evaluate_raw(job.template, ctx)
        if values is not None and not isinstance(values, dict):
            raise ConveyorError(
                f"jobs.<job_id>.defaults.run evaluated to {type(values).__name__}, not a "
                "mapping of shell and working-directory"
            )
        values = values or {}
        unknown = [key for key in values if key not in ("shell", "working-directory")]
        if unknown:
            raise ConveyorError(
                f"defaults.run: Unexpected value '{unknown[0]}' (after evaluating its "
                "expression keys); it has only shell and working-directory"
            )
        shell = to_str(values.get("shell"))
        directory = to_str(values.get("working-directory"))
    else:
        shell = to_str(evaluate_raw(job.shell, ctx)) if job.shell else ""
        directory = (
            to_str(evaluate_raw(job.working_directory, ctx)) if job.working_directory else ""
        )
    return RunDefaults(
        shell=shell or workflow.shell,
        working_directory=directory or workflow.working_directory,
    )


def _outputs(jr: JobRun, scope: Scope) -> dict[str, str]:
    """`jobs.<id>.outputs`, evaluated at the job's end; values holding a secret are dropped
    (GitHub: "Skip output since it may contain secret")."""
    ctx = jr.eval_context(scope)
    out: dict[str, str] = {}
    for name, raw in jr.setup.job.outputs.items():
        try:
            value = to_str(evaluate_raw(raw, ctx))
        except ConveyorError as exc:
            jr.error(f"output {name}: {exc}")
            continue
        if jr.setup.session.masker.mask(value) != value:
            jr.warning(f"Skip output '{name}' since it may contain secret.")
            continue
        out[name] = value
    return out
