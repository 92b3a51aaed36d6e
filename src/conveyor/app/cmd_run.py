"""`conveyor run [EVENT]`: run the workflows an event triggers, on this machine.

Loaded lazily by `conveyor.app.cli`. Everything that can be wrong with the input (flags,
workflow files, unknown jobs, typed inputs, actions that cannot run offline) is reported
with exit code 2 before anything runs. Then the engine (`conveyor.workflow.run.engine`)
runs the triggered workflows; exit code 0 when every job succeeded, 1 otherwise. With
`--json` the results document (INTERFACES.md, D2) is the only thing on stdout.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from conveyor.core.errors import UserError

if TYPE_CHECKING:
    from conveyor.workflow.run.console import SummaryTable
    from conveyor.workflow.run.results import RunResult
    from conveyor.workflow.run.selection import Selection


def _pairs(values: Sequence[str], flag: str, sep: str = "=") -> list[tuple[str, str]]:
    out = []
    for item in values:
        key, found, value = item.partition(sep)
        if not found or not key:
            raise UserError(f"{flag} {item!r}: expected KEY{sep}VALUE")
        out.append((key, value))
    return out


def read_dotenv(path: Path) -> dict[str, str]:
    """`--secret-file`: NAME=VALUE lines; `#` comments, `export ` prefixes and quotes allowed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"--secret-file {path}: cannot read: {exc.strerror}") from exc
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, found, value = line.removeprefix("export ").partition("=")
        if not found or not key.strip():
            raise UserError(f"{path}:{number}: expected NAME=VALUE", hint="fix the dotenv file")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
            if raw.strip().split("=", 1)[1].strip().startswith('"'):
                value = value.replace("\\n", "\n")
        values[key.strip()] = value
    return values


def _secrets(given: Sequence[str], files: Sequence[Path]) -> dict[str, str]:
    secrets: dict[str, str] = {}
    for path in files:
        secrets.update(read_dotenv(path))
    for item in given:
        key, found, value = item.partition("=")
        if not key:
            raise UserError(f"--secret {item!r}: expected NAME=VALUE or NAME")
        if not found:
            if key not in os.environ:
                raise UserError(
                    f"--secret {key}: no such environment variable",
                    hint=f"export {key}=... or pass --secret {key}=VALUE",
                )
            value = os.environ[key]
        secrets[key] = value
    return secrets


@click.command("run")
@click.argument("event", default="push")
@click.option(
    "-C",
    "directory",
    type=click.Path(path_type=Path),
    default=Path(),
    help="Run in this repository (default: the current directory).",
)
@click.option(
    "-W",
    "--workflows",
    "workflows",
    type=click.Path(path_type=Path),
    default=None,
    help="Workflow file or directory (default: .github/workflows).",
)
@click.option("-j", "--job", "job", default=None, help="Run only this job (and its needs).")
@click.option(
    "-e",
    "--eventpath",
    "eventpath",
    type=click.Path(path_type=Path),
    default=None,
    help="Event payload JSON (default: synthesized from the Git repository).",
)
@click.option("--input", "inputs", multiple=True, help="workflow_dispatch input K=V.")
@click.option(
    "--secret", "secrets", multiple=True, help="Secret K=V, or K to read it from the environment."
)
@click.option(
    "--secret-file",
    "secret_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Secrets from a dotenv file.",
)
@click.option(
    "--var", "variables", multiple=True, help="Configuration variable K=V (vars context)."
)
@click.option("--env", "envs", multiple=True, help="Environment variable K=V for every job.")
@click.option("--matrix", "matrix", multiple=True, help="Run only matrix legs with K:V.")
@click.option("-l", "--list", "list_only", is_flag=True, help="Print the plan and exit.")
@click.option("-n", "--dry-run", "dry_run", is_flag=True, help="Validate and plan; run nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
@click.option(
    "--max-parallel",
    "max_parallel",
    type=click.IntRange(min=1),
    default=None,
    help="Run at most N jobs at the same time.",
)
@click.option("--worktree", is_flag=True, help="Check out uncommitted changes too.")
@click.option("--debug", is_flag=True, help="Step debug logs; tracebacks of internal errors.")
@click.option(
    "--runner",
    "runner",
    type=click.Choice(["host", "podman"]),
    default="host",
    help="Run jobs on this machine (host) or each in a Podman container (podman).",
)
@click.option(
    "-P",
    "--platform",
    "platforms",
    multiple=True,
    help="Image for a runs-on label with --runner podman: LABEL=IMAGE (as act's -P).",
)
@click.option(
    "--action-dir",
    "action_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Action store (vendored actions); default $CONVEYOR_ACTIONS or ~/.conveyor/actions.",
)
@click.option(
    "--keep-runs",
    "keep_runs",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    envvar="CONVEYOR_KEEP_RUNS",
    help="Keep this repository's last N run directories, removing older ones after the run "
    "(0 keeps all; env CONVEYOR_KEEP_RUNS).",
)
def run(  # noqa: PLR0917 - click passes options positionally
    event: str,
    directory: Path,
    workflows: Path | None,
    job: str | None,
    eventpath: Path | None,
    inputs: tuple[str, ...],
    secrets: tuple[str, ...],
    secret_files: tuple[Path, ...],
    variables: tuple[str, ...],
    envs: tuple[str, ...],
    matrix: tuple[str, ...],
    list_only: bool,
    dry_run: bool,
    as_json: bool,
    max_parallel: int | None,
    worktree: bool,
    debug: bool,
    runner: str,
    platforms: tuple[str, ...],
    action_dir: Path | None,
    keep_runs: int,
) -> None:
    """Run the workflows EVENT (default: push) triggers, as GitHub would."""
    from conveyor.workflow.run.selection import describe, select

    images = dict(_pairs(platforms, "-P"))
    if action_dir is not None:  # read by the action store in this process
        os.environ["CONVEYOR_ACTIONS"] = str(action_dir.resolve())
    if runner != "host" or images:
        from conveyor.workflow.run.platform import Platform, choose

        choose(Platform(runner=runner, images=images))

    repo = directory.resolve()
    if not repo.is_dir():
        raise UserError(f"-C {directory}: no such directory")
    given_secrets = _secrets(secrets, secret_files)  # flags first: all bad input exits 2
    given_vars = dict(_pairs(variables, "--var"))
    given_env = dict(_pairs(envs, "--env"))
    given_matrix = tuple(_pairs(matrix, "--matrix", ":"))
    plan = select(
        repo,
        event_name=event,
        workflows=workflows,
        job=job,
        eventpath=eventpath,
        inputs=dict(_pairs(inputs, "--input")),
    )
    out = sys.stderr if as_json else sys.stdout
    if list_only or dry_run:
        out.write(describe(plan))
        if dry_run:
            out.write("dry run: nothing was executed\n")
        return
    if not any(s.triggered for s in plan.selected):
        out.write(f"no workflow is triggered by '{event}' (see `conveyor run {event} -l`)\n")
    result = _execute(
        plan,
        secrets=given_secrets,
        variables=given_vars,
        env=given_env,
        matrix=given_matrix,
        max_parallel=max_parallel,
        worktree=worktree,
        debug=debug,
        out=out,
        keep_runs=keep_runs,
    )
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
        sys.stdout.flush()
    sys.exit(result.exit_code)


def _execute(
    plan: Selection,
    *,
    secrets: dict[str, str],
    variables: dict[str, str],
    env: dict[str, str],
    matrix: tuple[tuple[str, str], ...],
    max_parallel: int | None,
    worktree: bool,
    debug: bool,
    out: TextIO,
    keep_runs: int,
) -> RunResult:
    """Wire the concrete pieces (host runner, console, masker, run dir) and run."""
    import asyncio

    from conveyor.runners.host import HostRunner
    from conveyor.workflow.run.console import Console, SummaryRow
    from conveyor.workflow.run.engine import run_all
    from conveyor.workflow.run.masking import Masker
    from conveyor.workflow.run.rundir import create_run_dir, prune_runs
    from conveyor.workflow.run.session import RunOptions, Session

    run_dir = create_run_dir(plan.repo_dir, os.environ)
    tty = out.isatty()
    masker = Masker()
    console = Console(out, color=tty, masker=masker, debug=debug, table=_table() if tty else None)
    options = RunOptions(
        repo_dir=plan.repo_dir,
        run_dir=run_dir.path,
        run_number=run_dir.number,
        event=plan.event,
        secrets=secrets,
        vars=variables,
        env=env,
        matrix_filter=matrix,
        max_parallel=max_parallel,
        worktree=worktree,
        debug=debug,
        tty=tty,
    )
    session = Session(options, masker=masker, console=console, runner_factory=HostRunner)
    try:
        result = asyncio.run(run_all(session, plan.selected))
    finally:  # job containers are removed in the background: wait for them (Ctrl-C too)
        containers = sys.modules.get("conveyor.workflow.run.containers")
        if containers is not None:
            containers.wait_teardown()
        os.close(run_dir.lock)  # finished: a later run may prune it
    rows = [
        SummaryRow(job=f"{w.name}/{j.name}", result=str(j.result), duration=j.duration)
        for w in result.workflows
        for j in w.jobs
    ]
    console.summary(rows)
    console.message(f"run directory: {run_dir.path}")
    pruned = prune_runs(plan.repo_dir, os.environ, keep=keep_runs)
    if pruned:
        console.message(
            f"removed {len(pruned)} older run directories of this repository (keeping the "
            f"last {keep_runs}: --keep-runs or CONVEYOR_KEEP_RUNS, 0 keeps all)"
        )
    _skip_final_collection()
    return result


def _skip_final_collection() -> None:
    """At exit, move every object to the collector's permanent generation first: the
    interpreter's final collections then skip them (measured: ~20 ms -> ~6 ms of shutdown
    after a run, which imports ~280 modules). Objects are still freed by reference counts;
    only cyclic garbage left at exit is not finalized, as nothing of the run relies on."""
    import atexit
    import gc

    atexit.unregister(gc.freeze)  # once per process, however many runs (tests run many)
    atexit.register(gc.freeze)


def _table() -> SummaryTable:
    """The coloured summary table, imported only for a terminal (rich is slow to load)."""
    from conveyor.app.summary_table import print_table

    return print_table
