"""`Store`: the reconciler's persistent state behind a handful of methods.

Durability rule for the reconciler (issue 6, "killed mid-sync converges after restart"):
`begin_operation` records every object a sync may touch before the first apply, in its
own transaction; the inventory is widened to include them at the same time. A process
killed after that leaves an operation in state Running, which `interrupt_running` marks
Interrupted at the next start, and an inventory that still names every object that may
exist, so the next sync prunes strays instead of orphaning them.

Writes of unchanged status are skipped (a no-op reconcile pass over 1,000 apps writes
nothing). SQLite runs in WAL mode with a busy timeout so `conveyor app …` can read while
the reconciler writes. Keyed writes are single `INSERT … ON CONFLICT` statements
(`dialect.upsert`), so they stay atomic on PostgreSQL too.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from conveyor.store import schema
from conveyor.store.deletions import DeletionStore
from conveyor.store.dialect import insert_missing, upsert
from conveyor.store.engine import open_database
from conveyor.store.errors import StoreError
from conveyor.store.migrations import migrate
from conveyor.store.notify_store import DeliveryStore
from conveyor.store.records import HistoryRecord, OperationRecord

HISTORY_LIMIT = 10


class Store:
    """Status, inventory, operations, history and settings of reconciled apps."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._status_cache: dict[str, str] = {}
        self.deletions = DeletionStore(self._tx)  # apps to delete with their objects
        self.deliveries = DeliveryStore(engine)  # notifications sent (issue 17)

    @classmethod
    def open(cls, location: str | Path) -> Store:
        return cls(open_database(location, setup=migrate, what="state database"))

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        try:
            with self._engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"state database error: {exc}") from exc

    # -- app status ---------------------------------------------------------------------

    def save_status(self, app: str, status: dict[str, Any]) -> bool:
        """Persist `status` unless it equals the last one saved; True when written."""
        return bool(self.save_statuses({app: status}))

    def save_statuses(self, statuses: dict[str, dict[str, Any]]) -> list[str]:
        """Persist many statuses in one transaction, skipping unchanged ones; the apps
        written are returned. (A pass over 1,000 apps after a commit rewrites every status
        — the observed revision changed — and one transaction keeps that cheap.)"""
        changed = {}
        for app, status in statuses.items():
            text = json.dumps(status, sort_keys=True)
            if self._status_cache.get(app) != text:
                changed[app] = text
        if not changed:
            return []
        now = time.time()
        with self._tx() as conn:
            for app, text in changed.items():
                upsert(
                    conn,
                    schema.apps,
                    {"name": app, "status": text, "paused": 0, "pause_reason": "", "updated": now},
                    keys=["name"],
                    update=["status", "updated"],
                )
        self._status_cache.update(changed)
        return list(changed)

    def load_status(self, app: str) -> dict[str, Any] | None:
        with self._tx() as conn:
            text = conn.scalar(select(schema.apps.c.status).where(schema.apps.c.name == app))
        return None if text is None else dict(json.loads(text))

    def all_statuses(self) -> dict[str, dict[str, Any]]:
        with self._tx() as conn:
            rows = conn.execute(select(schema.apps.c.name, schema.apps.c.status)).all()
        return {name: json.loads(text) for name, text in rows}

    def set_paused(self, app: str, paused: bool, reason: str = "") -> None:
        with self._tx() as conn:
            self._ensure_app(conn, app)
            conn.execute(
                update(schema.apps)
                .where(schema.apps.c.name == app)
                .values(paused=int(paused), pause_reason=reason if paused else "")
            )

    def paused(self, app: str) -> tuple[bool, str]:
        with self._tx() as conn:
            row = conn.execute(
                select(schema.apps.c.paused, schema.apps.c.pause_reason).where(
                    schema.apps.c.name == app
                )
            ).first()
        return (bool(row[0]), str(row[1])) if row else (False, "")

    # -- inventory ----------------------------------------------------------------------

    def inventory(self, app: str) -> list[str]:
        with self._tx() as conn:
            refs = conn.scalars(select(schema.inventory.c.ref).where(schema.inventory.c.app == app))
            return sorted(refs)

    def set_inventory(self, app: str, refs: Iterable[str]) -> None:
        with self._tx() as conn:
            self._replace_inventory(conn, app, refs)

    # -- operations ---------------------------------------------------------------------

    def begin_operation(self, op: OperationRecord, *, widen_inventory: bool = True) -> int:
        """Record a sync before it touches anything; widen the inventory by `op.planned`."""
        with self._tx() as conn:
            result = conn.execute(
                schema.operations.insert().values(
                    app=op.app,
                    revision=op.revision,
                    digest=op.digest,
                    state=op.state,
                    started=op.started,
                    initiated_by=op.initiated_by,
                    reason=op.reason,
                    source_path=op.source_path,
                    planned=json.dumps(list(op.planned)),
                    results="[]",
                )
            )
            if widen_inventory:
                current = set(
                    conn.scalars(
                        select(schema.inventory.c.ref).where(schema.inventory.c.app == op.app)
                    )
                )
                self._replace_inventory(conn, op.app, current | set(op.planned))
            key = result.inserted_primary_key
            return int(key[0]) if key else 0

    def finish_operation(
        self,
        op_id: int,
        *,
        state: str,
        results: Iterable[dict[str, Any]],
        inventory: Iterable[str] | None = None,
        app: str = "",
        finished: float | None = None,
    ) -> None:
        """Close an operation and, in the same transaction, store the new inventory.
        `finished` is the caller's clock (its status shows the same time); now by default."""
        with self._tx() as conn:
            conn.execute(
                update(schema.operations)
                .where(schema.operations.c.id == op_id)
                .values(
                    state=state,
                    finished=time.time() if finished is None else finished,
                    results=json.dumps(list(results)),
                )
            )
            if inventory is not None:
                self._replace_inventory(conn, app, inventory)

    def operations(
        self, app: str | None = None, *, state: str | None = None
    ) -> list[OperationRecord]:
        query = select(schema.operations).order_by(schema.operations.c.id)
        if app is not None:
            query = query.where(schema.operations.c.app == app)
        if state is not None:
            query = query.where(schema.operations.c.state == state)
        with self._tx() as conn:
            return [_operation(row._mapping) for row in conn.execute(query)]

    def interrupt_running(self, app: str | None = None) -> list[OperationRecord]:
        """Mark operations left Running by a dead process as Interrupted (those of `app`
        only, when given: a sharded replica recovers the apps it takes over); return them."""
        running = self.operations(app, state="Running")
        with self._tx() as conn:
            for op in running:
                conn.execute(
                    update(schema.operations)
                    .where(schema.operations.c.id == op.id)
                    .values(state="Interrupted", finished=time.time())
                )
        return running

    # -- history ------------------------------------------------------------------------

    def add_history(self, entry: HistoryRecord, *, limit: int = HISTORY_LIMIT) -> int:
        """Append a history entry, keeping the newest `limit` per app (the app's
        `spec.revisionHistoryLimit`, 10 by default as in Argo CD)."""
        with self._tx() as conn:
            result = conn.execute(
                schema.history.insert().values(
                    app=entry.app,
                    revision=entry.revision,
                    digest=entry.digest,
                    started=entry.started,
                    finished=entry.finished,
                    result=entry.result,
                    initiated_by=entry.initiated_by,
                    reason=entry.reason,
                    source_path=entry.source_path,
                )
            )
            ids = list(
                conn.scalars(
                    select(schema.history.c.id)
                    .where(schema.history.c.app == entry.app)
                    .order_by(schema.history.c.id.desc())
                )
            )
            if len(ids) > limit:
                conn.execute(delete(schema.history).where(schema.history.c.id.in_(ids[limit:])))
            key = result.inserted_primary_key
            return int(key[0]) if key else 0

    def history(self, app: str) -> list[HistoryRecord]:
        """Newest first."""
        query = (
            select(schema.history)
            .where(schema.history.c.app == app)
            .order_by(schema.history.c.id.desc())
        )
        with self._tx() as conn:
            return [HistoryRecord(**dict(row._mapping)) for row in conn.execute(query)]

    # -- settings -----------------------------------------------------------------------

    def set_setting(self, key: str, value: str) -> None:
        with self._tx() as conn:
            upsert(conn, schema.settings, {"key": key, "value": value}, keys=["key"])

    def setting(self, key: str) -> str | None:
        with self._tx() as conn:
            value = conn.scalar(select(schema.settings.c.value).where(schema.settings.c.key == key))
        return None if value is None else str(value)

    # -- internals ----------------------------------------------------------------------

    @staticmethod
    def _ensure_app(conn: Connection, app: str) -> None:
        row = {"name": app, "status": "{}", "paused": 0, "pause_reason": "", "updated": time.time()}
        insert_missing(conn, schema.apps, row, keys=["name"])

    @staticmethod
    def _replace_inventory(conn: Connection, app: str, refs: Iterable[str]) -> None:
        conn.execute(delete(schema.inventory).where(schema.inventory.c.app == app))
        rows = [{"app": app, "ref": ref} for ref in sorted(set(refs))]
        if rows:
            conn.execute(schema.inventory.insert(), rows)


def _operation(row: Any) -> OperationRecord:
    return OperationRecord(
        id=row["id"],
        app=row["app"],
        revision=row["revision"],
        digest=row["digest"],
        state=row["state"],
        started=row["started"],
        finished=row["finished"],
        initiated_by=row["initiated_by"],
        reason=row["reason"],
        source_path=row["source_path"],
        planned=tuple(json.loads(row["planned"])),
        results=tuple(json.loads(row["results"])),
    )
