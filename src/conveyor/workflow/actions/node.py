"""Runs a local JavaScript action's `main` (`runs.using: node20|node24`) with `node` on PATH.

Called by `resolve.run_uses`. Inputs become INPUT_<NAME> variables (upper case, spaces to
`_`), defaults applied; outputs come from the step's GITHUB_OUTPUT file as for any step.
`pre`/`post` scripts come with the actions issue.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import EvalContext, evaluate_raw, to_str
from conveyor.workflow.model import Action
from conveyor.workflow.run.output import LineHandler
from conveyor.workflow.run.results import Result
from conveyor.workflow.run.scope import JobRun


async def run_node(
    action: Action,
    directory: Path,
    given: Mapping[str, str],
    *,
    jr: JobRun,
    ctx: EvalContext,
    env: Mapping[str, str],
) -> tuple[Result, dict[str, str]]:
    if not action.runs.main:
        raise ConveyorError(f"action in {directory} has no runs.main")
    lowered = {k.lower(): v for k, v in given.items()}
    process_env = dict(env)
    for name, spec in action.inputs.items():
        value = lowered.get(name.lower())
        if value is None:
            value = to_str(evaluate_raw(spec.default, ctx)) if spec.default is not None else ""
        process_env[f"INPUT_{name.upper().replace(' ', '_')}"] = value
    process_env["GITHUB_ACTION_PATH"] = str(directory)
    handler = LineHandler(jr)
    result = await jr.runner.exec(
        ["node", str(directory / action.runs.main)],
        env=process_env,
        cwd=jr.dirs.workspace,
        timeout=None,
        on_output=handler,
    )
    if result.exit_code != 0 or handler.failed:
        jr.error(f"Process completed with exit code {result.exit_code}.")
        return Result.FAILURE, {}
    return Result.SUCCESS, {}
