"""`conveyor runner --server URL --token T [--ephemeral]`: a remote runner.

`T` is the runner's credential from its registration (`POST /api/v1/runners`), which fixes
its name, labels and scope; `--labels` may only narrow them, `--name` only repeat it.

Composition only: runs `conveyor.ci.agent.serve` (long-poll, execute with the workflow
engine, stream logs and heartbeats back; survives server restarts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from pathlib import Path

import click


@click.command("runner")
@click.option("--server", "server_url", required=True, help="The Conveyor server URL.")
@click.option(
    "--token",
    envvar="CONVEYOR_TOKEN",
    required=True,
    help="The runner's credential from its registration ($CONVEYOR_TOKEN).",
)
@click.option(
    "--labels",
    default="",
    help="Comma-separated labels matched against runs-on (default: the registered ones).",
)
@click.option("--name", default=None, help="Runner name (default: the registered one).")
@click.option("--ephemeral", is_flag=True, help="Exit after one run.")
@click.option("--work", type=click.Path(path_type=Path), default=None, help="Work directory.")
def runner(  # noqa: PLR0917 - click passes options positionally
    server_url: str, token: str, labels: str, name: str | None, ephemeral: bool, work: Path | None
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
                name=name or "",
                ephemeral=ephemeral,
                work=directory,
            )
        )
