"""The CI service under test: `service` on each dialect (an SQLite file, then a PostgreSQL
database: tests/pg.py), its data under `data_dir` (a module may override that fixture)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from conveyor.ci.crypto import SecretBox
from conveyor.ci.service import CIService, ServiceConfig
from conveyor.store.ci_store import CIStore
from conveyor.store.ci_tables import open_engine


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def service(data_dir: Path, database: str) -> Iterator[CIService]:
    store = CIStore(open_engine(database))
    yield CIService(store, SecretBox(Fernet.generate_key()), ServiceConfig(data_dir=data_dir))
    store.close()
