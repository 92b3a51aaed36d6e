"""Attack tests (issue 12): each runs an attack against a real `conveyor server` process on
127.0.0.1 (and a real `conveyor runner` agent where it matters) and fails while the hole is
open. `server` is the fixture `tests/server` uses; `remote` is a server without a local
runner pool, so only the agents a test starts take jobs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.conftest import Server, make_server, server

__all__ = ["remote", "server"]


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[Server]:
    srv = make_server(tmp_path, "--pool-min", "0", "--pool-max", "0")
    srv.start()
    yield srv
    srv.stop()
