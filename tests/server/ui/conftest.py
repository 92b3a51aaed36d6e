"""The web UI in process: `ui` serves the server's app (a real store in a temporary data
directory) with uvicorn on 127.0.0.1 in a thread (built by `tests/server/ui/uiserver.py`,
which `tests/browser/conftest.py` uses too). `UI`, `SignedIn` and `LOGIN_CSRF` are
re-exported for the modules that import them from here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.ui.uiserver import LOGIN_CSRF, UI, SignedIn, serve_ui

__all__ = ["LOGIN_CSRF", "UI", "SignedIn", "ui"]


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[UI]:
    with serve_ui(tmp_path / "server") as here:
        yield here
