"""Remote runner agents for the server tests: `register_agent` registers a runner on a
`Server` and starts `python -m conveyor.ci.agent` for it in its own process group;
`stop_agent` kills that group. Used by `test_runners`, `test_jobs_dispatch` and (for
`stop_agent`) `tests/security/agents.py`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.server.conftest import Server

__all__ = ["register_agent", "stop_agent"]


def register_agent(
    server: Server, tmp_path: Path, labels: str, name: str = "gpu-1"
) -> subprocess.Popen[bytes]:
    """Register runner `name` with `labels` and start its agent (log: tmp_path/<name>.log)."""
    token = server.register_runner(name, labels)
    with (tmp_path / f"{name}.log").open("ab") as log:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "conveyor.ci.agent",
                "--server",
                server.url,
                "--labels",
                labels,
                "--name",
                name,
                "--work",
                str(tmp_path / f"{name}-work"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CONVEYOR_TOKEN": token},
            start_new_session=True,
        )


def stop_agent(proc: subprocess.Popen[bytes]) -> None:
    """Kill the agent's process group (it may have started job processes) and reap it."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
