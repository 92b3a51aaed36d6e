"""Real `conveyor runner` agents and a bare runner-protocol client for the attack tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.server.conftest import Server


def start_agent(server: Server, tmp: Path, token: str, *extra: str) -> subprocess.Popen[bytes]:
    """`conveyor runner --server …` with `token` in `$CONVEYOR_TOKEN`, as its own process group."""
    name = f"agent-{len(list(tmp.glob('agent-*.log')))}"
    argv = [sys.executable, "-m", "conveyor.app", "runner", "--server", server.url]
    with (tmp / f"{name}.log").open("ab") as log:
        return subprocess.Popen(
            [*argv, "--work", str(tmp / f"{name}-work"), *extra],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CONVEYOR_WARM": "0", "CONVEYOR_TOKEN": token},
            start_new_session=True,
        )


def call(server: Server, token: str, path: str, body: dict[str, Any]) -> httpx.Response:
    """One runner-protocol POST (`/api/v1/runner/<path>`) with `token`."""
    return server.api("POST", f"/api/v1/runner/{path}", token=token, json=body)


def wait_unit(server: Server, repo: str, *, runner: str, timeout: float = 60) -> dict[str, Any]:
    """The first run of `repo` once one of its units is in progress on `runner`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = server.runs(repo)
        if runs:
            run: dict[str, Any] = server.api("GET", f"/api/v1/runs/{runs[-1]['id']}").json()
            if any(u["runner"] == runner and u["status"] == "in_progress" for u in run["units"]):
                return run
        time.sleep(0.2)
    raise AssertionError(f"no unit of {repo} in progress on {runner}")
