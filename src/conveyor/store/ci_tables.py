"""The CI tables' shared pieces: rows as dicts, JSON columns, the engine and transactions.

`CITables` is the base of `CIStore` (runs), `CIAccessStore` (tokens, runners, audit) and
`CIConfigStore` (secrets, variables, environments, approvals, deployments), which share one
engine. `open_engine` creates the tables; `decode`/`encode` are the row edge of all three.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from conveyor.store.ci_migrations import setup_ci
from conveyor.store.dialect import clean_text
from conveyor.store.engine import open_database
from conveyor.store.errors import StoreError

_JSON = {
    "payload",
    "labels",
    "only_jobs",
    "annotations",
    "steps",
    "outputs",
    "matrix_filter",
    "job_names",
}

Row = dict[str, Any]


def decode(row: Any) -> Row:
    out = dict(row._mapping)
    for key in _JSON & out.keys():
        out[key] = json.loads(out[key])
    return out


def encode(values: Mapping[str, Any]) -> dict[str, Any]:
    """JSON columns as text; other text without NUL (`dialect.clean_text`: PostgreSQL)."""
    return {
        k: json.dumps(v) if k in _JSON else clean_text(v) if isinstance(v, str) else v
        for k, v in values.items()
    }


def open_engine(location: str | Path) -> Engine:
    """An engine with the CI tables created; SQLite gets WAL and a busy timeout."""
    return open_database(location, setup=setup_ci, what="CI database")


class CITables:
    """One CI engine and its transactions; the base of the three CI stores, which share it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise StoreError(f"CI database error: {type(exc).__name__}: {exc}") from exc
