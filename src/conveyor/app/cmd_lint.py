"""`conveyor lint [PATH…]`: check workflow files against GitHub's schema and rules.

Prints every problem as `file:line:col: message [rule]` (or one JSON document with
`--format json`). Exit 0 when clean, 1 when any file has an error; a path that does not
exist is a `UserError` (exit 2, mapped by `conveyor.app.cli.main`). Calls
`conveyor.workflow.load.lint_paths`.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from conveyor.workflow.load import Severity, lint_paths

DEFAULT_DIR = Path(".github") / "workflows"


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output style.",
)
def lint(paths: tuple[Path, ...], output_format: str) -> None:
    """Validate workflow files (default: .github/workflows); report every problem.

    PATH may be a workflow file, an action.yml, or a directory of workflows.
    """
    root = Path.cwd()
    targets = list(paths) or [DEFAULT_DIR]
    problems = lint_paths(targets, root=root)
    if output_format == "json":
        document = {"problems": [p.to_json() for p in problems], "count": len(problems)}
        click.echo(json.dumps(document, indent=2))
    else:
        for problem in problems:
            click.echo(str(problem))
        files = len({p.location.file for p in problems})
        if problems:
            click.echo(f"{len(problems)} problem(s) in {files} file(s)", err=True)
    if any(p.severity == Severity.ERROR for p in problems):
        raise click.exceptions.Exit(1)
