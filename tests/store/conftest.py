"""Fixtures for the store tests: `store`, a `CIStore` on `database` (once per dialect:
SQLite, then PostgreSQL, from `tests/pg.py`), closed after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conveyor.store.ci_store import CIStore
from conveyor.store.ci_tables import open_engine


@pytest.fixture
def store(database: str) -> Iterator[CIStore]:
    opened = CIStore(open_engine(database))
    yield opened
    opened.close()
