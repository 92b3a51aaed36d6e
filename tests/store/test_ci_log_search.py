"""Filtered log windows (issue 15, the web UI's log search and step markers), on SQLite and
PostgreSQL: `contains` finds text in any case with `%`, `_` and `/` taken literally,
`starts` keeps lines that begin with one of several prefixes, both within one job's range
and with `after`, `limit` and `tail` as for any window."""

from __future__ import annotations

from conveyor.store.ci_logs import LogWindow
from conveyor.store.ci_store import CIStore
from conveyor.store.ci_tables import open_engine

LINES = [
    ("build", "  | Compiling NeedLe"),
    ("build", "⭐ Run make"),
    ("test", "  | needle in test"),
    ("build", "  | 100% of a_b/c done"),
    ("build", "  | 100 of axb done"),
    ("build", "✅ Success - Run make [1.2s]"),
    ("build", "⏭️ Skipped - Deploy [0ms]"),
    ("build", "  | ⭐ not a marker"),
    ("build", "  | NEEDLE again"),
]


def _store(database: str) -> CIStore:
    store = CIStore(open_engine(database))
    run_id = store.add_run(
        {"repo": "acme/app", "workflow_path": "w.yml", "workflow_name": "W", "event": "push",
         "status": "in_progress", "created": 0.0}
    )  # fmt: skip
    store.add_logs(run_id, LINES)
    return store


def _numbers(store: CIStore, window: LogWindow) -> list[int]:
    return [x.number for x in store.log_lines(1, window)]


def test_contains_ignores_case_within_the_job(database: str) -> None:
    store = _store(database)
    try:
        assert _numbers(store, LogWindow(job="build", contains="needle")) == [1, 8]
        assert _numbers(store, LogWindow(job="build", contains="NEEDLE", after=1)) == [8]
        assert _numbers(store, LogWindow(job="build", contains="needle", tail=1)) == [8]
        assert _numbers(store, LogWindow(contains="needle")) == [1, 3, 9]  # the run's numbers
    finally:
        store.close()


def test_contains_takes_wildcards_and_the_escape_character_literally(database: str) -> None:
    store = _store(database)
    try:
        assert _numbers(store, LogWindow(job="build", contains="0% of a_b/c")) == [3]
        assert _numbers(store, LogWindow(job="build", contains="_")) == [3]
        assert _numbers(store, LogWindow(job="build", contains="%")) == [3]
    finally:
        store.close()


def test_starts_keeps_lines_that_begin_with_a_prefix(database: str) -> None:
    store = _store(database)
    try:
        markers = ("⭐ ", "✅ ", "⏭️ ")
        assert _numbers(store, LogWindow(job="build", starts=markers)) == [2, 5, 6]
        assert _numbers(store, LogWindow(job="build", starts=markers, limit=2)) == [2, 5]
    finally:
        store.close()
