"""`conveyor affected --base REV --head REV`: the monorepo projects a change touches.

Reads `conveyor-projects.yaml` (see `conveyor.promote.affected`), diffs base..head with
`conveyor.clients.git.Git`, and prints a JSON matrix (default), a list, or GitHub step
outputs (`matrix=…`, `projects=…`, `any=…`; also appended to `$GITHUB_OUTPUT` when set).
Bad revisions or a missing config: one line, exit 2.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from conveyor.clients.errors import GitError
from conveyor.clients.git import Git
from conveyor.promote.affected import CONFIG_NAME, parse_projects, render
from conveyor.promote.affected import affected as affected_projects
from conveyor.promote.errors import PromoteInputError


@click.command("affected")
@click.option("--base", required=True, help="Base revision (e.g. origin/main or a SHA).")
@click.option("--head", default="HEAD", show_default=True, help="Head revision.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help=f"Projects file (default: {CONFIG_NAME} at the repo root).",
)
@click.option(
    "--repo",
    "repo_dir",
    type=click.Path(path_type=Path),
    default=Path(),
    help="Repository directory.",
    show_default=True,
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["matrix", "list", "github-output"]),
    default="matrix",
    show_default=True,
)
@click.pass_context
def affected(  # noqa: PLR0917 - click passes options positionally
    ctx: click.Context, base: str, head: str, config_path: Path | None, repo_dir: Path, fmt: str
) -> None:
    """Map changed files to projects (paths + depends_on) and print a CI matrix."""
    try:
        out = _run(base, head, config_path, repo_dir, fmt)
    except PromoteInputError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(2)
    click.echo(out)
    target = os.environ.get("GITHUB_OUTPUT")
    if fmt == "github-output" and target:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.write(out + "\n")


def _run(base: str, head: str, config_path: Path | None, repo_dir: Path, fmt: str) -> str:
    git = Git(repo_dir)
    path = config_path or repo_dir / CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromoteInputError(
            f"{path}: cannot read ({exc.strerror})", hint=f"add {CONFIG_NAME} or pass --config"
        ) from exc
    projects = parse_projects(text, str(path))
    try:
        changed = git.changed_files(base, head)
    except GitError as exc:
        raise PromoteInputError(
            f"cannot diff {base}..{head}: {exc}",
            hint="fetch enough history (actions/checkout fetch-depth: 0)",
        ) from exc
    return render(affected_projects(projects, changed), fmt)
