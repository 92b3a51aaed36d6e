"""Versioned steps that bring an older CI database up to date (issue 18).

`setup_ci` is what `ci_store.open_engine` runs when a server opens its database: create the
tables that are missing (`ci_schema.create_ci_tables`), then apply, once and in order, the
steps `ci_schema_versions` has not recorded. A new database already has every column, so a
step checks what is there before it adds anything. Steps run in the opening transaction
under a lock (`dialect.lock`), so two servers starting on one PostgreSQL database apply
each step once. To change an existing table, append a step; never edit an applied one.

1. `ci_logs.line` / `job_line` (line numbers in the run and in the run's job, numbered
   in id order, as the lines were written), their indexes, and `ci_log_heads` (lines per
   run); `ci_runs.actor` / `branch`, filled in from each run's event payload and ref.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    MetaData,
    Table,
    func,
    inspect,
    select,
    text,
    update,
)

from conveyor.store.ci_schema import (
    LOG_INDEXES,
    create_ci_tables,
    log_heads,
    logs,
    runs,
)
from conveyor.store.dialect import lock

Step = Callable[[Connection], None]

_meta = MetaData()
versions = Table(
    "ci_schema_versions",
    _meta,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied", Float, nullable=False),
)


def run_facts(payload: Mapping[str, Any], ref: str) -> dict[str, str]:
    """The `actor` (who triggered the event) and `branch` (GitHub's `head_branch`: a pull
    request's head branch, else the pushed branch or tag) of a run, for the list filters."""
    sender = payload.get("sender") or {}
    head = (payload.get("pull_request") or {}).get("head") or {}
    branch = str(head.get("ref") or "")
    if not branch:
        for prefix in ("refs/heads/", "refs/tags/"):
            if ref.startswith(prefix):
                branch = ref.removeprefix(prefix)
    return {"actor": str(sender.get("login") or ""), "branch": branch}


def _columns(conn: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(conn).get_columns(table)}


def _add_column(conn: Connection, table: str, name: str, kind: str, default: str) -> None:
    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {kind} NOT NULL DEFAULT {default}"))


def _v1_log_lines(conn: Connection) -> None:
    have = _columns(conn, "ci_logs")
    if "line" not in have:
        _add_column(conn, "ci_logs", "line", "INTEGER", "0")
        _add_column(conn, "ci_logs", "job_line", "INTEGER", "0")
        # both dialects number rows with window functions and UPDATE … FROM (SQLite ≥ 3.33)
        conn.execute(
            text(
                "UPDATE ci_logs SET line = n.line, job_line = n.job_line FROM ("
                " SELECT id,"
                "  ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY id) AS line,"
                "  ROW_NUMBER() OVER (PARTITION BY run_id, job ORDER BY id) AS job_line"
                " FROM ci_logs) AS n WHERE ci_logs.id = n.id"
            )
        )
    for index in LOG_INDEXES:
        index.create(conn, checkfirst=True)
    counted = (
        select(logs.c.run_id, func.max(logs.c.line))
        .where(logs.c.run_id.not_in(select(log_heads.c.run_id)))
        .group_by(logs.c.run_id)
    )
    conn.execute(log_heads.insert().from_select(["run_id", "lines"], counted))


def _v1_run_filters(conn: Connection) -> None:
    if "actor" in _columns(conn, "ci_runs"):
        return
    _add_column(conn, "ci_runs", "actor", "TEXT", "''")
    _add_column(conn, "ci_runs", "branch", "TEXT", "''")
    for row in conn.execute(select(runs.c.id, runs.c.payload, runs.c.ref)).all():
        facts = run_facts(json.loads(row.payload or "{}"), str(row.ref))
        conn.execute(update(runs).where(runs.c.id == row.id).values(**facts))


def _v1(conn: Connection) -> None:
    _v1_log_lines(conn)
    _v1_run_filters(conn)
    for index in runs.indexes:
        index.create(conn, checkfirst=True)


STEPS: tuple[tuple[int, Step], ...] = ((1, _v1),)


def setup_ci(conn: Connection) -> list[int]:
    """Create missing tables and apply the steps not yet applied; the versions applied."""
    lock(conn, "ci_schema_versions")
    create_ci_tables(conn)
    versions.create(conn, checkfirst=True)
    done = set(conn.scalars(select(versions.c.version)))
    applied = []
    for version, step in STEPS:
        if version not in done:
            step(conn)
            conn.execute(versions.insert().values(version=version, applied=time.time()))
            applied.append(version)
    return applied
