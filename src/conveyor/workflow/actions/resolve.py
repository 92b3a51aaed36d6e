"""Resolves a step's `uses:` and runs it: built-in checkout, local `./path` actions.

`check_uses` is called by `conveyor.app.cmd_run` before anything runs: a remote
`owner/repo@ref` action (other than a built-in) or a `docker://` image cannot run offline,
so the run is refused with a message saying how to vendor the action. `run_uses` is called
by `conveyor.workflow.run.steps` for each `uses:` step: `actions/checkout@…` runs the
built-in; `./path` (relative to GITHUB_WORKSPACE, as on GitHub) loads `action.yml` and runs
a composite action (`composite.py`) or a node action's `main` with the `node` on PATH.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from conveyor.core.errors import ConveyorError, UserError
from conveyor.core.location import Location
from conveyor.workflow.model import Step, Workflow
from conveyor.workflow.run.results import Result

if TYPE_CHECKING:
    from conveyor.workflow.expr import EvalContext
    from conveyor.workflow.run.scope import JobRun, Scope

BUILT_INS = frozenset({"actions/checkout"})


class ActionUnavailable(UserError):
    """A `uses:` the engine cannot run offline."""


def action_name(uses: str) -> str:
    """`actions/checkout` of `actions/checkout@v4` (lower case; subpaths kept)."""
    return uses.split("@", 1)[0].lower()


def is_built_in(uses: str) -> bool:
    return action_name(uses) in BUILT_INS


def check_uses(workflows: Iterable[Workflow]) -> None:
    """Refuse, before the run starts, steps whose action is not available offline."""
    for workflow in workflows:
        for job in workflow.jobs:
            for step in job.steps:
                if step.uses is None or step.uses.startswith("./") or is_built_in(step.uses):
                    continue
                where = step.loc or Location(file=workflow.path)
                if step.uses.startswith("docker://"):
                    raise ActionUnavailable(
                        f"step uses the container image '{step.uses}': docker steps are not "
                        "supported by the host runner",
                        location=where,
                        hint="replace it with a `run:` step",
                    )
                name = action_name(step.uses)
                raise ActionUnavailable(
                    f"action '{step.uses}' is not available offline",
                    location=where,
                    hint=(
                        f"vendor it: copy the action's repository into this repository (e.g. "
                        f".github/actions/{name.replace('/', '-')}) and write "
                        f"`uses: ./.github/actions/{name.replace('/', '-')}`"
                    ),
                )


async def run_uses(
    step: Step, scope: Scope, jr: JobRun, ctx: EvalContext, env: Mapping[str, str]
) -> tuple[Result, dict[str, str]]:
    """Run a `uses:` step; returns its outcome and the outputs the caller sees."""
    from conveyor.workflow.run.steps import render_map

    assert step.uses is not None
    inputs = render_map(dict(step.with_), ctx)
    if is_built_in(step.uses):
        from conveyor.workflow.actions.checkout import checkout

        options = jr.session.options
        outputs = await checkout(
            inputs,
            workspace=jr.dirs.workspace,
            event=options.event,
            repo_dir=options.repo_dir,
            worktree=options.worktree,
        )
        return Result.SUCCESS, outputs
    if not step.uses.startswith("./"):
        raise ConveyorError(f"action '{step.uses}' is not available offline")
    directory = (jr.dirs.workspace / step.uses).resolve()
    if not directory.is_dir():
        raise ConveyorError(
            f"Can't find 'action.yml' for action '{step.uses}' in {directory}. Did you forget "
            "to run actions/checkout before running your local action?"
        )
    from conveyor.workflow.load import load_action

    action = load_action(directory, root=jr.dirs.workspace)
    using = action.runs.using.lower()
    if using == "composite":
        from conveyor.workflow.actions.composite import run_composite

        return await run_composite(
            action, directory, inputs, step=step, outer=scope, jr=jr, env=env
        )
    if using.startswith("node"):
        from conveyor.workflow.actions.node import run_node

        return await run_node(action, directory, inputs, jr=jr, ctx=ctx, env=env)
    raise ConveyorError(
        f"action '{step.uses}' uses '{action.runs.using}', which the host runner cannot run"
    )


def action_dir(jr: JobRun, uses: str) -> Path:
    return (jr.dirs.workspace / uses).resolve()
