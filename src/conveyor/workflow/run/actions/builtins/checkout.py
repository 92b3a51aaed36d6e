"""Built-in `actions/checkout`: `conveyor.workflow.run.actions.checkout` with the step's inputs."""

from __future__ import annotations

from conveyor.workflow.run.actions.builtins import BuiltinCall


async def run(call: BuiltinCall) -> dict[str, str]:
    from conveyor.workflow.run.actions.checkout import checkout

    options = call.jr.session.options
    return await checkout(
        call.inputs,
        workspace=call.jr.dirs.workspace,
        event=options.event,
        repo_dir=options.repo_dir,
        worktree=options.worktree,
    )
