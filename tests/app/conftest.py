"""The `warm` fixture: a private warm server per test (see `tests.app.warm`)."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.warm import Warm


@pytest.fixture
def warm(tmp_path: Path) -> Iterator[Warm]:
    # a short path: a Unix socket's path must stay under 108 bytes
    directory = Path(tempfile.mkdtemp(prefix="cw-", dir="/tmp"))
    state = Warm(directory, tmp_path / "home", tmp_path / "trace.txt")
    try:
        yield state
    finally:
        for pid in state.server_pids():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        shutil.rmtree(directory, ignore_errors=True)
