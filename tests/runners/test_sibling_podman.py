"""`runners.sibling.SiblingRunner` against its executor loop running FOR REAL in a Podman
container of the busybox base image (`sibling_box`), as a Kubernetes runner pod's job
container runs it: the same file protocol, the same `sh` loop, the shared directories
bind-mounted at the same paths. Only the pod around it is not real."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from conveyor.runners.base import ExecResult, RunnerError
from conveyor.runners.sibling import SiblingRunner
from tests.runners.conftest import SiblingBox

PATH = "/usr/bin:/bin"


class Lines:
    """Collects output lines with the time each arrived."""

    def __init__(self) -> None:
        self.items: list[tuple[float, str]] = []

    def __call__(self, line: str) -> None:
        self.items.append((time.monotonic(), line))

    @property
    def text(self) -> list[str]:
        return [line for _, line in self.items]


async def run(
    runner: SiblingRunner,
    script: str,
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float | None = 30,
) -> tuple[ExecResult, Lines]:
    lines = Lines()
    result = await runner.exec(
        ["sh", "-c", script],
        env=env if env is not None else {"PATH": PATH},
        cwd=cwd,
        timeout=timeout,
        on_output=lines,
    )
    return result, lines


def running_sleeps(box: SiblingBox, runner: SiblingRunner) -> list[str]:
    """The `sleep 30` processes left in the container, seen from a fresh request."""

    async def look() -> list[str]:
        _, lines = await run(runner, "ps -o pid,args | grep '[s]leep 30' || true", cwd=box.work)
        return lines.text

    return asyncio.run(look())


def test_output_streams_while_the_process_runs_and_the_code_comes_back(
    sibling_box: SiblingBox,
) -> None:
    async def scenario() -> None:
        runner = SiblingRunner(sibling_box.control, start_timeout=30)
        started = time.monotonic()
        result, lines = await run(
            runner, "echo one; sleep 1.5; printf 'two\\nthree'; exit 3", cwd=sibling_box.work
        )
        ended = time.monotonic()
        assert lines.text == ["one", "two", "three"]
        assert result.exit_code == 3 and not result.ok and not result.timed_out
        assert lines.items[0][0] - started < ended - started - 1.0  # "one" came early
        await runner.cleanup()

    asyncio.run(scenario())


def test_a_step_gets_exactly_its_environment_and_directory(sibling_box: SiblingBox) -> None:
    tricky = 'it\'s "quoted"\nsecond line: $HOME `x` \\ end'
    env = {"PATH": PATH, "TRICKY": tricky, "EQ": "a=b=c", "EMPTY": "", "HOME": "/root/host"}
    inner = sibling_box.work / "sub dir"
    inner.mkdir()

    async def scenario() -> None:
        runner = SiblingRunner(sibling_box.control, start_timeout=30, env={"FROM_IMAGE": "1"})
        listing = Lines()
        listed = await runner.exec(["env"], env=env, cwd=inner, timeout=30, on_output=listing)
        assert listed.exit_code == 0
        names = sorted(line.split("=", 1)[0] for line in listing.text if "=" in line)
        # the host's HOME is replaced by the job container's; nothing else is added
        assert names == ["EMPTY", "EQ", "FROM_IMAGE", "HOME", "PATH", "TRICKY"]
        assert "HOME=/github/home" in listing.text
        result, lines = await run(
            runner,
            'printf %s "$TRICKY" > tricky.txt; printf %s "$EQ" > eq.txt; pwd',
            cwd=inner,
            env=env,
        )
        assert result.exit_code == 0
        assert lines.text == [str(inner)]
        assert (inner / "tricky.txt").read_text() == tricky
        assert (inner / "eq.txt").read_text() == "a=b=c"
        await runner.cleanup()

    asyncio.run(scenario())


def test_a_step_after_a_failed_step_runs_and_missing_things_give_127(
    sibling_box: SiblingBox,
) -> None:
    async def scenario() -> None:
        runner = SiblingRunner(sibling_box.control, start_timeout=30)
        failed, _ = await run(runner, "echo failing; false", cwd=sibling_box.work)
        assert failed.exit_code == 1
        after, lines = await run(runner, "echo after", cwd=sibling_box.work)
        assert (after.exit_code, lines.text) == (0, ["after"])
        no_dir, lines = await run(runner, "true", cwd=sibling_box.work / "missing")
        assert no_dir.exit_code == 127 and "can't cd" in " ".join(lines.text)
        no_program = Lines()
        missing = await runner.exec(
            ["/no/such/tool"],
            env={"PATH": PATH},
            cwd=sibling_box.work,
            timeout=30,
            on_output=no_program,
        )
        assert missing.exit_code == 127
        assert not [p for p in sibling_box.control.iterdir() if p.name[0].isdigit()]  # no leftovers
        await runner.cleanup()

    asyncio.run(scenario())


def test_a_timeout_kills_the_process_and_its_children(sibling_box: SiblingBox) -> None:
    runner = SiblingRunner(sibling_box.control, start_timeout=30, kill_grace=1.0)

    async def scenario() -> None:
        started = time.monotonic()
        result, lines = await run(
            runner,
            "echo started; sleep 30 & sleep 30; echo never",
            cwd=sibling_box.work,
            timeout=1.0,
        )
        assert result.timed_out and result.exit_code == 128 + 15
        assert lines.text[0] == "started" and "never" not in lines.text
        assert time.monotonic() - started < 5

    asyncio.run(scenario())
    assert running_sleeps(sibling_box, runner) == []


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace(
    sibling_box: SiblingBox,
) -> None:
    runner = SiblingRunner(sibling_box.control, start_timeout=30, kill_grace=0.5)

    async def scenario() -> None:
        result, _ = await run(runner, "trap '' TERM; sleep 30", cwd=sibling_box.work, timeout=0.5)
        assert result.timed_out and result.exit_code == 128 + 9

    asyncio.run(scenario())
    assert running_sleeps(sibling_box, runner) == []


def test_cancelling_a_step_kills_its_process(sibling_box: SiblingBox) -> None:
    runner = SiblingRunner(sibling_box.control, start_timeout=30)

    async def scenario() -> None:
        task = asyncio.create_task(run(runner, "sleep 30", cwd=sibling_box.work))
        await asyncio.sleep(0.7)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert running_sleeps(sibling_box, runner) == []


def test_cleanup_stops_the_loop_and_ends_the_container(sibling_box: SiblingBox) -> None:
    async def scenario() -> None:
        runner = SiblingRunner(sibling_box.control, start_timeout=30)
        task = asyncio.create_task(run(runner, "sleep 30", cwd=sibling_box.work))
        await asyncio.sleep(0.5)
        await runner.cleanup()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    deadline = time.monotonic() + 10
    while sibling_box.state() == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sibling_box.state() == "exited"


def test_a_job_container_that_never_starts_its_loop_is_reported(tmp_path: Path) -> None:
    runner = SiblingRunner(tmp_path, image="node:20", start_timeout=0.2)
    with pytest.raises(RunnerError, match=r"job container \(node:20\) did not start its executor"):
        asyncio.run(run(runner, "true", cwd=tmp_path))


def test_the_default_shell_falls_back_to_sh_in_an_image_without_bash(
    sibling_box: SiblingBox,
) -> None:
    script = sibling_box.work / "step.sh"
    script.write_text("echo from $0\nfalse\necho not reached\n")

    async def scenario() -> None:
        runner = SiblingRunner(sibling_box.control, start_timeout=30)
        lines = Lines()
        result = await runner.exec(
            ["bash", "-e", str(script)],
            env={"PATH": PATH},
            cwd=sibling_box.work,
            timeout=30,
            on_output=lines,
        )
        assert (result.exit_code, lines.text) == (1, [f"from {script}"])
        await runner.cleanup()

    asyncio.run(scenario())


def test_a_failing_output_callback_ends_the_process_and_surfaces(
    sibling_box: SiblingBox,
) -> None:
    runner = SiblingRunner(sibling_box.control, start_timeout=30)

    def broken(line: str) -> None:
        raise RuntimeError(f"cannot take {line}")

    async def scenario() -> None:
        with pytest.raises(RuntimeError, match="cannot take started"):
            await runner.exec(
                ["sh", "-c", "echo started; sleep 30"],
                env={"PATH": PATH},
                cwd=sibling_box.work,
                timeout=30,
                on_output=broken,
            )

    asyncio.run(scenario())
    assert running_sleeps(sibling_box, runner) == []
