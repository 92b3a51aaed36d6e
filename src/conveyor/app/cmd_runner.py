"""`conveyor runner --server URL --token-file F [--ephemeral]`: a remote runner.

The token is the runner's credential from its registration (`POST /api/v1/runners`), which
fixes its name, labels and scope; `--labels` may only narrow them, `--name` only repeat it.

Composition only: runs `conveyor.ci.agent.serve` (long-poll, execute with the workflow
engine, stream logs and heartbeats back; survives server restarts). The token comes from a
0600 file or `$CONVEYOR_TOKEN` (`agent.read_token`); `--token` is refused, because a command
line is readable by every local user in /proc (issue 12 #8).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from pathlib import Path

import click

from conveyor.app import tracing


@click.command("runner")
@click.option("--server", "server_url", required=True, help="The Conveyor server URL.")
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File holding the runner's credential from its registration, mode 0600 "
    "(default: $CONVEYOR_TOKEN).",
)
@click.option("--token", "token_argument", default=None, hidden=True)
@click.option(
    "--labels",
    default="",
    help="Comma-separated labels matched against runs-on (default: the registered ones).",
)
@click.option("--name", default=None, help="Runner name (default: the registered one).")
@click.option("--ephemeral", is_flag=True, help="Exit after one run.")
@click.option("--work", type=click.Path(path_type=Path), default=None, help="Work directory.")
@click.option(
    "--ca-file",
    envvar="CONVEYOR_CA_FILE",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="PEM CA certificate that signed an https server's certificate ($CONVEYOR_CA_FILE).",
)
@click.option(
    "--unit",
    type=int,
    default=None,
    help="Take only this job unit, then nothing (set by the Kubernetes runner pool).",
)
@click.option(
    "--sidecar-services",
    is_flag=True,
    help="The job's services run as other containers of this pod, on localhost "
    "(set by the Kubernetes runner pool).",
)
@click.option(
    "--sibling-job-container",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The job's container is another container of this pod, running Conveyor's "
    "executor loop on this control directory (set by the Kubernetes runner pool).",
)
@click.option(
    "--no-job-containers",
    is_flag=True,
    help="Take no job with services or a job container (a warm pod of the Kubernetes "
    "runner pool, which has no containers for them).",
)
def runner(  # noqa: PLR0917 - click passes options positionally
    server_url: str,
    token_file: Path | None,
    token_argument: str | None,
    labels: str,
    name: str | None,
    ephemeral: bool,
    work: Path | None,
    ca_file: Path | None,
    unit: int | None,
    sidecar_services: bool,
    sibling_job_container: Path | None,
    no_job_containers: bool,
) -> None:
    """Take runs whose runs-on labels this runner has, from a Conveyor server."""
    from conveyor.ci.agent import TokenError, read_token, serve
    from conveyor.clients import tls
    from conveyor.clients.errors import ClientError

    if token_argument is not None:
        raise click.UsageError(
            "--token is not accepted: every local user can read a command line in /proc. "
            "Put the token in a file only you can read and pass --token-file FILE, "
            "or set $CONVEYOR_TOKEN."
        )
    try:
        token = read_token(token_file)
    except TokenError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        tls.verify(ca_file)  # a CA file that is not a readable PEM stops the agent now
    except ClientError as exc:
        raise click.BadParameter(str(exc), param_hint="--ca-file") from None

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    tracing.trace_logs()  # issue 17: its spans go to the server with each job's result
    wanted = [label.strip() for label in labels.split(",") if label.strip()]
    directory = work or Path(tempfile.mkdtemp(prefix="conveyor-runner-"))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(
                server_url,
                token,
                labels=wanted,
                name=name or "",
                ephemeral=ephemeral,
                work=directory,
                ca_file=ca_file,
                unit=unit,
                sidecar_services=sidecar_services,
                sibling_job_container=sibling_job_container,
                no_job_containers=no_job_containers,
            )
        )
