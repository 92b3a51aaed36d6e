"""`conveyor notifications`: the newest notification deliveries (issue 17) recorded in a
database: the reconciler's state (the default: `--config`'s `state:`) or the server's
(`--database .conveyor/server/conveyor.db`), one table per database, newest first.
The web UI shows the server's (and its in-process reconciler's) on /notifications.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import click

from conveyor.core.errors import UserError
from conveyor.reconcile.config import load_config
from conveyor.store.engine import open_database
from conveyor.store.notify_store import DeliveryRecord, DeliveryStore, create_delivery_table


@click.command("notifications")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="conveyor.yaml: read its reconciler state (default: .conveyor/state.db).",
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
    locations = databases or (load_config(Path(config_path) if config_path else None).state,)
    rows = [row for location in locations for row in read(location, limit)]
    rows.sort(key=lambda r: (r.created, r.id), reverse=True)
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows[:limit]], indent=2))
        return
    for line in table(rows[:limit]):
        click.echo(line)


def read(location: str, limit: int) -> list[DeliveryRecord]:
    if "://" not in location and not Path(location).is_file():
        raise UserError(
            f"no database at {location}", hint="give --config or --database of a running setup"
        )
    engine = open_database(location, setup=create_delivery_table, what="database")
    try:
        return DeliveryStore(engine).recent(limit)
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
