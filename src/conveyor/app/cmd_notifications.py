"""`conveyor notifications`: the newest notification deliveries (issue 17), merged from
the databases that record them, newest first: with `--config`, that reconciler's state;
with `--database` (repeatable), those; with neither, what `conveyor up` runs (its
reconciler's state and its server's database: app and run notices together), else the
default reconciler state. The web UI shows the server's (and its in-process
reconciler's) on /notifications.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import click

from conveyor.app import platform
from conveyor.core.errors import UserError
from conveyor.reconcile.config import load_config
from conveyor.store.engine import open_database
from conveyor.store.notify_store import (
    AttemptRecord,
    DeliveryRecord,
    DeliveryStore,
    create_delivery_table,
)


@click.command("notifications")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="conveyor.yaml: read its reconciler state (default: what `conveyor up` runs: its "
    "reconciler's state and its server's database).",
)
@click.option(
    "--database",
    "databases",
    multiple=True,
    help="An SQLite file or a SQLAlchemy URL to read instead (repeatable), e.g. the "
    "server's .conveyor/server/conveyor.db.",
)
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the deliveries as JSON.")
def notifications(
    config_path: str | None, databases: tuple[str, ...], limit: int, as_json: bool
) -> None:
    """List notification deliveries: trigger, subject, destination, state, attempts, error."""
    if databases:
        locations = databases
    elif config_path:
        locations = (load_config(Path(config_path)).state,)
    else:
        locations = default_locations()
    found = [pair for location in locations for pair in read(location, limit)]
    found.sort(key=lambda p: (p[0].created, p[0].id), reverse=True)
    if as_json:
        documents = [{**asdict(r), "tries": [asdict(a) for a in tries]} for r, tries in found]
        click.echo(json.dumps(documents[:limit], indent=2))
        return
    for line in table([r for r, _ in found[:limit]]):
        click.echo(line)


def default_locations() -> tuple[str, ...]:
    """`conveyor up`'s reconciler state (through the conveyor.yaml it wrote) and its
    server's database, when it runs in the state directory; else the default state."""
    state_dir = platform.state_dir_of_up()
    written = state_dir / "conveyor.yaml"
    locations = [load_config(written if written.is_file() else None).state]
    server = platform.server_database(state_dir)
    if server.is_file():
        locations.append(str(server))
    return tuple(locations)


def read(location: str, limit: int) -> list[tuple[DeliveryRecord, list[AttemptRecord]]]:
    """The newest deliveries of one database, each with its attempts."""
    if "://" not in location and not Path(location).is_file():
        raise UserError(
            f"no database at {location}", hint="give --config or --database of a running setup"
        )
    engine = open_database(location, setup=create_delivery_table, what="database")
    try:
        store = DeliveryStore(engine)
        return [(row, store.attempts(row.id)) for row in store.recent(limit)]
    finally:
        engine.dispose()


def table(rows: list[DeliveryRecord]) -> list[str]:
    if not rows:
        return ["no notifications sent yet"]
    lines = [f"{'WHEN':<20} {'TRIGGER':<20} {'ABOUT':<24} {'DESTINATION':<16} {'STATE':<13} TRIES"]
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.created))
        about = f"{r.subject} {r.name}"[:24]
        line = f"{when:<20} {r.trigger:<20} {about:<24} {r.destination:<16} {r.state:<13} "
        line += f"{r.attempts}" + (f" {r.error}" if r.error else "")
        lines.append(line)
    return lines
