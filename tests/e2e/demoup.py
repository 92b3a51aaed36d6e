"""`demo_up(tmp_path)`: a `conveyor up` child process over the repository's examples for
one test (not started: the test calls `start()`), refused while the demo's ports are taken,
stopped and its workloads and the images named after its registry removed afterwards. Used
by the `up` fixtures of the e2e tests and of the browser tour."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

from conveyor.app.uplaunch import UpProcess, demo_ports_busy, remove_workloads
from tests.registry import remove_images_of

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def demo_up(tmp_path: Path) -> Iterator[UpProcess]:
    busy = demo_ports_busy()
    if busy:
        pytest.fail(f"ports {busy} are in use: stop your own `conveyor up` first")
    runner = UpProcess(tmp_path / "up", ROOT / "examples")
    try:
        yield runner
    finally:
        if runner.proc is not None and runner.proc.poll() is None:
            runner.stop()
        # in a thread of its own: it runs asyncio, and a caller's loop (Playwright's, in
        # the browser tour) may be running in this one
        with ThreadPoolExecutor(1) as pool:
            pool.submit(remove_workloads, runner.state).result()
        remove_images_of(f"127.0.0.1:{runner.ports['registry']}")
