"""`conveyor down` stops a running `conveyor up` first (so its reconciler cannot re-create
what `down` removes), and `up` says on Ctrl-C that the environments keep serving and how
to remove them. The Podman side of `down` is tests/targets/podman/test_down.py."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import yaml
from click.testing import CliRunner

from conveyor.app import platform
from conveyor.app.cli import LAZY_COMMANDS, cli
from conveyor.app.cmd_up import farewell

# Stands in for `conveyor up`: holds the state directory's lock, writes platform.json with
# its pid, and exits on SIGTERM. Its command line names "conveyor" and "up", as up's does.
FAKE_UP = """
import json, signal, sys, time
from pathlib import Path
from conveyor.app import platform
state = Path(sys.argv[1])
lock = platform.lock(state)
info = dict(state_dir=str(state), server_url="http://s", registry="r", token_file="t",
            state_db="d", reconciler_url="http://r", pid=__import__("os").getpid())
(state / "platform.json").write_text(json.dumps(info))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
while True:
    time.sleep(0.05)
"""


def test_down_stops_a_running_up_before_removing_anything(tmp_path: Path) -> None:
    state = tmp_path / "up"
    state.mkdir()
    config = tmp_path / "conveyor.yaml"  # no Podman target: only the stop is under test
    config.write_text(yaml.safe_dump({"targets": [{"name": "m", "type": "memory"}]}))
    fake = subprocess.Popen([sys.executable, "-c", FAKE_UP, str(state), "conveyor", "up"])
    try:
        deadline = time.monotonic() + 20
        while not (state / platform.FILE_NAME).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        args = ["down", "--state-dir", str(state), "--config", str(config)]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        assert f"stopped `conveyor up` (pid {fake.pid})" in result.output
        assert fake.wait(timeout=10) == 0
        again = CliRunner().invoke(cli, args)
        assert again.exit_code == 0 and "stopped" not in again.output
    finally:
        fake.kill()
        fake.wait()


def test_down_is_a_registered_command() -> None:
    assert LAZY_COMMANDS["down"][:2] == ("conveyor.app.cmd_down", "down")
    assert "down" in CliRunner().invoke(cli, ["--help"]).output


def test_up_says_on_stop_that_environments_keep_serving_and_how_to_remove_them() -> None:
    info = platform.PlatformInfo(
        state_dir="/srv/conveyor", server_url="http://s", registry="r", token_file="t",
        state_db="d", reconciler_url="http://r", environments={"dev": "http://127.0.0.1:30081"},
    )  # fmt: skip
    text = farewell(info)
    assert "keep serving (dev http://127.0.0.1:30081)" in text
    assert "conveyor down --state-dir /srv/conveyor" in text
