"""Versioned schema migrations: each step runs once, in order, inside one transaction.

`conveyor_schema_version` holds one row per applied step. To change the schema, append
a step; never edit an applied one. Called by `Store.open`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Connection, select

from conveyor.store import schema
from conveyor.store.notify_store import create_delivery_table

Migration = Callable[[Connection], None]


def _v1_initial(conn: Connection) -> None:
    for table in (
        schema.apps,
        schema.inventory,
        schema.operations,
        schema.history,
        schema.settings,
    ):
        table.create(conn, checkfirst=True)


def _v2_deletions(conn: Connection) -> None:
    schema.deletions.create(conn, checkfirst=True)


def _v3_notify_deliveries(conn: Connection) -> None:
    create_delivery_table(conn)  # issue 17: notification deliveries and their attempts


MIGRATIONS: tuple[tuple[int, Migration], ...] = (
    (1, _v1_initial),
    (2, _v2_deletions),
    (3, _v3_notify_deliveries),
)


def migrate(conn: Connection) -> list[int]:
    """Apply the steps newer than the database's version; return the versions applied."""
    schema.schema_version.create(conn, checkfirst=True)
    done = set(conn.scalars(select(schema.schema_version.c.version)))
    applied = []
    for version, step in MIGRATIONS:
        if version not in done:
            step(conn)
            conn.execute(
                schema.schema_version.insert().values(version=version, applied_at=time.time())
            )
            applied.append(version)
    return applied


def current_version(conn: Connection) -> int:
    versions = list(conn.scalars(select(schema.schema_version.c.version)))
    return max(versions, default=0)
