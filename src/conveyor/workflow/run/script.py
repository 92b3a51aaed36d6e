"""The `run:` step kind: a script in a shell, on the job's runner.

Chosen by `factory.step_kind` for a step with `run:`; `steps.py` calls `main`. The script
is a template (`${{ }}` evaluated first); `working-directory` and `shell` come from the step,
else from `defaults.run` (a composite action's steps have no job defaults for `shell`). The
runner kills the process at the step's `timeout-minutes`. Outputs said with the legacy
`::set-output::` command are merged under those of the GITHUB_OUTPUT file.
"""

from __future__ import annotations

from pathlib import Path

from conveyor.workflow.expr import EvalContext, compile_template, to_str
from conveyor.workflow.model import Step
from conveyor.workflow.run.kinds import StepCall, StepFailed, StepKind, render
from conveyor.workflow.run.output import LineHandler
from conveyor.workflow.run.results import Result
from conveyor.workflow.run.scope import JobRun, Scope
from conveyor.workflow.run.shell import script_command


class ScriptStep(StepKind):
    """`run:`: no pre, no post."""

    enforces_timeout = True

    def __init__(self, step: Step) -> None:
        assert step.run is not None
        self.step = step
        self.script = step.run

    async def main(self, call: StepCall) -> tuple[Result, dict[str, str]]:
        step, scope, jr, ctx, env = call.step, call.scope, call.jr, call.ctx, dict(call.env)
        script = to_str(compile_template(self.script).evaluate(ctx))
        cwd = _cwd(step, scope, jr, ctx)
        shell = render(step.shell, ctx) if step.shell else None
        default = scope.defaults.shell if scope.depth == 0 else None
        argv = script_command(
            shell,
            default_shell=default,
            script=script,
            temp=jr.setup.dirs.temp,
            path=env.get("PATH"),
        )
        handler = LineHandler(jr, env=env)
        timeout = call.timeout
        result = await jr.state.runner.exec(
            argv, env=env, cwd=cwd, timeout=timeout, on_output=handler
        )
        handler.close()
        if result.timed_out:
            jr.error(f"The action '{step.id}' has timed out after {timeout or 0:g} seconds.")
            return Result.FAILURE, handler.outputs
        if result.exit_code != 0:
            jr.error(f"Process completed with exit code {result.exit_code}.")
            return Result.FAILURE, handler.outputs
        return (Result.FAILURE if handler.failed else Result.SUCCESS), handler.outputs

    def outputs(self, own: dict[str, str], files: dict[str, str]) -> dict[str, str]:
        return {**own, **files}


def _cwd(step: Step, scope: Scope, jr: JobRun, ctx: EvalContext) -> Path:
    """The step's `working-directory` (else `defaults.run`'s) under the workspace."""
    directory = step.working_directory or scope.defaults.working_directory
    cwd = jr.setup.dirs.workspace
    if directory:
        cwd = jr.setup.dirs.workspace / render(directory, ctx)
    if not cwd.is_dir():
        raise StepFailed(
            f"An error occurred trying to start process: working directory '{cwd}' does not exist"
        )
    return cwd
