"""Pre and post phases of actions: their environment files and how a `pre` is shown.

`node.py` and `docker.py` call `run_pre` for an action's `pre` at the job's start (when its
`pre-if`, default `always()`, holds; shown as a `Pre <uses>` step), `hook_env` to run a
`pre`/`post` process outside the normal step loop, and `read_state` to turn GITHUB_STATE
into STATE_* for the later phases. The job-end post phase is `conveyor.workflow.run.phases`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from conveyor.workflow.expr import EvalContext, compile_condition, is_truthy
from conveyor.workflow.model import Step
from conveyor.workflow.run import envfiles
from conveyor.workflow.run.kinds import render_map
from conveyor.workflow.run.scope import JobRun, Scope

#: an action's `pre` process: (its step's context, its `with:` inputs) -> succeeded
PreBody = Callable[[EvalContext, dict[str, str]], Awaitable[bool]]

_FILES = ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE", "GITHUB_STEP_SUMMARY")


def hook_env(jr: JobRun, extra: Mapping[str, str]) -> dict[str, str]:
    """A pre/post process's environment: the job's variables, fresh env files, `extra`."""
    env = {**jr.setup.base_env, **jr.env_context(Scope()), **jr.setup.default_env}
    suffix = uuid.uuid4().hex
    for var in _FILES:
        path = jr.setup.dirs.temp / f"{var.lower()}_{suffix}"
        path.touch()
        env[var] = str(path)
    if jr.state.path_prepend:
        env["PATH"] = envfiles.compose_path(jr.state.path_prepend, env.get("PATH", ""))
    env.update(extra)
    return env


def read_state(env: Mapping[str, str]) -> dict[str, str]:
    """The STATE_* variables the process saved through its GITHUB_STATE file."""
    path = Path(env.get("GITHUB_STATE", ""))
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
    except OSError:
        return {}
    values = envfiles.parse_kv_file(text, path="GITHUB_STATE") if text else {}
    return {f"STATE_{k}": v for k, v in values.items()}


async def run_pre(
    jr: JobRun, scope: Scope, step: Step, condition: str | None, body: PreBody
) -> bool:
    """Run an action's `pre` when `condition` (`pre-if`, default `always()`) holds, shown as
    a `Pre <uses>` step; False when it failed."""
    if not is_truthy(compile_condition(condition or "always()").evaluate(jr.eval_context(Scope()))):
        return True
    ctx = jr.eval_context(scope)
    given = render_map(step.with_, ctx)
    label = f"Pre {step.uses}"
    jr.setup.session.console.step_start(jr.setup.prefix, label)
    ok = await body(ctx, given)
    jr.setup.session.console.step_end(jr.setup.prefix, label, "success" if ok else "failure", 0.0)
    return ok
