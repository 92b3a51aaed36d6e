"""`DeletionStore`: what the reconciler needs to delete an app after its file is gone.

An app with a deletion finalizer, or with PostDelete hooks, is *armed* while it is defined:
its target, cascade flag and propagation policy, its last revision and the PostDelete hook
manifests of its last render (the file, and so the render, is gone when they must run:
Argo CD re-renders from Git then and fails when the files went too, argo-cd#18070). Once
the app disappears the same row records the deletion's progress, so a reconciler restarted
half-way finishes it. Rows are JSON-able frozen values (`DeletionRecord`); this layer knows
no reconcile types. Reached as `Store.deletions`; called by `reconcile.deletion`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select

from conveyor.store import schema
from conveyor.store.dialect import upsert


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletionRecord:
    app: str
    target: str
    state: str  # see reconcile.deletion.DeletionState
    cascade: bool = False
    policy: str = ""  # foreground | background (a Kubernetes target's propagation policy)
    revision: str = ""
    hooks: tuple[dict[str, Any], ...] = ()
    message: str = ""
    requested: float = 0.0  # when the deletion began; names generateName hooks


class DeletionStore:
    """Rows of `reconcile_deletions`, one per app."""

    def __init__(self, tx: Callable[[], AbstractContextManager[Connection]]) -> None:
        self._tx = tx

    def all(self) -> list[DeletionRecord]:
        with self._tx() as conn:
            rows = conn.execute(select(schema.deletions).order_by(schema.deletions.c.app))
            return [_record(row._mapping) for row in rows]

    def save(self, record: DeletionRecord) -> None:
        values = {
            "app": record.app,
            "target": record.target,
            "state": record.state,
            "cascade": int(record.cascade),
            "policy": record.policy,
            "revision": record.revision,
            "hooks": json.dumps(list(record.hooks), sort_keys=True),
            "message": record.message,
            "requested": record.requested,
        }
        with self._tx() as conn:
            upsert(conn, schema.deletions, values, keys=["app"])

    def remove(self, app: str) -> None:
        with self._tx() as conn:
            conn.execute(delete(schema.deletions).where(schema.deletions.c.app == app))


def _record(row: Any) -> DeletionRecord:
    return DeletionRecord(
        app=row["app"],
        target=row["target"],
        state=row["state"],
        cascade=bool(row["cascade"]),
        policy=row["policy"],
        revision=row["revision"],
        hooks=tuple(json.loads(row["hooks"])),
        message=row["message"],
        requested=row["requested"],
    )
