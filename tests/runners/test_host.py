"""HostRunner with real processes: streaming, exit codes, environment, timeouts, cancellation."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from conveyor.runners.base import ExecResult, base_environment
from conveyor.runners.host import HostRunner

ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def run(
    script: str,
    *,
    cwd: Path,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
    runner: HostRunner | None = None,
) -> tuple[ExecResult, list[str]]:
    lines: list[str] = []
    host = runner or HostRunner(kill_grace=0.5, drain_timeout=0.2)

    async def go() -> ExecResult:
        try:
            return await host.exec(
                ["bash", "-c", script],
                env=env if env is not None else ENV,
                cwd=cwd,
                timeout=timeout,
                on_output=lines.append,
            )
        finally:
            await host.cleanup()

    return asyncio.run(go()), lines


def alive(pid: int) -> bool:
    """True when `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def pids_in(path: Path) -> list[int]:
    return [int(word) for word in path.read_text().split()]


def test_streams_stdout_and_stderr_merged_in_order(tmp_path: Path) -> None:
    result, lines = run("echo one; echo two >&2; echo three; echo four >&2", cwd=tmp_path)
    assert result.exit_code == 0 and result.ok
    assert lines == ["one", "two", "three", "four"]


@pytest.mark.parametrize(
    ("output", "lines"),
    [
        ("printf 'a\\nb'", ["a", "b"]),  # last line without newline
        ("printf 'a\\r\\nb\\r\\n'", ["a", "b"]),
        ("printf '10%%\\r20%%\\r'", ["10%", "20%"]),  # progress bar redraws
        ("printf '\\n\\n'", ["", ""]),
        ("printf 'caf\\xc3\\xa9 \\xff!\\n'", ["café \ufffd!"]),
        ("printf ''", []),
    ],
)
def test_line_splitting(tmp_path: Path, output: str, lines: list[str]) -> None:
    assert run(output, cwd=tmp_path)[1] == lines


def test_long_output_is_complete(tmp_path: Path) -> None:
    result, lines = run("seq 1 20000", cwd=tmp_path)
    assert result.exit_code == 0
    assert lines == [str(n) for n in range(1, 20001)]


@pytest.mark.parametrize("code", [0, 1, 2, 42, 255])
def test_exit_codes(tmp_path: Path, code: int) -> None:
    assert run(f"exit {code}", cwd=tmp_path)[0].exit_code == code


def test_killed_by_signal_reports_128_plus_signal(tmp_path: Path) -> None:
    assert run("kill -9 $$", cwd=tmp_path)[0].exit_code == 137


def test_environment_is_exactly_what_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVEYOR_LEAK_CHECK", "leaked")
    _, lines = run("env | sort", cwd=tmp_path, env={**ENV, "ONLY": "this"})
    names = {line.split("=", 1)[0] for line in lines}
    assert "CONVEYOR_LEAK_CHECK" not in names
    assert {"ONLY", "PATH"} <= names
    # bash sets PWD, SHLVL and _ itself; the runner adds its orphan-tracking id like GitHub's
    assert names <= {"ONLY", "PATH", "PWD", "SHLVL", "_", "RUNNER_TRACKING_ID"}


def test_working_directory(tmp_path: Path) -> None:
    assert run("pwd", cwd=tmp_path)[1] == [str(tmp_path)]


def test_missing_program_is_exit_127_with_message(tmp_path: Path) -> None:
    lines: list[str] = []

    async def go() -> ExecResult:
        return await HostRunner().exec(
            ["no-such-program-xyz"], env=ENV, cwd=tmp_path, timeout=None, on_output=lines.append
        )

    result = asyncio.run(go())
    assert result.exit_code == 127
    assert "no-such-program-xyz" in lines[0]


def test_missing_working_directory_fails_the_process(tmp_path: Path) -> None:
    result, lines = run("true", cwd=tmp_path / "absent")
    assert result.exit_code == 127
    assert "absent" in lines[0]


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    script = f"sleep 30 & echo $! >> {pidfile}; (sleep 30; echo) & echo $! >> {pidfile}; sleep 30"
    started = time.monotonic()
    result, _ = run(script, cwd=tmp_path, timeout=0.5)
    assert result.timed_out
    assert result.exit_code == 143  # SIGTERM
    assert time.monotonic() - started < 10
    pids = pids_in(pidfile)
    assert len(pids) == 2
    assert not any(alive(pid) for pid in pids)


def test_timeout_escalates_to_sigkill(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    script = f"trap '' TERM; (trap '' TERM; sleep 30) & echo $! > {pidfile}; sleep 30"
    result, _ = run(script, cwd=tmp_path, timeout=0.3)
    assert result.timed_out
    assert result.exit_code == 137  # SIGKILL after the grace
    assert not alive(pids_in(pidfile)[0])


def test_output_before_timeout_is_kept(tmp_path: Path) -> None:
    result, lines = run("echo before; sleep 30", cwd=tmp_path, timeout=0.5)
    assert result.timed_out
    assert lines == ["before"]


def test_cancellation_kills_the_group_and_reraises(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    lines: list[str] = []
    runner = HostRunner(kill_grace=0.5)

    async def go() -> None:
        task = asyncio.create_task(
            runner.exec(
                ["bash", "-c", f"sleep 30 & echo $! > {pidfile}; echo ready; sleep 30"],
                env=ENV,
                cwd=tmp_path,
                timeout=None,
                on_output=lines.append,
            )
        )
        while not lines:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert lines == ["ready"]
    assert not alive(pids_in(pidfile)[0])


def test_orphan_holding_the_pipe_does_not_hang_the_step(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    runner = HostRunner(kill_grace=0.5, drain_timeout=0.2)
    started = time.monotonic()
    lines: list[str] = []

    async def go() -> ExecResult:
        result = await runner.exec(
            ["bash", "-c", f"sleep 30 & echo $! > {pidfile}; echo done"],
            env=ENV,
            cwd=tmp_path,
            timeout=None,
            on_output=lines.append,
        )
        assert alive(pids_in(pidfile)[0])  # background processes survive the step ...
        await runner.cleanup()  # ... until the job ends
        return result

    result = asyncio.run(go())
    assert result.exit_code == 0 and not result.timed_out
    assert lines == ["done"]
    assert time.monotonic() - started < 10
    assert not alive(pids_in(pidfile)[0])


def test_late_output_of_short_background_job_is_kept(tmp_path: Path) -> None:
    _, lines = run("(sleep 0.05; echo late) & echo early", cwd=tmp_path)
    assert lines == ["early", "late"]


def test_parallel_processes_do_not_mix_lines(tmp_path: Path) -> None:
    runner = HostRunner()
    outputs: dict[int, list[str]] = {0: [], 1: [], 2: []}

    async def go() -> list[ExecResult]:
        return list(
            await asyncio.gather(
                *(
                    runner.exec(
                        ["bash", "-c", f"for i in $(seq 1 200); do echo {n}-$i; done"],
                        env=ENV,
                        cwd=tmp_path,
                        timeout=None,
                        on_output=outputs[n].append,
                    )
                    for n in outputs
                )
            )
        )

    results = asyncio.run(go())
    assert all(r.exit_code == 0 for r in results)
    for n, lines in outputs.items():
        assert lines == [f"{n}-{i}" for i in range(1, 201)]


def test_base_environment_passes_only_login_basics() -> None:
    source = {
        "PATH": "/p",
        "HOME": "/h",
        "LANG": "C.UTF-8",
        "USER": "u",
        "SHELL": "/bin/zsh",
        "TERM": "xterm",
        "AWS_SECRET_ACCESS_KEY": "x",
        "VIRTUAL_ENV": "/v",
        "GITHUB_TOKEN": "t",
    }
    assert base_environment(source) == {
        "PATH": "/p",
        "HOME": "/h",
        "LANG": "C.UTF-8",
        "USER": "u",
        "SHELL": "/bin/zsh",
        "CI": "true",
    }
    assert base_environment(source, tty=True)["TERM"] == "xterm"
    assert base_environment({})["PATH"].startswith("/usr/local/sbin:")


def test_cleanup_ends_daemons_that_left_the_group_but_carry_the_tracking_id(
    tmp_path: Path,
) -> None:
    pidfile = tmp_path / "pids"
    escaped = tmp_path / "escaped"
    runner = HostRunner(kill_grace=0.5, drain_timeout=0.1)
    script = (
        f"setsid sleep 30 > /dev/null 2>&1 < /dev/null & echo $! > {pidfile}; "
        f"RUNNER_TRACKING_ID= setsid sleep 30 > /dev/null 2>&1 < /dev/null & echo $! > {escaped}"
    )

    async def go() -> None:
        await runner.exec(
            ["bash", "-c", script], env=ENV, cwd=tmp_path, timeout=None, on_output=print
        )
        await asyncio.sleep(0.1)  # let setsid exec sleep
        assert alive(pids_in(pidfile)[0]) and alive(pids_in(escaped)[0])
        await runner.cleanup()

    asyncio.run(go())
    try:
        assert not alive(pids_in(pidfile)[0])
        assert alive(pids_in(escaped)[0])  # opted out the GitHub way
    finally:
        os.kill(pids_in(escaped)[0], 9)


def test_tracking_id_given_by_the_engine_is_kept(tmp_path: Path) -> None:
    _, lines = run("echo $RUNNER_TRACKING_ID", cwd=tmp_path, env={**ENV, "RUNNER_TRACKING_ID": "x"})
    assert lines == ["x"]


def test_failing_output_callback_is_reported_after_the_process_ends(tmp_path: Path) -> None:
    seen: list[str] = []

    def callback(line: str) -> None:
        seen.append(line)
        raise OSError("disk full")

    async def go() -> ExecResult:
        return await HostRunner().exec(
            ["bash", "-c", "echo a; echo b; exit 3"],
            env=ENV,
            cwd=tmp_path,
            timeout=None,
            on_output=callback,
        )

    with pytest.raises(OSError, match="disk full"):
        asyncio.run(go())
    assert seen == ["a"]
