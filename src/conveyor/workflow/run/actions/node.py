"""Runs JavaScript actions (`runs.using: node16|node20|node24`) with the `node` on PATH.

`NodeStep` is the step kind `conveyor.workflow.run.factory` picks for such an action:
`pre` runs at the job's start for a vendored action (`phases.run_pres`; as on GitHub, a
local `./` action's `pre` does not run, since the action does not exist before checkout: a
warning says so), `main` in the step's turn, `post` at the job's end (`phases.run_posts`,
reverse order). GitHub's rules: inputs become INPUT_<NAME> (upper case, spaces to `_`),
defaults are expressions; `pre-if` and `post-if` default to `always()`; what a phase writes
to GITHUB_STATE reaches the later phases as STATE_<name>. The node on PATH is used when its
major version is at least the one `using` names; otherwise the step fails naming the version
needed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from conveyor.core.errors import ConveyorError
from conveyor.workflow.expr import EvalContext, evaluate_raw, to_str
from conveyor.workflow.model import Action, Step
from conveyor.workflow.run.actions.hooks import hook_env, read_state, run_pre
from conveyor.workflow.run.kinds import StepCall, StepKind
from conveyor.workflow.run.output import LineHandler
from conveyor.workflow.run.results import Result
from conveyor.workflow.run.scope import JobRun, PostStep, Scope

_VERSIONS: dict[str, int | None] = {}


def input_env(action: Action, given: Mapping[str, str], ctx: EvalContext) -> dict[str, str]:
    """INPUT_* variables: `with:` values, else the input's default (an expression)."""
    lowered = {k.lower(): v for k, v in given.items()}
    out: dict[str, str] = {}
    for name, spec in action.inputs.items():
        value = lowered.get(name.lower())
        if value is None:
            value = to_str(evaluate_raw(spec.default, ctx)) if spec.default is not None else ""
        out[f"INPUT_{name.upper().replace(' ', '_')}"] = value
    for key, value in lowered.items():  # undeclared inputs still reach the process
        out.setdefault(f"INPUT_{key.upper().replace(' ', '_')}", value)
    return out


def node_major(path: str | None) -> int | None:
    """The major version of `node` on `path` (None: not installed)."""
    key = path or ""
    if key not in _VERSIONS:
        found = shutil.which("node", path=path)
        major = None
        if found is not None:
            out = subprocess.run([found, "--version"], capture_output=True, text=True, check=False)
            match = re.match(r"v(\d+)", out.stdout.strip())
            major = int(match.group(1)) if match else None
        _VERSIONS[key] = major
    return _VERSIONS[key]


def check_node(using: str, path: str | None) -> None:
    wanted = int(using[4:]) if using[4:].isdigit() else 20
    have = node_major(path)
    if have is None or have < wanted:
        found = "no node on PATH" if have is None else f"node on PATH is v{have}"
        raise ConveyorError(
            f"this action runs on {using} and needs Node.js {wanted} or newer; {found}. "
            f"Install Node.js {wanted}+ and put it on PATH"
        )


async def _node(
    script: str, directory: Path, env: dict[str, str], jr: JobRun, *, label: str
) -> bool:
    handler = LineHandler(jr, env=env)
    result = await jr.state.runner.exec(
        ["node", str(directory / script)],
        env=env,
        cwd=jr.setup.dirs.workspace,
        timeout=None,
        on_output=handler,
    )
    handler.close()
    if result.exit_code == 127 and jr.state.job_context.get("container"):
        jr.error(
            f"{label}: `node` was not found in the job container: a JavaScript action in a "
            "container job needs an image with Node.js on its PATH"
        )
        return False
    if result.exit_code != 0:
        jr.error(f"{label}: Process completed with exit code {result.exit_code}.")
        return False
    return not handler.failed


class NodeStep(StepKind):
    """A `runs.using: node*` action: `pre`, `main`, `post` scripts run by `node`."""

    def __init__(self, action: Action, directory: Path, step: Step) -> None:
        self.action, self.directory, self.step = action, directory, step
        self._posts: tuple[PostStep, ...] = ()  # `post`, once `main` ran

    async def pre(self, jr: JobRun, scope: Scope) -> bool:
        runs = self.action.runs
        if not runs.pre:
            return True
        script = runs.pre

        async def body(ctx: EvalContext, given: dict[str, str]) -> bool:
            check_node(runs.using.lower(), jr.setup.base_env.get("PATH"))
            inputs = input_env(self.action, given, ctx)
            env = hook_env(jr, {**inputs, "GITHUB_ACTION_PATH": str(self.directory)})
            ok = await _node(script, self.directory, env, jr, label="pre")
            jr.state.action_state.setdefault(self.step.id, {}).update(read_state(env))
            return ok

        return await run_pre(jr, scope, self.step, runs.pre_if, body)

    async def main(self, call: StepCall) -> tuple[Result, dict[str, str]]:
        """Run `main` (a local action's `pre` is not run: a warning says so)."""
        runs, step, jr, env = self.action.runs, self.step, call.jr, call.env
        if not runs.main:
            raise ConveyorError(f"action in {self.directory} has no runs.main")
        check_node(runs.using.lower(), env.get("PATH"))
        inputs = input_env(self.action, call.inputs, call.ctx)
        state = jr.state.action_state.setdefault(step.id, {})
        if step.uses and step.uses.startswith("./") and runs.pre:
            jr.warning(f"`pre` execution is not supported for local action from '{step.uses}'")
        process_env = {**env, **inputs, **state, "GITHUB_ACTION_PATH": str(self.directory)}
        ok = await _node(runs.main, self.directory, process_env, jr, label="main")
        state.update(read_state(process_env))
        if runs.post:
            self._posts = (self._post(runs.post, inputs, jr),)
        return (Result.SUCCESS if ok else Result.FAILURE), {}

    def post(self) -> Sequence[PostStep]:
        return self._posts

    def _post(self, script: str, inputs: dict[str, str], jr: JobRun) -> PostStep:
        step, directory = self.step, self.directory

        async def run() -> bool:
            state = jr.state.action_state.get(step.id, {})
            env = hook_env(jr, {**inputs, **state, "GITHUB_ACTION_PATH": str(directory)})
            return await _node(script, directory, env, jr, label="post")

        name = step.name if isinstance(step.name, str) and "${{" not in step.name else step.uses
        condition = self.action.runs.post_if or "always()"
        return PostStep(name=f"Post {name}", condition=condition, run=run)
