"""Warm start (`conveyor.app.warmstart` / `warmserver`) through the real console script.

Each test gets its own socket directory and server; a run counts as warm when the child
wrote its line to CONVEYOR_WARM_TRACE (only forked children do).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import pty
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conveyor.app import warmstart
from tests.app.warm import SCRIPT, Warm, make_repo

WORLD = """\
on: push
jobs:
  show:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "user=$USER"
          echo "umask=$(umask)"
          echo "files=$(ulimit -n)"
      - run: exit ${{ github.event_name == 'push' && '0' || '1' }}
"""


def test_the_second_run_is_warm_and_sees_the_callers_world(warm: Warm, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", WORLD)
    cold = warm.run(repo, "run", "push", umask=0o027, USER="first")
    assert cold.returncode == 0, cold.stderr
    assert warm.traced() == []  # in-process: no child wrote the trace
    warm.wait_ready()
    # the server's rehearsal run left nothing in the user's CONVEYOR_HOME
    assert sorted(p.name for p in (tmp_path / "home" / "runs").iterdir()) == ["1"]
    other_home = tmp_path / "other-home"
    hot = warm.run(repo, "run", "push", umask=0o027, USER="second", CONVEYOR_HOME=str(other_home))
    assert hot.returncode == 0, hot.stderr
    [entry] = warm.traced()
    assert entry["imported"] == []  # the server had everything a run needs
    assert "user=second" in hot.stdout
    assert f"run directory: {other_home}/runs/" in hot.stdout
    assert "umask=0027" in hot.stdout
    assert "files=345" in hot.stdout
    assert "user=first" in cold.stdout  # same output shape, cold and warm
    assert [x for x in cold.stdout.splitlines() if "⭐" in x] == [
        x for x in hot.stdout.splitlines() if "⭐" in x
    ]


def test_exit_codes_and_user_errors_pass_through(warm: Warm, tmp_path: Path) -> None:
    good = make_repo(tmp_path / "good", WORLD)
    warm.run(good, "run", "push")
    warm.wait_ready()
    failing = make_repo(
        tmp_path / "failing",
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: exit 3\n",
    )
    assert warm.run(failing, "run", "push").returncode == 1
    broken = make_repo(tmp_path / "broken", "on: push\njobs:\n  x:\n    runs-on: [\n")
    result = warm.run(broken, "run", "push")
    assert result.returncode == 2
    assert ".github/workflows/ci.yml:" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(warm.traced()) == 2  # both went through the warm server


def test_stdin_reaches_the_warm_command(warm: Warm, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", WORLD)
    warm.run(repo, "expr", "1")
    warm.wait_ready()
    result = warm.run(
        repo, "expr", "github.ref", "--context", "-", stdin='{"github": {"ref": "refs/x"}}'
    )
    assert result.returncode == 0, result.stderr
    assert '"refs/x"' in result.stdout
    assert len(warm.traced()) == 1


SLEEPER = """\
on: push
jobs:
  wait:
    runs-on: ubuntu-latest
    steps:
      - run: echo started; exec sleep MARK
"""


def _sleepers(mark: str) -> list[str]:
    found = subprocess.run(
        ["pgrep", "-f", f"sleep {mark}"], capture_output=True, text=True, check=False
    )
    return found.stdout.split()


def _wait_for(condition: object, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize(("how", "code"), [("interrupt", 130), ("kill", -9)])
def test_stopping_the_client_stops_the_warm_command(
    warm: Warm, tmp_path: Path, how: str, code: int
) -> None:
    mark = f"{os.getpid() % 1000 + 100}.{len(how)}7"
    repo = make_repo(tmp_path / "repo", SLEEPER.replace("MARK", mark))
    warm.run(repo, "expr", "1")
    warm.wait_ready()
    client = subprocess.Popen(
        [str(SCRIPT), "run", "push"],
        cwd=repo,
        env=warm.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(lambda: _sleepers(mark)), "the step never started"
        client.send_signal(signal.SIGINT if how == "interrupt" else signal.SIGKILL)
        assert client.wait(timeout=30) == code
        # Ctrl-C reaches the run as in-process; a vanished client's run is cancelled too
        assert _wait_for(lambda: not _sleepers(mark)), "the step outlived its client"
    finally:
        client.kill()
        client.communicate()
    if how == "interrupt":
        assert len(warm.traced()) == 1  # the child ended normally and wrote its trace


def test_a_server_for_other_code_answers_stale_and_exits(warm: Warm, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", WORLD)
    warm.run(repo, "expr", "1")
    path = warm.wait_ready()
    [pid] = warm.server_pids()
    request = b"\x00\x00\x00\x05" + b"junk!"
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(str(path))
        body = marshal.dumps({"key": "other code", "argv": [], "cwd": "/", "env": {}})
        request = len(body).to_bytes(4, "big") + body
        socket.send_fds(client, [request], [0, 1, 2])
        kind, _ = warmstart.read_reply(client)
    assert kind == warmstart.STALE
    assert _wait_for(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), timeout=20)
    assert not path.exists()


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_state_key_changes_with_interpreter_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    before = warmstart.state_key()
    monkeypatch.setenv("PYTHONWARNINGS", "error")
    assert warmstart.state_key() != before
    monkeypatch.delenv("PYTHONWARNINGS")
    monkeypatch.setenv("CONVEYOR_UNRELATED", "1")
    assert warmstart.state_key() == before


def test_an_unsafe_socket_directory_turns_warm_start_off(warm: Warm, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", WORLD)
    warm.directory.chmod(0o755)
    assert warm.run(repo, "run", "push").returncode == 0
    time.sleep(1)
    assert warm.sockets() == []
    assert list(warm.directory.iterdir()) == []


def test_long_running_commands_never_go_warm(warm: Warm, tmp_path: Path) -> None:
    assert warm.run(tmp_path, "--version").returncode == 0
    assert warm.run(tmp_path, "status", "--help").returncode == 0
    time.sleep(1)
    assert list(warm.directory.iterdir()) == []
    assert warmstart.command_name(["--debug", "run", "push"]) == "run"


@pytest.mark.parametrize(
    ("setting", "ci", "expected"),
    [("", "", True), ("", "true", False), ("1", "true", True), ("0", "", False)],
)
def test_warm_start_is_off_under_ci_unless_asked_for(
    monkeypatch: pytest.MonkeyPatch, setting: str, ci: str, expected: bool
) -> None:
    monkeypatch.setenv("CONVEYOR_WARM", setting)
    monkeypatch.setenv("CI", ci)
    assert warmstart.enabled(["run", "push"]) is expected
    assert warmstart.enabled(["server"]) is False


def test_the_server_keeps_no_secret_of_the_caller_that_started_it(
    warm: Warm, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", WORLD)
    token = "tok-5f1b0c9e-warm"
    assert warm.run(repo, "expr", "1", DEPLOY_TOKEN=token).returncode == 0
    warm.wait_ready()
    [pid] = warm.server_pids()
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert not [entry for entry in environ if token.encode() in entry]
    assert any(entry.startswith(b"PATH=") for entry in environ)
    # and it still serves (each child takes its caller's environment: see the first test)
    result = warm.run(repo, "expr", "1", DEPLOY_TOKEN=token)
    assert result.returncode == 0 and len(warm.traced()) == 1


def test_concurrent_commands_are_all_served_warm(warm: Warm, tmp_path: Path) -> None:
    """One spare at a time: clients that arrive together wait for the next spare."""
    repo = make_repo(tmp_path / "repo", WORLD)
    warm.run(repo, "expr", "1")
    warm.wait_ready()
    clients = [
        subprocess.Popen(
            [str(SCRIPT), "expr", f"{n} == {n}"],
            cwd=repo,
            env=warm.env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    outputs = [client.communicate(timeout=60)[0] for client in clients]
    assert [client.returncode for client in clients] == [0, 0, 0, 0]
    assert all('"value": true' in out for out in outputs), outputs
    assert len({entry["pid"] for entry in warm.traced()}) == 4


def test_a_terminal_gets_colours_and_the_summary_table_warm(warm: Warm, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", WORLD)
    warm.run(repo, "expr", "1")
    warm.wait_ready()
    main, secondary = pty.openpty()
    try:
        result = subprocess.run(
            [str(SCRIPT), "run", "push"],
            cwd=repo,
            env=warm.env,
            stdin=subprocess.DEVNULL,
            stdout=secondary,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
        os.close(secondary)
        output = b""
        with contextlib.suppress(OSError):  # EIO once the terminal's last writer is gone
            while chunk := os.read(main, 65536):
                output += chunk
    finally:
        os.close(main)
    assert result.returncode == 0, result.stderr
    text = output.decode()
    assert "\x1b[" in text  # colours: the child saw a terminal on its stdout
    assert "RESULT" in text and "success" in text
    [entry] = warm.traced()
    assert entry["imported"] == []  # the terminal's table modules were preloaded too


class _QuickCommandSocket:
    """A client socket whose peer (the spare) reads the whole request, answers PID and EXIT
    and closes at once, as a command that ends within microseconds does."""

    def __init__(self) -> None:
        self.ours, self.spare = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    def sendmsg(self, buffers: list[bytes], ancillary: list[object]) -> int:
        sent = self.ours.sendmsg(buffers, ancillary)
        self.spare.recv(1 << 20)
        self.spare.sendall(warmstart.reply(warmstart.PID, os.getpid()))
        self.spare.sendall(warmstart.reply(warmstart.EXIT, 1))
        self.spare.close()
        return sent

    def sendall(self, data: bytes) -> None:
        self.ours.sendall(data)

    def recv(self, size: int) -> bytes:
        return self.ours.recv(size)


def test_a_command_that_ended_before_the_client_finished_sending_is_not_run_again() -> None:
    # the empty rest of a fully sent request once raised EPIPE here, and the client ran the
    # command a second time in-process (issue 11: doubled output, warm only)
    quick = _QuickCommandSocket()
    try:
        assert warmstart._converse(quick, "key", ["lint"]) == 1  # type: ignore[arg-type]
    finally:
        quick.ours.close()
