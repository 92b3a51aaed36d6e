"""Writes that must mean the same on SQLite and PostgreSQL.

Called by `Store`, `CIStore` and `CIConfigStore` for every keyed write. Delete-then-insert
is safe on SQLite, whose writers queue on one database lock, but races on PostgreSQL: under
READ COMMITTED two transactions both see no row and the second insert violates the key
(select-then-insert in two transactions races on both). `upsert` and `insert_missing` are
one `INSERT … ON CONFLICT` statement instead, atomic on both dialects. `lock` serialises
read-count-then-insert sequences per key. `clean_text` keeps NUL characters (which
PostgreSQL's text type cannot hold) out of text columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite

DIALECTS = ("sqlite", "postgresql")  # what `open_database` accepts


def _insert(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import (  # noqa: PLC0415 (PostgreSQL only: 0.08-0.2 s import)
            insert as pg_insert,
        )

        return pg_insert(table)
    return sqlite_insert(table)


def upsert(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    *,
    keys: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """Insert `values`, or set the columns `update` (default: all but `keys`) of the row
    whose `keys` match."""
    columns = [c for c in values if c not in keys] if update is None else list(update)
    stmt = _insert(conn, table).values(**values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: stmt.excluded[c] for c in columns}
        )
    )


def upsert_returning(
    conn: Connection,
    table: Table,
    values: Mapping[str, Any],
    *,
    keys: Sequence[str],
    increment: str,
    returning: str,
) -> Any:
    """Insert `values`, or add `values[increment]` to that column of the row whose `keys`
    match; the column `returning` afterwards. One statement: a counter without races (and,
    being a write, it takes SQLite's database lock before the transaction reads anything)."""
    stmt = _insert(conn, table).values(**values)
    column = table.c[increment]
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={increment: column + stmt.excluded[increment]}
    )
    return conn.execute(stmt.returning(table.c[returning])).scalar_one()


def insert_missing(
    conn: Connection, table: Table, values: Mapping[str, Any], *, keys: Sequence[str]
) -> bool:
    """Insert `values` unless a row with the same `keys` exists; True when inserted.

    Told by `RETURNING`, not `rowcount`: SQLAlchemy 2.1 on psycopg reports -1 for this
    statement, which read as "inserted" every time on PostgreSQL (issue 18)."""
    stmt = _insert(conn, table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    return conn.execute(stmt.returning(*(table.c[key] for key in keys))).first() is not None


def lock(conn: Connection, key: str) -> None:
    """Hold a lock on `key` until the transaction ends (PostgreSQL: an advisory lock).

    SQLite needs none: its writers already queue on the database lock, and a statement
    that reads and writes (INSERT … SELECT) runs under it."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


def clean_text(value: str) -> str:
    """`value` with NUL replaced by U+FFFD: PostgreSQL text cannot store NUL (a step that
    prints binary output would otherwise fail its whole log batch)."""
    return value.replace("\x00", "\ufffd")
