"""Issue 12 #8: a runner's token never appears on its command line, which every local user
(and every job) reads in /proc/<pid>/cmdline; `conveyor runner` reads it from a 0600 file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.server.conftest import make_server, push_workflows

WORKFLOW = "on: push\njobs:\n  j:\n    runs-on: [self-hosted]\n    steps: [{run: echo hi}]\n"


def _conveyor(*args: str) -> list[str]:
    return [sys.executable, "-m", "conveyor.app", *args]


def test_a_runner_started_from_a_token_file_shows_no_token_in_proc_cmdline(
    tmp_path: Path,
) -> None:
    server = make_server(tmp_path, "--pool-min", "0", "--pool-max", "0")
    server.start()
    agent: subprocess.Popen[bytes] | None = None
    try:
        secret = server.register_runner("box", "self-hosted")
        token_file = tmp_path / "runner-token"
        token_file.write_text(secret + "\n")
        token_file.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if k != "CONVEYOR_TOKEN"}
        env["CONVEYOR_WARM"] = "0"
        argv = _conveyor(
            "runner",
            "--server",
            server.url,
            "--token-file",
            str(token_file),
            "--work",
            str(tmp_path / "w"),
        )
        with (tmp_path / "agent.log").open("ab") as log:
            agent = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        push_workflows(server, tmp_path, "acme/t", {".github/workflows/t.yml": WORKFLOW})
        run = server.wait_run(int(server.runs("acme/t")[0]["id"]))
        assert run["conclusion"] == "success", (tmp_path / "agent.log").read_text()
        cmdline = Path(f"/proc/{agent.pid}/cmdline").read_bytes()
        assert secret.encode() not in cmdline
    finally:
        if agent is not None:
            agent.terminate()
            agent.wait(timeout=10)
        server.stop()


def test_a_token_on_the_command_line_or_in_a_shared_file_is_refused(tmp_path: Path) -> None:
    env = {**os.environ, "CONVEYOR_WARM": "0"}
    env.pop("CONVEYOR_TOKEN", None)
    given = subprocess.run(
        _conveyor("runner", "--server", "http://127.0.0.1:9", "--token", "t0ken"),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert given.returncode == 2
    assert "--token-file" in given.stderr
    shared = tmp_path / "token"
    shared.write_text("t0ken")
    shared.chmod(0o644)
    loose = subprocess.run(
        _conveyor("runner", "--server", "http://127.0.0.1:9", "--token-file", str(shared)),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert loose.returncode == 2
    assert "chmod 600" in loose.stderr
