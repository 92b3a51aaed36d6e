"""Runs the steps of a job or of a composite action, one after another.

Called by `job.py` for a job's steps and, through the `run_steps` it is handed, by a
composite action (`actions/composite.py`) for its own steps. Per step: evaluate `if`
(implicit `success()`), `name`, `env`; pick the step's kind (`factory.step_kind`: a script,
an image, an action or a built-in) and run its `main`, registering its posts; read the
step's fresh GITHUB_OUTPUT/ENV/PATH/STATE/STEP_SUMMARY files;
record `steps.<id>.outputs/outcome/conclusion`. `continue-on-error` turns a failed outcome
into a successful conclusion. A leg's `JobControl` stops the running step (its process group
is killed by the runner); steps whose `if` holds once the job is cancelled (`always()`,
`cancelled()`) still run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import TypeVar

from conveyor.core import tracing
from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import EvalContext, compile_condition, evaluate_raw, is_truthy, to_str
from conveyor.workflow.model import Step
from conveyor.workflow.run import envfiles
from conveyor.workflow.run.factory import step_kind
from conveyor.workflow.run.kinds import StepCall, StepFailed, render, render_map
from conveyor.workflow.run.results import Result, StepResult
from conveyor.workflow.run.rundir import step_log_path
from conveyor.workflow.run.scope import JobRun, Scope

T = TypeVar("T")

#: GitHub's default `cancel-timeout-minutes` (5): how long `always()` steps may run after a
#: job was cancelled.
CANCEL_TIMEOUT = 300.0

_FILES = {
    "GITHUB_OUTPUT": "set_output",
    "GITHUB_ENV": "set_env",
    "GITHUB_PATH": "add_path",
    "GITHUB_STATE": "save_state",
    "GITHUB_STEP_SUMMARY": "step_summary",
}


class StepStopped(Exception):
    """The leg was stopped (cancelled or timed out) while this step ran."""


def default_name(step: Step) -> str:
    if step.run is not None:
        first = next((ln for ln in step.run.splitlines() if ln.strip()), "")
        return f"Run {first.strip()}"
    return f"Run {step.uses}"


async def run_steps(steps: Sequence[Step], scope: Scope, jr: JobRun) -> list[StepResult]:
    return [await run_step(step, scope, jr) for step in steps]


async def run_step(step: Step, scope: Scope, jr: JobRun) -> StepResult:
    ctx = jr.eval_context(scope)
    name = default_name(step)
    try:
        if step.name is not None:
            name = render(step.name, ctx)
        condition = compile_condition(step.if_ if step.if_ is not None else "success()")
        runs = is_truthy(condition.evaluate(ctx))
    except ConveyorError as exc:
        jr.error(f"{exc}")
        return _record(
            step,
            scope,
            jr,
            name=name,
            outcome=Result.FAILURE,
            conclusion=Result.FAILURE,
            outputs={},
            duration=0.0,
        )
    if not runs:
        return _record(
            step,
            scope,
            jr,
            name=name,
            outcome=Result.SKIPPED,
            conclusion=Result.SKIPPED,
            outputs={},
            duration=0.0,
        )
    if scope.depth == 0:
        jr.state.step_counter += 1
        path = step_log_path(jr.setup.log_dir, jr.state.step_counter, step.id)
        with path.open("w", encoding="utf-8") as log:
            jr.state.log = log
            try:
                return await _execute(step, scope, jr, name)
            finally:
                jr.state.log = None
    return await _execute(step, scope, jr, name)


async def _execute(step: Step, scope: Scope, jr: JobRun, name: str) -> StepResult:
    """Run the step, timed as a span of the job's trace when it has one (issue 17); the
    span's name is the step's, masked as the log shows it."""
    with tracing.span(f"step {jr.setup.session.masker.mask(name)}") as traced:
        result = await _run(step, scope, jr, name)
        if traced is not None and result.conclusion not in (Result.SUCCESS, Result.SKIPPED):
            traced.error = str(result.conclusion)
        return result


async def _run(step: Step, scope: Scope, jr: JobRun, name: str) -> StepResult:
    console = jr.setup.session.console
    console.step_start(jr.setup.prefix, name)
    started = time.monotonic()
    outputs: dict[str, str] = {}
    outcome = Result.FAILURE
    continue_on_error = False
    try:
        ctx = jr.eval_context(scope)
        step_env = render_map(step.env, ctx)
        ctx = jr.eval_context(scope, env=jr.env_context(scope, step_env))
        continue_on_error = is_truthy(evaluate_raw(step.continue_on_error, ctx))
        timeout = _minutes(evaluate_raw(step.timeout_minutes, ctx))
        if jr.cancelled:  # steps that run after a cancellation get cancel-timeout-minutes
            timeout = min(timeout or CANCEL_TIMEOUT, CANCEL_TIMEOUT)
        body = _body(step, scope, jr, ctx=ctx, step_env=step_env, timeout=timeout)
        guarded = body if jr.cancelled or scope.depth else _guarded(body, jr)
        outcome, outputs = await guarded
    except StepStopped:
        outcome = Result.CANCELLED
        jr.error("The operation was canceled.")
    except TimeoutError:
        jr.error(f"The action '{name}' has timed out.")
    except ConveyorError as exc:
        jr.error(f"{exc}")
    conclusion = outcome
    if outcome is Result.FAILURE and continue_on_error:
        conclusion = Result.SUCCESS
    duration = time.monotonic() - started
    console.step_end(jr.setup.prefix, name, str(conclusion), duration)
    return _record(
        step,
        scope,
        jr,
        name=name,
        outcome=outcome,
        conclusion=conclusion,
        outputs=outputs,
        duration=duration,
    )


def _record(
    step: Step,
    scope: Scope,
    jr: JobRun,
    *,
    name: str,
    outcome: Result,
    conclusion: Result,
    outputs: dict[str, str],
    duration: float,
) -> StepResult:
    scope.steps[step.id] = {
        "outputs": dict(outputs),
        "outcome": str(outcome),
        "conclusion": str(conclusion),
    }
    if conclusion is Result.FAILURE:
        scope.failed = True
        if scope.depth == 0:
            jr.state.failed = True
    return StepResult(
        id=step.id,
        name=jr.setup.session.masker.mask(name),
        outcome=outcome,
        conclusion=conclusion,
        outputs=outputs,
        duration=duration,
    )


def _minutes(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        minutes = float(str(value)) if not isinstance(value, int | float) else float(value)
    except ValueError:
        raise StepFailed(f"timeout-minutes must be a number, got {value!r}") from None
    return minutes * 60 if minutes > 0 else None


async def _guarded(body: Awaitable[T], jr: JobRun) -> T:
    """Run `body` until it ends or the leg is stopped (then cancel it: the runner kills the
    step's process group)."""
    task = asyncio.ensure_future(body)
    stopper = asyncio.ensure_future(jr.setup.control.stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        stopper.cancel()
        raise
    stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    raise StepStopped


async def _body(
    step: Step,
    scope: Scope,
    jr: JobRun,
    *,
    ctx: EvalContext,
    step_env: dict[str, str],
    timeout: float | None,
) -> tuple[Result, dict[str, str]]:
    """Fresh env files, the step's kind (`factory.step_kind`) and its `main`, then what the
    step wrote to its files; its posts are registered for the job's end."""
    files = _fresh_files(jr)
    env = _process_env(step, scope, jr, step_env, files)
    inputs = render_map(step.with_, ctx) if step.uses is not None else {}
    kind = step_kind(step, jr)
    call = StepCall(
        step=step,
        scope=scope,
        jr=jr,
        ctx=ctx,
        env=env,
        inputs=inputs,
        timeout=timeout,
        run_steps=run_steps,
    )
    main = kind.main(call)
    result, own = await (
        asyncio.wait_for(main, timeout) if timeout and not kind.enforces_timeout else main
    )
    jr.state.posts.extend(kind.post())
    outputs, files_ok = _apply_files(jr, files)
    return (result if files_ok else Result.FAILURE), kind.outputs(own, outputs)


def _fresh_files(jr: JobRun) -> dict[str, Path]:
    """New, empty GITHUB_OUTPUT/ENV/PATH/STATE/STEP_SUMMARY files for the step.

    The files are created once per job and renamed (and emptied) for each later step: every
    step gets its own empty files under new names, as on GitHub, while a rename costs a
    fraction of creating a file (measured: 0.01 ms vs 0.4 ms here; five per step matter for
    short steps). They must exist: @actions/core refuses missing ones.
    """
    suffix = uuid.uuid4().hex
    if jr.state.env_files is None:
        folder = jr.setup.dirs.temp  # no `_runner_file_commands` subfolder: a mkdir per job saved
        jr.state.env_files = {var: folder / f"{stem}_{suffix}" for var, stem in _FILES.items()}
        for path in jr.state.env_files.values():
            _create(path)
        return jr.state.env_files
    fresh: dict[str, Path] = {}
    for var, old in jr.state.env_files.items():
        new = old.with_name(f"{_FILES[var]}_{suffix}")
        try:
            old.rename(new)
            if new.stat().st_size:
                os.truncate(new, 0)
        except FileNotFoundError:  # the previous step deleted it
            _create(new)
        fresh[var] = new
    jr.state.env_files = fresh
    return fresh


def _create(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))


def _process_env(
    step: Step, scope: Scope, jr: JobRun, step_env: dict[str, str], files: dict[str, Path]
) -> dict[str, str]:
    # GitHub ignores attempts to override its default variables (GITHUB_*, RUNNER_*, CI)
    env = {**jr.setup.base_env, **jr.env_context(scope, step_env), **jr.setup.default_env}
    env.update({var: str(path) for var, path in files.items()})
    env["GITHUB_ACTION"] = step.id
    if scope.depth:
        env["GITHUB_ACTION_PATH"] = scope.action_path
        for key, value in scope.inputs.items():
            env[f"INPUT_{key.upper().replace(' ', '_')}"] = to_str(value)
    if jr.state.path_prepend:
        env["PATH"] = envfiles.compose_path(jr.state.path_prepend, env.get("PATH", ""))
    return env


def _apply_files(jr: JobRun, files: dict[str, Path]) -> tuple[dict[str, str], bool]:
    """Read the step's files: outputs are returned, env/path/summary apply to the job; a
    malformed file fails the step (False)."""
    outputs: dict[str, str] = {}
    try:
        _take(files["GITHUB_STATE"])  # read by pre/post of node actions (not run yet)
        outputs = envfiles.parse_kv_file(_take(files["GITHUB_OUTPUT"]), path="GITHUB_OUTPUT")
        parsed = envfiles.parse_env_file(_take(files["GITHUB_ENV"]), path="GITHUB_ENV")
    except envfiles.EnvFileError as exc:
        jr.error(f"{exc}")
        return {**outputs, **exc.values}, False
    for message in parsed.errors:
        jr.error(f"{message}")
    jr.state.file_env.update(parsed.values)
    added = envfiles.parse_path_file(_take(files["GITHUB_PATH"]))
    jr.state.path_prepend = envfiles.extend_prepend_path(jr.state.path_prepend, added)
    summary = _take(files["GITHUB_STEP_SUMMARY"])
    if summary.strip():
        jr.state.summaries.append(summary)
    return outputs, True


def _take(path: Path) -> str:
    """The file's text (most stay empty: a stat spares opening them)."""
    try:
        if path.stat().st_size == 0:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:  # the step deleted it
        return ""
