"""Issue 12 #1: a job on a local runner cannot reach the server's files or memory.

The attack: a user with a write token pushes a one-step workflow that reads the admin token,
the secret key and the database from the server's data directory and the server's
/proc/<pid>/environ and mem. Local jobs run as the unprivileged job user in a work directory
outside the data directory, so every read is refused; `--local-runner host` (the explicit
opt-in) still reaches them, as the README says.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from tests.gitutil import git
from tests.server.conftest import Server, make_server, push_workflows

ATTACK = """
on: push
jobs:
  steal:
    runs-on: ubuntu-latest
    steps:
      - run: |
          try() { if cat "$2" > /dev/null 2>&1; then echo "LEAK $1"; else echo "DENIED $1"; fi; }
          try admin-token DATA/admin-token
          try secret-key DATA/secret.key
          try database DATA/conveyor.db
          try environ /proc/PID/environ
          try mem /proc/PID/mem
          if ls DATA > /dev/null 2>&1; then echo "LEAK listing"; else echo "DENIED listing"; fi
          echo "WORKSPACE $GITHUB_WORKSPACE"
          echo "UID $(id -u)"
          cat DATA/admin-token || true
"""


def _attack(server: Server, tmp_path: Path) -> tuple[dict[str, Any], str]:
    """Push the attack with a write token; the finished run and its log."""
    assert server.proc is not None
    push_workflows(server, tmp_path, "acme/steal", {"README": "hello\n"})
    write = server.api("POST", "/api/v1/tokens", json={"name": "dev", "role": "write"})
    workflow = ATTACK.replace("DATA", str(server.data)).replace("PID", str(server.proc.pid))
    work = tmp_path / "work-acme-steal"
    (work / ".github/workflows").mkdir(parents=True)
    (work / ".github/workflows/steal.yml").write_text(workflow)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "steal")
    header = f"http.extraHeader=Authorization: Bearer {write.json()['token']}"
    git(work, "-c", header, "push", "-q", "origin", "HEAD:refs/heads/main")
    runs = server.runs("acme/steal")
    run = server.wait_run(int(runs[0]["id"]), timeout=90)
    logs = server.api("GET", f"/api/v1/runs/{run['id']}/logs").text
    return run, logs


def test_a_pushed_workflow_cannot_read_the_servers_key_tokens_database_or_memory(
    server: Server, tmp_path: Path
) -> None:
    run, logs = _attack(server, tmp_path)
    assert run["conclusion"] == "success", logs
    for target in ("admin-token", "secret-key", "database", "environ", "mem", "listing"):
        assert f"DENIED {target}" in logs, logs
    assert not re.search(r"\| LEAK ", logs), logs
    assert server.admin not in logs
    workspace = next(line for line in logs.splitlines() if "WORKSPACE " in line)
    assert str(server.data) not in workspace
    uid = next(line for line in logs.splitlines() if "UID " in line).rsplit(" ", 1)[-1]
    assert int(uid) != os.geteuid()


def test_host_mode_is_an_explicit_opt_in_that_reaches_the_servers_files(tmp_path: Path) -> None:
    server = make_server(tmp_path, "--local-runner", "host")
    server.start()
    try:
        run, logs = _attack(server, tmp_path)
        assert run["conclusion"] == "success", logs
        assert "LEAK admin-token" in logs
        workspace = next(line for line in logs.splitlines() if "WORKSPACE " in line)
        assert str(server.data) not in workspace  # work directories are outside it anyway
    finally:
        server.stop()
