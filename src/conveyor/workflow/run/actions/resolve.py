"""Resolves a step's `uses:`: local, vendored and built-in actions.

`check_uses` is called by `conveyor.workflow.run.selection` before anything runs: a remote
`owner/repo[/path]@ref` that is neither in the action store (`store.py`) nor a built-in
(`builtins`) refuses the run with a message saying how to vendor it. `locate` and `load`
are called by `conveyor.workflow.run.factory` to pick a `uses:` step's kind: `./path`
(relative to GITHUB_WORKSPACE, as on GitHub) and vendored actions load `action.yml`;
otherwise (`locate` gives None) the built-in of that name runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from conveyor.core.errors import ConveyorError, UserError
from conveyor.core.location import Location
from conveyor.workflow.load import load_action
from conveyor.workflow.model import Action, Step, Workflow
from conveyor.workflow.run.actions.builtins import BUILT_INS
from conveyor.workflow.run.actions.store import ActionRef, ActionStore, parse_ref, vendor_hint
from conveyor.workflow.run.scope import JobRun


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


def locate(uses: str, jr: JobRun) -> Path | None:
    """The action's directory: `./path` in the workspace, or the store's copy (None: a
    built-in serves it)."""
    if uses.startswith("./"):
        directory = (jr.setup.dirs.workspace / uses).resolve()
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
    root = (
        jr.setup.dirs.workspace if directory.is_relative_to(jr.setup.dirs.workspace) else directory
    )
    return load_action(directory, root=root)
