"""`dialect.insert_missing` tells an insert from a conflict on both databases (issue 18: on
PostgreSQL it said "inserted" every time, so a push handed over twice ran twice)."""

from __future__ import annotations

from sqlalchemy import Engine

from conveyor.store.ci_schema import run_cancels
from conveyor.store.ci_tables import open_engine
from conveyor.store.dialect import insert_missing


def _insert(engine: Engine, run_id: int) -> bool:
    with engine.begin() as conn:
        row = {"run_id": run_id, "reason": "", "requested": 1.0}
        return insert_missing(conn, run_cancels, row, keys=["run_id"])


def test_insert_missing_is_true_once_then_false_for_the_same_key(database: str) -> None:
    engine = open_engine(database)
    try:
        assert [_insert(engine, 1), _insert(engine, 1), _insert(engine, 2)] == [True, False, True]
    finally:
        engine.dispose()
