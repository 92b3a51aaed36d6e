"""Built-in `actions/checkout`: `conveyor.workflow.run.actions.checkout` with the step's inputs."""

from __future__ import annotations

from conveyor.workflow.run.actions.builtins import BuiltinCall
from conveyor.workflow.run.actions.checkout import checkout


async def run(call: BuiltinCall) -> dict[str, str]:
    options = call.jr.setup.session.options
    return await checkout(
        call.inputs,
        workspace=call.jr.setup.dirs.workspace,
        event=options.event,
        repo_dir=options.repo_dir,
        worktree=options.worktree,
    )
