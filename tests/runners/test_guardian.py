"""Issue 18 #2: a job's processes die with the process running the job, however it dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.runners.test_host import alive, pids_in

JOB = """
import asyncio, os, sys
from pathlib import Path
from conveyor.runners.host import HostRunner

async def main() -> None:
    host = HostRunner(kill_grace=0.5)
    await host.exec(
        ["bash", "-c", sys.argv[1]],
        env={"PATH": os.environ["PATH"]},
        cwd=Path(sys.argv[2]),
        timeout=None,
        on_output=print,
    )
    if len(sys.argv) > 3:  # the job's end, the normal way
        await host.cleanup()
        print(host.tracking_id)

asyncio.run(main())
"""

STEP = """
sleep 300 &
echo $! >> pids
setsid sleep 301 &
echo $! >> pids
echo $$ >> pids
wait
"""


def _wait_for(path: Path, count: int) -> list[int]:
    for _ in range(200):
        if path.exists() and len(pids_in(path)) >= count:
            return pids_in(path)
        time.sleep(0.05)
    raise AssertionError(f"the step never wrote {count} pids to {path}")


def _gone(pids: list[int], within: float = 5.0) -> list[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        left = [pid for pid in pids if alive(pid)]
        if not left:
            return []
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def test_a_killed_runner_process_takes_its_steps_and_their_daemons_with_it(
    tmp_path: Path,
) -> None:
    runner = subprocess.Popen(
        [sys.executable, "-c", JOB, STEP, str(tmp_path)],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    pids = _wait_for(tmp_path / "pids", 3)
    try:
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        assert _gone(pids) == [], "steps outlived their runner"
    finally:
        for pid in pids:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def _guardians(tracking: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if tracking.encode() in argv and alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def test_a_job_ended_the_normal_way_leaves_no_guardian_behind(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", JOB, "true", str(tmp_path), "cleanup"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    tracking = done.stdout.split()[-1]
    assert tracking.startswith("conveyor_")
    assert _guardians(tracking) == []
