"""Issue 18 #2 for container jobs: a job container dies with the process running the job.

A `PodmanRunner` job container holds no process group of its runner, so the runner's
guardian is told how to remove it; a runner killed with SIGKILL leaves no container."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from conveyor.clients.podman import Podman

JOB = """
import asyncio, sys
from pathlib import Path
from conveyor.clients.podman import Podman
from conveyor.runners.podman import PodmanRunner

async def main() -> None:
    runner = PodmanRunner(Podman(), image=sys.argv[1], mounts=[Path(sys.argv[2])], name=sys.argv[3])
    await runner.start()
    print("started", flush=True)
    await asyncio.sleep(300)

asyncio.run(main())
"""


def _containers(name: str) -> list[str]:
    podman = Podman()
    done = subprocess.run(
        ["podman", "ps", "-a", "--format", "json", "--filter", f"name=^{name}$"],
        env=dict(podman.env),
        capture_output=True,
        text=True,
        check=True,
    )
    return [c["Names"][0] for c in json.loads(done.stdout or "[]")]


def test_a_killed_runner_leaves_no_job_container(busybox: str, tmp_path: Path) -> None:
    name = f"conveyor-test-guard-{uuid.uuid4().hex[:8]}"
    job = subprocess.Popen(
        [sys.executable, "-c", JOB, busybox, str(tmp_path), name],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "CONVEYOR_WARM": "0"},
        start_new_session=True,
    )
    try:
        assert job.stdout is not None and job.stdout.readline().strip() == "started"
        assert _containers(name) == [name]
        job.send_signal(signal.SIGKILL)  # no cleanup runs in the runner
        job.wait()
        deadline = time.monotonic() + 30
        while _containers(name) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _containers(name) == [], "the job container outlived its runner"
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
        if job.stdout is not None:
            job.stdout.close()
        subprocess.run(
            ["podman", "rm", "-f", "-t", "0", "--", name],
            env=dict(Podman().env),
            capture_output=True,
            check=False,
        )
