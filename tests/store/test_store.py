"""The store: migrations, status writes, inventory, write-ahead operations, history.

Every test runs on both dialects (`database`: an SQLite file, then a fresh PostgreSQL database).
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from conveyor.store import HistoryRecord, OperationRecord, Store, StoreError
from conveyor.store.engine import database_url
from conveyor.store.migrations import MIGRATIONS, current_version, migrate
from conveyor.store.store import HISTORY_LIMIT


def test_schema_is_created_once_and_versioned(database: str, tmp_path: Path) -> None:
    location = database if "://" in database else str(tmp_path / "nested" / "state.db")
    Store.open(location).close()
    Store.open(location).close()
    engine = create_engine(database_url(location))
    with engine.begin() as conn:
        assert current_version(conn) == MIGRATIONS[-1][0]
        assert migrate(conn) == []
    engine.dispose()


def test_status_round_trip_and_unchanged_writes_are_skipped(database: str) -> None:
    store = Store.open(database)
    assert store.save_status("web", {"sync": "Synced"}) is True
    assert store.save_status("web", {"sync": "Synced"}) is False
    assert store.save_statuses({"web": {"sync": "OutOfSync"}, "db": {"x": 1}}) == ["web", "db"]
    assert store.load_status("web") == {"sync": "OutOfSync"}
    assert set(store.all_statuses()) == {"web", "db"}
    assert store.load_status("nope") is None
    store.close()


def test_write_ahead_operation_widens_inventory_and_survives_reopen(database: str) -> None:
    store = Store.open(database)
    store.set_inventory("web", ["/ConfigMap/prod/a"])
    op = OperationRecord(
        app="web",
        revision="abc",
        digest="sha256:1",
        state="Running",
        started=1.0,
        planned=("/ConfigMap/prod/b",),
    )
    store.begin_operation(op)
    store.close()  # the process dies here

    again = Store.open(database)
    assert again.inventory("web") == ["/ConfigMap/prod/a", "/ConfigMap/prod/b"]
    interrupted = again.interrupt_running()
    assert [o.planned for o in interrupted] == [("/ConfigMap/prod/b",)]
    assert [o.state for o in again.operations("web")] == ["Interrupted"]
    assert again.interrupt_running() == []
    again.close()


def test_finish_operation_records_results_and_new_inventory(database: str) -> None:
    store = Store.open(database)
    op_id = store.begin_operation(
        OperationRecord(app="web", revision="r", digest="d", state="Running", started=0)
    )
    store.finish_operation(
        op_id, state="Succeeded", results=[{"code": "Synced"}], inventory=["x"], app="web"
    )
    (op,) = store.operations("web")
    assert (op.state, op.results, store.inventory("web")) == (
        "Succeeded",
        ({"code": "Synced"},),
        ["x"],
    )
    store.close()


def test_history_keeps_the_last_ten_newest_first(database: str) -> None:
    store = Store.open(database)
    for index in range(HISTORY_LIMIT + 3):
        store.add_history(
            HistoryRecord(
                app="web",
                revision=f"r{index}",
                digest="d",
                started=index,
                finished=index,
                result="Succeeded",
            )
        )
    store.add_history(
        HistoryRecord(app="db", revision="x", digest="d", started=0, finished=0, result="Failed")
    )
    revisions = [h.revision for h in store.history("web")]
    assert revisions == [f"r{i}" for i in range(HISTORY_LIMIT + 2, 2, -1)]
    assert len(store.history("db")) == 1
    store.close()


def test_pause_and_settings(database: str) -> None:
    store = Store.open(database)
    assert store.paused("web") == (False, "")
    store.set_paused("web", True, "rolled back")
    assert store.paused("web") == (True, "rolled back")
    store.set_paused("web", False, "ignored")
    assert store.paused("web") == (False, "")
    store.set_setting("apps", "/a")
    store.set_setting("apps", "/b")
    assert (store.setting("apps"), store.setting("none")) == ("/b", None)
    store.close()


@pytest.mark.parametrize(
    ("location", "url"),
    [
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgres://h:5433/db", "postgresql+psycopg://h:5433/db"),
        ("postgresql+psycopg://h/db", "postgresql+psycopg://h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url(location: str, url: str) -> None:
    assert database_url(location) == url


def test_database_url_of_a_path_is_an_absolute_sqlite_file() -> None:
    assert database_url("x.db") == f"sqlite:///{Path('x.db').resolve()}"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u:secret@h/db", "SQLite (a file path) or PostgreSQL"),
        ("postgresql+pg8000://u:secret@h/db", "database driver is missing"),
    ],
)
def test_unsupported_databases_are_refused_with_what_to_use(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=re.escape(message)) as caught:
        Store.open(url)
    assert "secret" not in str(caught.value) and "***@h/db" in str(caught.value)


def test_concurrent_writers_of_one_key_never_collide(database: str) -> None:
    """Two processes' stores writing the same new app and setting at once (PostgreSQL: both
    would see no row and the second insert would violate the key)."""
    stores = [Store.open(database) for _ in range(6)]
    barrier = threading.Barrier(len(stores), timeout=60)

    def write(index: int) -> None:
        barrier.wait()
        stores[index].save_status("web", {"n": index})
        stores[index].set_setting("apps", f"/a{index}")
        stores[index].set_paused("db", True, f"r{index}")

    with ThreadPoolExecutor(len(stores)) as pool:
        list(pool.map(write, range(len(stores))))
    assert set(stores[0].all_statuses()) == {"web", "db"}
    assert stores[0].setting("apps") in {f"/a{i}" for i in range(6)}
    assert stores[0].paused("db")[0] is True
    for store in stores:
        store.close()
