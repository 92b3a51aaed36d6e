"""Runs JavaScript actions (`runs.using: node16|node20|node24`) with the `node` on PATH.

Called by `resolve.run_action` for `main` and by `conveyor.workflow.run.job` through
`run_pres` for the `pre` of vendored actions (node `pre`, docker `pre-entrypoint`) at the
job's start, before any step. As on GitHub, a local `./` action's `pre` does not run (the
action does not exist before checkout): a warning says so. GitHub's
rules: inputs become INPUT_<NAME> (upper case, spaces to `_`), defaults are expressions;
`pre-if` and `post-if` default to `always()`; what a phase writes to GITHUB_STATE reaches the
later phases as STATE_<name>; `post` runs at the job's end (`hooks.run_posts`, reverse
order). The node on PATH is used when its major version is at least the one `using` names;
otherwise the step fails naming the version needed.
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
    result = await jr.runner.exec(
        ["node", str(directory / script)],
        env=env,
        cwd=jr.dirs.workspace,
        timeout=None,
        on_output=handler,
    )
    handler.close()
    if result.exit_code == 127 and jr.job_context.get("container"):
        jr.error(
            f"{label}: `node` was not found in the job container: a JavaScript action in a "
            "container job needs an image with Node.js on its PATH"
        )
        return False
    if result.exit_code != 0:
        jr.error(f"{label}: Process completed with exit code {result.exit_code}.")
        return False
    return not handler.failed


async def run_node(
    action: Action,
    directory: Path,
    given: Mapping[str, str],
    *,
    step: Step,
    jr: JobRun,
    ctx: EvalContext,
    env: Mapping[str, str],
) -> tuple[Result, dict[str, str]]:
    """Run `main` (after a local action's `pre`); register `post`."""
    runs = action.runs
    if not runs.main:
        raise ConveyorError(f"action in {directory} has no runs.main")
    check_node(runs.using.lower(), env.get("PATH"))
    inputs = input_env(action, given, ctx)
    state = jr.action_state.setdefault(step.id, {})
    if step.uses and step.uses.startswith("./") and runs.pre:
        jr.warning(f"`pre` execution is not supported for local action from '{step.uses}'")
    process_env = {**env, **inputs, **state, "GITHUB_ACTION_PATH": str(directory)}
    ok = await _node(runs.main, directory, process_env, jr, label="main")
    from conveyor.workflow.run.actions.hooks import read_state

    state.update(read_state(process_env))
    if runs.post:
        _register_post(action, directory, inputs, step=step, jr=jr)
    return (Result.SUCCESS if ok else Result.FAILURE), {}


def _register_post(
    action: Action, directory: Path, inputs: dict[str, str], *, step: Step, jr: JobRun
) -> None:
    post = action.runs.post
    assert post is not None

    async def run() -> bool:
        from conveyor.workflow.run.actions.hooks import hook_env

        state = jr.action_state.get(step.id, {})
        env = hook_env(jr, {**inputs, **state, "GITHUB_ACTION_PATH": str(directory)})
        return await _node(post, directory, env, jr, label="post")

    name = step.name if isinstance(step.name, str) and "${{" not in step.name else step.uses
    jr.posts.append(
        PostStep(name=f"Post {name}", condition=action.runs.post_if or "always()", run=run)
    )


def _holds(condition: str | None, jr: JobRun) -> bool:
    from conveyor.workflow.expr import compile_condition, is_truthy

    return is_truthy(compile_condition(condition or "always()").evaluate(jr.eval_context(Scope())))


async def run_pres(steps: Sequence[Step], scope: Scope, jr: JobRun) -> bool:
    """Run the `pre` of every vendored node action the job's steps use, in step order, at
    the job's start. False when one failed (the job then fails without running steps)."""
    from conveyor.workflow.run.actions.hooks import hook_env, read_state
    from conveyor.workflow.run.actions.resolve import load, locate
    from conveyor.workflow.run.steps import render_map

    for step in steps:
        if not step.uses or step.uses.startswith(("./", "docker://")):
            continue
        directory = locate(step.uses, jr)
        if directory is None:
            continue
        action = load(directory, jr)
        runs = action.runs
        using = runs.using.lower()
        is_docker = using == "docker" and bool(runs.pre_entrypoint)
        if not (using.startswith("node") and runs.pre) and not is_docker:
            continue
        if not _holds(runs.pre_if, jr):
            continue
        ctx = jr.eval_context(scope)
        given = render_map(dict(step.with_), ctx)
        label = f"Pre {step.uses}"
        jr.session.console.step_start(jr.prefix, label)
        if is_docker:
            from conveyor.workflow.run.actions.docker import run_pre_entrypoint

            ok = await run_pre_entrypoint(action, directory, given, jr=jr, ctx=ctx)
        else:
            assert runs.pre is not None
            check_node(using, jr.base_env.get("PATH"))
            inputs = input_env(action, given, ctx)
            env = hook_env(jr, {**inputs, "GITHUB_ACTION_PATH": str(directory)})
            ok = await _node(runs.pre, directory, env, jr, label="pre")
            jr.action_state.setdefault(step.id, {}).update(read_state(env))
        jr.session.console.step_end(jr.prefix, label, "success" if ok else "failure", 0.0)
        if not ok:
            return False
    return True
