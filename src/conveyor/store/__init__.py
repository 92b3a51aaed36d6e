"""Persistence: SQLAlchemy 2.x over an SQLite file by default, PostgreSQL by URL.

Owns the schema, its versioned migrations (`migrations`), and `Store`, the one object
callers use. Records are plain frozen dataclasses and JSON-able dicts: this layer knows no
reconcile types (it sits below them) and nothing about HTTP.

Called by `conveyor.reconcile.reconciler` (status, inventory, operations, history) and the
`conveyor app` commands, which read the same file the running reconciler writes.
"""

from conveyor.store.deletions import DeletionRecord
from conveyor.store.errors import StoreError
from conveyor.store.records import HistoryRecord, OperationRecord
from conveyor.store.store import Store

__all__ = ["DeletionRecord", "HistoryRecord", "OperationRecord", "Store", "StoreError"]
