"""`conveyor actions vendor|list|needed`: the offline action store.

Loaded lazily by `conveyor.app.cli` (attribute `actions`). `vendor owner/repo@ref --from
DIR_OR_GIT_URL` copies one action (or a repository of reusable workflows) into the store;
`list` prints what the store holds; `needed -W PATH` prints every remote action and reusable
workflow the workflows use, with where each comes from (store, built-in) or MISSING and the
command that vendors it; it exits 1 when something is missing. The store is `--action-dir`,
else `$CONVEYOR_ACTIONS`, else `$CONVEYOR_HOME/actions` (`~/.conveyor/actions`).
"""

from __future__ import annotations

from pathlib import Path

import click

from conveyor.core.errors import UserError

_store_option = click.option(
    "--action-dir",
    "action_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Action store (default: $CONVEYOR_ACTIONS or ~/.conveyor/actions).",
)


@click.group("actions")
def actions() -> None:
    """Vendor and list the actions workflows use, for offline runs."""


@actions.command("vendor")
@click.argument("spec")
@click.option("--from", "source", required=True, help="A directory, Git repository or Git URL.")
@_store_option
def vendor(spec: str, source: str, action_dir: Path | None) -> None:
    """Copy SPEC (owner/repo@ref) into the action store."""
    from conveyor.workflow.run.actions.store import ActionStore

    store = ActionStore(action_dir.resolve() if action_dir else None)
    dest = store.vendor(spec, source)
    click.echo(f"vendored {spec} -> {dest}")


@actions.command("list")
@_store_option
def list_actions(action_dir: Path | None) -> None:
    """Print the vendored actions (owner/repo@ref), one per line."""
    from conveyor.workflow.run.actions.store import ActionStore

    store = ActionStore(action_dir.resolve() if action_dir else None)
    entries = store.entries()
    for entry in entries:
        click.echo(entry)
    if not entries:
        click.echo(f"no actions vendored in {store.root}", err=True)


@actions.command("needed")
@click.option(
    "-W",
    "--workflows",
    "workflows",
    type=click.Path(path_type=Path),
    default=None,
    help="Workflow file or directory (default: .github/workflows).",
)
@click.option(
    "-C", "directory", type=click.Path(path_type=Path), default=Path(), help="Repository."
)
@_store_option
def needed(workflows: Path | None, directory: Path, action_dir: Path | None) -> None:
    """List the remote actions and reusable workflows used, and what is missing."""
    import sys

    from conveyor.workflow.run.actions.resolve import is_built_in
    from conveyor.workflow.run.actions.store import ActionStore, parse_ref
    from conveyor.workflow.run.selection import _load_all

    repo = directory.resolve()
    if not repo.is_dir():
        raise UserError(f"-C {directory}: no such directory")
    store = ActionStore(action_dir.resolve() if action_dir else None)
    uses: dict[str, None] = {}
    for workflow in _load_all(repo, workflows):
        for job in workflow.jobs:
            if job.uses and not job.uses.startswith("./"):
                uses[job.uses] = None
            for step in job.steps:
                if step.uses and parse_ref(step.uses) is not None:
                    uses[step.uses] = None
    missing = 0
    for item in uses:
        ref = parse_ref(item)
        assert ref is not None
        found = store.find(ref)
        if found is not None:
            click.echo(f"{item}\tvendored\t{found}")
        elif is_built_in(item):
            click.echo(f"{item}\tbuilt-in")
        else:
            missing += 1
            click.echo(
                f"{item}\tMISSING\tconveyor actions vendor {ref.spec} --from <directory or Git URL>"
            )
    if missing:
        click.echo(f"{missing} missing (store: {store.root})", err=True)
        sys.exit(1)
