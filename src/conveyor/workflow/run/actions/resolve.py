"""Resolves a step's `uses:` and runs it: local, vendored, built-in and container actions.

`check_uses` is called by `conveyor.workflow.run.selection` before anything runs: a remote
`owner/repo[/path]@ref` that is neither in the action store (`store.py`) nor a built-in
(`builtins`) refuses the run with a message saying how to vendor it. `run_uses` is called by
`conveyor.workflow.run.steps` for each `uses:` step, in this order: `docker://image` runs the
image (`docker.py`); `./path` (relative to GITHUB_WORKSPACE, as on GitHub) and vendored
actions load `action.yml` and run as composite (`composite.py`), node (`node.py`) or docker
(`docker.py`) actions; otherwise the built-in of that name runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from conveyor.core.errors import ConveyorError, UserError
from conveyor.core.location import Location
from conveyor.workflow.model import Step, Workflow
from conveyor.workflow.run.actions.builtins import BUILT_INS
from conveyor.workflow.run.actions.store import ActionRef, ActionStore, parse_ref, vendor_hint
from conveyor.workflow.run.results import Result

if TYPE_CHECKING:
    from conveyor.workflow.expr import EvalContext
    from conveyor.workflow.model import Action
    from conveyor.workflow.run.scope import JobRun, Scope


class ActionUnavailable(UserError):
    """A `uses:` the engine cannot run offline."""


def action_name(uses: str) -> str:
    """`actions/checkout` of `actions/checkout@v4` (lower case; subpaths kept)."""
    return uses.split("@", 1)[0].lower()


def is_built_in(uses: str) -> bool:
    return action_name(uses) in BUILT_INS


def missing_actions(workflows: Iterable[Workflow], store: ActionStore) -> list[tuple[Step, str]]:
    """Steps (with their workflow path) whose remote action is neither vendored nor built in."""
    out: list[tuple[Step, str]] = []
    for workflow in workflows:
        for job in workflow.jobs:
            for step in job.steps:
                ref = parse_ref(step.uses or "")
                if ref is None or store.find(ref) is not None or is_built_in(step.uses or ""):
                    continue
                out.append((step, workflow.path))
    return out


def check_uses(workflows: Iterable[Workflow], store: ActionStore | None = None) -> None:
    """Refuse, before the run starts, steps whose action is not available offline."""
    store = store or ActionStore()
    for step, path in missing_actions(workflows, store):
        ref = parse_ref(step.uses or "")
        assert ref is not None
        location = step.loc or Location(file=path)
        tree = store.tree(ref)
        if tree is not None:
            # owner/repo@ref is vendored but lacks the subpath: vendoring it again would not
            # help (seen on real workflows using github/codeql-action/init@<sha>).
            raise ActionUnavailable(
                f"action '{step.uses}': the vendored copy of {ref.owner}/{ref.repo}@{ref.ref} "
                f"has no '{ref.path}' directory",
                location=location,
                hint=f"vendor the full repository into {tree} (it holds only "
                f"{_listing(tree)}), or fix the path in `uses:`",
            )
        raise ActionUnavailable(
            f"action '{step.uses}' is not in the action store and is not built in",
            location=location,
            hint=vendor_hint(ref, store.root),
        )


def _listing(tree: Path) -> str:
    names = sorted(p.name for p in tree.iterdir())[:5]
    return ", ".join(names) if names else "nothing"


async def run_uses(
    step: Step, scope: Scope, jr: JobRun, ctx: EvalContext, env: Mapping[str, str]
) -> tuple[Result, dict[str, str]]:
    """Run a `uses:` step; returns its outcome and the outputs the caller sees."""
    from conveyor.workflow.run.steps import render_map

    assert step.uses is not None
    inputs = render_map(dict(step.with_), ctx)
    if step.uses.startswith("docker://"):
        from conveyor.workflow.run.actions.docker import run_image_step

        return await run_image_step(step.uses.removeprefix("docker://"), inputs, jr=jr, env=env)
    directory = locate(step.uses, jr)
    if directory is None:
        from conveyor.workflow.run.actions.builtins import BuiltinCall, built_in

        fn = built_in(action_name(step.uses))
        if fn is None:
            raise ConveyorError(f"action '{step.uses}' is not available offline")
        call = BuiltinCall(
            inputs={k.lower(): v for k, v in inputs.items()}, env=env, step=step, jr=jr, ctx=ctx
        )
        return Result.SUCCESS, await fn(call)
    action = load(directory, jr)
    return await run_action(
        action, directory, inputs, step=step, scope=scope, jr=jr, ctx=ctx, env=env
    )


def locate(uses: str, jr: JobRun) -> Path | None:
    """The action's directory: `./path` in the workspace, or the store's copy (None: a
    built-in serves it)."""
    if uses.startswith("./"):
        directory = (jr.dirs.workspace / uses).resolve()
        if not directory.is_dir():
            raise ConveyorError(
                f"Can't find 'action.yml' for action '{uses}' in {directory}. Did you forget "
                "to run actions/checkout before running your local action?"
            )
        return directory
    ref = parse_ref(uses)
    if ref is None:
        raise ConveyorError(f"'{uses}' is not a valid action reference")
    found = ActionStore().find(ref)
    if found is None and not is_built_in(uses):
        raise ConveyorError(f"action '{uses}' is not vendored; {_hint(ref)}")
    return found


def _hint(ref: ActionRef) -> str:
    return vendor_hint(ref, ActionStore().root)


def load(directory: Path, jr: JobRun) -> Action:
    from conveyor.workflow.load import load_action

    root = jr.dirs.workspace if directory.is_relative_to(jr.dirs.workspace) else directory
    return load_action(directory, root=root)


async def run_action(
    action: Action,
    directory: Path,
    inputs: Mapping[str, str],
    *,
    step: Step,
    scope: Scope,
    jr: JobRun,
    ctx: EvalContext,
    env: Mapping[str, str],
) -> tuple[Result, dict[str, str]]:
    using = action.runs.using.lower()
    if using == "composite":
        from conveyor.workflow.run.actions.composite import run_composite

        return await run_composite(
            action, directory, inputs, step=step, outer=scope, jr=jr, env=env
        )
    if using.startswith("node"):
        from conveyor.workflow.run.actions.node import run_node

        return await run_node(action, directory, inputs, step=step, jr=jr, ctx=ctx, env=env)
    if using == "docker":
        from conveyor.workflow.run.actions.docker import run_docker_action

        return await run_docker_action(
            action, directory, inputs, step=step, jr=jr, ctx=ctx, env=env
        )
    raise ConveyorError(f"action '{step.uses}' uses '{action.runs.using}', which is not supported")
