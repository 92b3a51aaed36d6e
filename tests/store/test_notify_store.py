"""`notify_deliveries` on both dialects (an SQLite file, then PostgreSQL): a key is claimed
once, attempts count up with their outcome, newest deliveries come first; the reconciler's
migration 3 adds the table to a database made before it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete

from conveyor.store import Store
from conveyor.store.ci_tables import open_engine
from conveyor.store.engine import open_database
from conveyor.store.migrations import migrate
from conveyor.store.notify_store import DeliveryState, DeliveryStore
from conveyor.store.schema import schema_version


def row(name: str) -> dict[str, str]:
    return {
        "trigger": "on-run-failed",
        "subject": "run",
        "name": name,
        "revision": "abc",
        "destination": "ops",
        "kind": "webhook",
        "message": "boom\x00",
    }


def test_a_key_is_claimed_once_and_attempts_are_counted(database: str) -> None:
    engine = open_engine(database)
    store = DeliveryStore(engine)
    try:
        first = store.claim(key="k1", now=1.0, **row("a"))
        assert first is not None
        assert store.claim(key="k1", now=2.0, **row("a")) is None  # told before
        store.attempted(first, state=DeliveryState.PENDING, status=503, error="HTTP 503", now=3.0)
        store.attempted(first, state=DeliveryState.DELIVERED, status=200, error="", now=4.0)
        second = store.claim(key="k2", now=5.0, **row("b"))
        assert second is not None
        store.finish(second, state=DeliveryState.RATE_LIMITED, error="over", now=6.0)
        newest, oldest = store.recent()
        assert (newest.name, newest.state, newest.attempts) == ("b", "rate-limited", 0)
        assert (oldest.state, oldest.attempts, oldest.status) == ("delivered", 2, 200)
        assert oldest.message == "boom\ufffd"  # no NUL reaches PostgreSQL
    finally:
        engine.dispose()


def test_migration_3_adds_the_table_to_an_older_reconciler_database(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    engine = open_database(path, setup=migrate, what="state database")
    with engine.begin() as conn:  # make it look like a database from before issue 17
        conn.exec_driver_sql("DROP TABLE notify_deliveries")
        conn.execute(delete(schema_version).where(schema_version.c.version == 3))
    engine.dispose()
    store = Store.open(path)
    try:
        assert store.deliveries.claim(key="k", now=1.0, **row("a")) is not None
        assert [r.name for r in store.deliveries.recent()] == ["a"]
    finally:
        store.close()
