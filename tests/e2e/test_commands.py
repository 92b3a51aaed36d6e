"""`conveyor status` / `conveyor demo` / `conveyor up` without a platform, the status screen
(pure rendering, table-driven), the single-instance lock and the bench's log parsing."""

from __future__ import annotations

import importlib.util
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conveyor.app import cmd_up
from conveyor.app.cli import cli
from conveyor.app.cmd_status import render

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["status", "demo"])
def test_commands_without_a_running_platform_say_how_to_start_one(
    command: str, tmp_path: Path
) -> None:
    result = CliRunner().invoke(cli, [command, "--state-dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "conveyor up" in str(result.exception)


def env(name: str, **kw: Any) -> dict[str, Any]:
    base = {
        "env": name, "app": f"demo-{name}", "url": f"http://127.0.0.1:1/{name}",
        "sync": "Synced", "health": "Healthy", "revision": "abc123", "message": "",
        "images": ["r/demo/app:1"], "draining": [], "running": 2, "served": "1.0.0",
    }  # fmt: skip
    return {**base, **kw}


CASES = [
    (
        {"runs": [], "approvals": [], "environments": []},
        ["(no runs yet)", "(none)"],
    ),
    (
        {
            "runs": [{"id": 7, "repo": "demo/app", "workflow_name": "CI", "sha": "deadbeef99",
                      "status": "in_progress", "conclusion": ""}],
            "approvals": [{"run_id": 7, "environment": "prod"}],
            "environments": [env("prod", health="Degraded", message="probe failed")],
        },
        ["#7", "deadbeef ", "in_progress", "conveyor approve 7 --env prod", "Degraded",
         "probe failed", "r/demo/app:1 (2 running)"],
    ),
    (
        {"runs": [], "approvals": [],
         "environments": [env("dev", images=["r/demo/app:2"], draining=["r/demo/app:1"])]},
        ["r/demo/app:2 (draining r/demo/app:1) (2 running)"],
    ),
    (
        {"runs_error": "GET /runs: 0 server unreachable", "approvals_error": "x",
         "environments_error": "StoreError: no file"},
        ["unavailable: GET /runs: 0 server unreachable", "unavailable: StoreError: no file"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("facts", "expected"), CASES)
def test_status_screen(facts: dict[str, Any], expected: list[str]) -> None:
    text = "\n".join(render({"server": "http://s", "registry": "r:1", **facts}))
    for fragment in expected:
        assert fragment in text
    assert "RUNS" in text and "ENVIRONMENTS" in text and "PENDING APPROVALS" in text


def test_only_one_up_per_state_directory(tmp_path: Path) -> None:
    first = cmd_up._lock(tmp_path)
    assert first is not None
    assert cmd_up._lock(tmp_path) is None
    os.close(first)
    again = cmd_up._lock(tmp_path)
    assert again is not None
    os.close(again)


def test_bench_reads_step_durations_in_ms_and_s() -> None:
    spec = importlib.util.spec_from_file_location("bench_c2r", ROOT / "bench/commit_to_running.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_c2r"] = bench  # dataclasses look their module up
    try:
        spec.loader.exec_module(bench)
    finally:
        del sys.modules["bench_c2r"]
    log = (
        "build\t✅ Success - Build and push image [1.1s]\n"
        "deploy-dev\t✅ Success - Promote to dev [503ms]\n"
        "deploy-dev\t  | ✅ Success - not a step line [9ms] (output)\n"
    )
    steps = bench.step_seconds(log)
    assert steps["Build and push image"] == pytest.approx(1.1)
    assert steps["Promote to dev"] == pytest.approx(0.503)


def test_up_refuses_ports_in_use(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(
            cli, ["up", "--state-dir", str(tmp_path), "--registry-port", str(port)]
        )
    assert result.exit_code != 0
    assert f"127.0.0.1:{port} is already in use" in str(result.exception)
    assert not (tmp_path / "platform.json").exists()
