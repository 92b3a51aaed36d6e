"""Runs the steps of a job or of a composite action, one after another.

Called by `job.py` for a job's steps and by `conveyor.workflow.run.actions.composite` for an
action's own steps. Per step: evaluate `if` (implicit `success()`), `name`, `env`; run the
script or the action; read the step's fresh GITHUB_OUTPUT/ENV/PATH/STATE/STEP_SUMMARY files;
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

from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import (
    EvalContext,
    compile_condition,
    compile_template,
    evaluate_mapping,
    evaluate_raw,
    is_truthy,
    to_str,
)
from conveyor.workflow.model import Raw, Step
from conveyor.workflow.run import envfiles
from conveyor.workflow.run.output import LineHandler
from conveyor.workflow.run.results import Result, StepResult
from conveyor.workflow.run.rundir import step_log_path
from conveyor.workflow.run.scope import JobRun, Scope
from conveyor.workflow.run.shell import script_command

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


class StepFailed(ConveyorError):
    """A step could not run; the message is printed as the step's error."""


def render(raw: Raw, ctx: EvalContext) -> str:
    return to_str(evaluate_raw(raw, ctx))


def render_map(raw: dict[str, Raw] | None, ctx: EvalContext) -> dict[str, str]:
    """A mapping's keys and values evaluated (`${{ insert }}` merged in), values as strings."""
    return {k: to_str(v) for k, v in evaluate_mapping(raw or {}, ctx).items()}


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
        jr.step_counter += 1
        path = step_log_path(jr.log_dir, jr.step_counter, step.id)
        with path.open("w", encoding="utf-8") as log:
            jr.log = log
            try:
                return await _execute(step, scope, jr, name)
            finally:
                jr.log = None
    return await _execute(step, scope, jr, name)


async def _execute(step: Step, scope: Scope, jr: JobRun, name: str) -> StepResult:
    console = jr.session.console
    console.step_start(jr.prefix, name)
    started = time.monotonic()
    outputs: dict[str, str] = {}
    outcome = Result.FAILURE
    continue_on_error = False
    try:
        ctx = jr.eval_context(scope)
        step_env = render_map(dict(step.env), ctx)
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
    console.step_end(jr.prefix, name, str(conclusion), duration)
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
            jr.failed = True
    return StepResult(
        id=step.id,
        name=jr.session.masker.mask(name),
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
    stopper = asyncio.ensure_future(jr.control.stop.wait())
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
    files = _fresh_files(jr)
    env = _process_env(step, scope, jr, step_env, files)
    if step.run is not None:
        result = await _run_script(step, scope, jr, ctx=ctx, env=env, timeout=timeout)
    else:
        from conveyor.workflow.run.actions.resolve import run_uses

        coro = run_uses(step, scope, jr, ctx, env)
        result = await (asyncio.wait_for(coro, timeout) if timeout else coro)
    outputs, files_ok = _apply_files(jr, files)
    if not files_ok:
        result = (Result.FAILURE, result[1])
    if step.run is not None:
        return result[0], {**result[1], **outputs}
    if result[1]:  # an action's declared outputs replace what its files said
        outputs = result[1]
    return result[0], outputs


def _fresh_files(jr: JobRun) -> dict[str, Path]:
    """New, empty GITHUB_OUTPUT/ENV/PATH/STATE/STEP_SUMMARY files for the step.

    The files are created once per job and renamed (and emptied) for each later step: every
    step gets its own empty files under new names, as on GitHub, while a rename costs a
    fraction of creating a file (measured: 0.01 ms vs 0.4 ms here; five per step matter for
    short steps). They must exist: @actions/core refuses missing ones.
    """
    suffix = uuid.uuid4().hex
    if jr.env_files is None:
        folder = jr.dirs.temp  # no `_runner_file_commands` subfolder: a mkdir per job saved
        jr.env_files = {var: folder / f"{stem}_{suffix}" for var, stem in _FILES.items()}
        for path in jr.env_files.values():
            _create(path)
        return jr.env_files
    fresh: dict[str, Path] = {}
    for var, old in jr.env_files.items():
        new = old.with_name(f"{_FILES[var]}_{suffix}")
        try:
            old.rename(new)
            if new.stat().st_size:
                os.truncate(new, 0)
        except FileNotFoundError:  # the previous step deleted it
            _create(new)
        fresh[var] = new
    jr.env_files = fresh
    return fresh


def _create(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))


def _process_env(
    step: Step, scope: Scope, jr: JobRun, step_env: dict[str, str], files: dict[str, Path]
) -> dict[str, str]:
    # GitHub ignores attempts to override its default variables (GITHUB_*, RUNNER_*, CI)
    env = {**jr.base_env, **jr.env_context(scope, step_env), **jr.default_env}
    env.update({var: str(path) for var, path in files.items()})
    env["GITHUB_ACTION"] = step.id
    if scope.depth:
        env["GITHUB_ACTION_PATH"] = scope.action_path
        for key, value in scope.inputs.items():
            env[f"INPUT_{key.upper().replace(' ', '_')}"] = to_str(value)
    if jr.path_prepend:
        env["PATH"] = envfiles.compose_path(jr.path_prepend, env.get("PATH", ""))
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
    jr.file_env.update(parsed.values)
    added = envfiles.parse_path_file(_take(files["GITHUB_PATH"]))
    jr.path_prepend = envfiles.extend_prepend_path(jr.path_prepend, added)
    summary = _take(files["GITHUB_STEP_SUMMARY"])
    if summary.strip():
        jr.summaries.append(summary)
    return outputs, True


def _take(path: Path) -> str:
    """The file's text (most stay empty: a stat spares opening them)."""
    try:
        if path.stat().st_size == 0:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:  # the step deleted it
        return ""


async def _run_script(
    step: Step,
    scope: Scope,
    jr: JobRun,
    *,
    ctx: EvalContext,
    env: dict[str, str],
    timeout: float | None,
) -> tuple[Result, dict[str, str]]:
    assert step.run is not None
    script = to_str(compile_template(step.run).evaluate(ctx))
    directory = step.working_directory or scope.defaults.working_directory
    cwd = jr.dirs.workspace
    if directory:
        cwd = jr.dirs.workspace / render(directory, ctx)
    if not cwd.is_dir():
        raise StepFailed(
            f"An error occurred trying to start process: working directory '{cwd}' does not exist"
        )
    shell = render(step.shell, ctx) if step.shell else None
    default = scope.defaults.shell if scope.depth == 0 else None
    argv = script_command(
        shell, default_shell=default, script=script, temp=jr.dirs.temp, path=env.get("PATH")
    )
    handler = LineHandler(jr, env=env)
    result = await jr.runner.exec(argv, env=env, cwd=cwd, timeout=timeout, on_output=handler)
    handler.close()
    if result.timed_out:
        jr.error(f"The action '{step.id}' has timed out after {timeout or 0:g} seconds.")
        return Result.FAILURE, handler.outputs
    if result.exit_code != 0:
        jr.error(f"Process completed with exit code {result.exit_code}.")
        return Result.FAILURE, handler.outputs
    return (Result.FAILURE if handler.failed else Result.SUCCESS), handler.outputs
