"""Fixtures for the store tests: `store`, a `CIConfigStore` on `database` (once per dialect:
SQLite, then PostgreSQL, from `tests/pg.py`), closed after the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conveyor.store.ci_config_store import CIConfigStore
from conveyor.store.ci_store import open_engine


@pytest.fixture
def store(database: str) -> Iterator[CIConfigStore]:
    opened = CIConfigStore(open_engine(database))
    yield opened
    opened.close()
