"""Where Debian's Chromium is and how it is started headless here (root, closed network):
the browser tests (`tests/browser/conftest.py`) and the UI benches
(`bench/chromium_timing.py`) launch it the same way."""

from __future__ import annotations

import os
import shutil

CHROMIUM = os.environ.get("CONVEYOR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
