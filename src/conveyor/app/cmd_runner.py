"""`conveyor runner --server URL --token T --labels l1,l2 [--ephemeral]`: a remote runner.

Composition only: runs `conveyor.ci.agent.serve` (long-poll, execute with the workflow
engine, stream logs and heartbeats back; survives server restarts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import tempfile
from pathlib import Path

import click


@click.command("runner")
@click.option("--server", "server_url", required=True, help="The Conveyor server URL.")
@click.option(
    "--token",
    envvar="CONVEYOR_TOKEN",
    required=True,
    help="A token of role runner, write or admin ($CONVEYOR_TOKEN).",
)
@click.option(
    "--labels",
    default="self-hosted",
    show_default=True,
    help="Comma-separated labels matched against runs-on.",
)
@click.option("--name", default=None, help="Runner name (default: <host>-<pid>).")
@click.option("--ephemeral", is_flag=True, help="Exit after one run.")
@click.option("--work", type=click.Path(path_type=Path), default=None, help="Work directory.")
@click.option(
    "--ca-file",
    envvar="CONVEYOR_CA_FILE",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="PEM CA certificate that signed an https server's certificate ($CONVEYOR_CA_FILE).",
)
def runner(  # noqa: PLR0917 - click passes options positionally
    server_url: str,
    token: str,
    labels: str,
    name: str | None,
    ephemeral: bool,
    work: Path | None,
    ca_file: Path | None,
) -> None:
    """Take runs whose runs-on labels this runner has, from a Conveyor server."""
    from conveyor.ci.agent import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    wanted = [label.strip() for label in labels.split(",") if label.strip()]
    directory = work or Path(tempfile.mkdtemp(prefix="conveyor-runner-"))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            serve(
                server_url,
                token,
                labels=wanted,
                name=name or f"{socket.gethostname()}-{os.getpid()}",
                ephemeral=ephemeral,
                work=directory,
                ca_file=ca_file,
            )
        )
