"""`conveyor up`: the README's main command.

Until the platform issues land (server, registry, reconciler: issue 8), `up` runs the sample
repositories in `examples/`: each is copied into a scratch Git repository under
`.conveyor/up/<name>` (made anew on every start, so `up` is idempotent), committed on
`main`, and run with `conveyor run push` as a user would. The exit code is the worst of the
runs'.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import click

from conveyor.core.errors import UserError

_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Conveyor Demo",
    "GIT_AUTHOR_EMAIL": "demo@conveyor.invalid",
    "GIT_COMMITTER_NAME": "Conveyor Demo",
    "GIT_COMMITTER_EMAIL": "demo@conveyor.invalid",
}


def _examples_dir(explicit: Path | None) -> Path:
    candidates = [explicit] if explicit else [Path.cwd() / "examples"]
    for candidate in candidates:
        if candidate and candidate.is_dir():
            return candidate
    raise UserError(
        "no examples directory found",
        hint="run `make up` from the Conveyor checkout, or pass --examples DIR",
    )


def _scratch_repo(sample: Path, scratch: Path) -> Path:
    repo = scratch / sample.name
    if repo.exists():
        shutil.rmtree(repo)
    shutil.copytree(sample, repo)
    env = {**os.environ, **_GIT_IDENTITY}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "sample"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


@click.command("up")
@click.option(
    "--examples",
    "examples",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory of sample repositories (default: ./examples).",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".conveyor/up"),
    show_default=True,
    help="Where the scratch copies live.",
)
def up(examples: Path | None, state_dir: Path) -> None:
    """Run the platform on this machine (for now: the sample workflows in examples/)."""
    samples = sorted(p for p in _examples_dir(examples).iterdir() if (p / ".github").is_dir())
    worst = 0
    for sample in samples:
        repo = _scratch_repo(sample, state_dir.resolve())
        click.echo(f"==> {sample.name}: conveyor run push in {repo}", err=True)
        env = {**os.environ, "DEMO_TOKEN": "demo-secret-value"}
        argv = [sys.executable, "-m", "conveyor.app", "run", "push", "--secret", "DEMO_TOKEN"]
        code = subprocess.run(argv, cwd=repo, env=env, check=False).returncode
        worst = max(worst, code)
    sys.exit(worst)
