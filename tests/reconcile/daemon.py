"""A real `conveyor reconcile --listen` daemon for tests: `tests/reconcile/test_cli.py` drives
its app commands through it and `tests/security/test_reconciler_endpoint.py` attacks its
endpoint."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import yaml

from .conftest import ConfigRepo, application, deployment

__all__ = ["start_daemon"]


def start_daemon(repo: ConfigRepo, tmp_path: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    """`conveyor reconcile --listen` on a free port over the file-backed memory target, with
    `web` (image web:1) committed; its output goes to tmp_path/loop.log."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state_file = tmp_path / "target.json"
    config = tmp_path / "conveyor.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "targets": [{"name": "memory", "type": "memory", "stateFile": str(state_file)}],
                "state": "state.db",
                "cache": "cache",
            }
        )
    )
    apps = tmp_path / "web.yaml"
    apps.write_text(application("web", repo, "app", automated={"prune": True}))
    repo.write_objects("app/web.yaml", deployment("web", "web:1"))
    repo.commit()
    script = (
        "import sys; from conveyor.app.cmd_reconcile import reconcile; reconcile.main(sys.argv[1:])"
    )
    args = ["--apps", str(apps), "--config", str(config), "--interval", "1h"]
    with (tmp_path / "loop.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-c", script, *args, "--listen", f"127.0.0.1:{port}"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    return proc, port, state_file
