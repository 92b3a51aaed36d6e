"""Issue 18 #2 and #3 over a real server: a killed server or agent takes its steps with it,
its jobs fail as on GitHub instead of running twice, and work directories do not pile up."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.ci.jobuser import default_work_root
from tests.runners.test_host import alive
from tests.server.conftest import make_server, push_workflows

STEP = """
          echo start >> MARK/starts
          if [ "$(wc -l < MARK/starts)" -gt JOBS ]; then echo again; exit 0; fi
          sleep 300 &
          echo $! >> MARK/pids
          echo $$ >> MARK/pids
          wait
"""

WORKFLOW = """name: Slow
on: push
jobs:
  one:
    runs-on: RUNS_ON
    steps:
      - run: |STEP
  two:
    runs-on: RUNS_ON
    steps:
      - run: |STEP
"""


@pytest.fixture
def mark() -> Iterator[Path]:
    """A folder the job user may write (pytest's tmp_path is closed to other users)."""
    folder = Path(tempfile.mkdtemp(prefix="conveyor-mark-"))
    folder.chmod(0o777)
    yield folder
    for pid in _pids(folder):
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(folder)


def _workflow(mark: Path, runs_on: str, jobs: int) -> str:
    """`jobs` (1 or 2) sleeping jobs, which succeed when run again."""
    step = STEP.replace("MARK", str(mark)).replace("JOBS", str(jobs))
    text = WORKFLOW if jobs == 2 else WORKFLOW.split("  two:", maxsplit=1)[0]
    return text.replace("STEP", step).replace("RUNS_ON", runs_on)


def _pids(mark: Path) -> list[int]:
    path = mark / "pids"
    return [int(w) for w in path.read_text().split()] if path.exists() else []


def _wait_for_pids(mark: Path, count: int) -> list[int]:
    for _ in range(600):
        if len(_pids(mark)) >= count:
            return _pids(mark)
        time.sleep(0.1)
    raise AssertionError(f"the steps never started: {_pids(mark)}")


def _still_alive(pids: list[int], within: float = 8.0) -> list[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


@pytest.mark.parametrize("mode", ["user", "host"])
def test_a_killed_server_takes_its_steps_along_and_fails_the_jobs_instead_of_rerunning(
    tmp_path: Path, mark: Path, mode: str, database: str
) -> None:
    server = make_server(
        tmp_path, "--pool-max", "2", "--local-runner", mode, "--database", database
    )
    server.start()
    try:
        files = {".github/workflows/slow.yml": _workflow(mark, "ubuntu-latest", 2)}
        push_workflows(server, tmp_path, "acme/slow", files)
        run_id = int(server.runs("acme/slow")[0]["id"])
        pids = _wait_for_pids(mark, 4)
        server.kill()
        assert _still_alive(pids) == [], "step processes outlived the server"
        server.start()
        run = server.wait_run(run_id, timeout=30)
        assert run["conclusion"] == "failure"
        assert "The runner has received a shutdown signal." in run["reason"]
        assert {j["name"]: j["conclusion"] for j in run["jobs"]} == {
            "one": "failure",
            "two": "failure",
        }
        time.sleep(2)
        assert (mark / "starts").read_text().split() == ["start", "start"]  # not re-run
        work = default_work_root(server.data)
        assert {p.name for p in work.iterdir()} <= {"bin", "cache"}  # swept
        again = server.api("POST", f"/api/v1/runs/{run_id}/rerun", json={}).json()["id"]
        rerun = server.wait_run(int(again), timeout=60)  # a re-run is the user's choice
        assert rerun["conclusion"] == "success"
    finally:
        server.stop()


def test_a_killed_agent_takes_its_steps_along_and_its_job_fails_after_the_heartbeat(
    tmp_path: Path, mark: Path, database: str
) -> None:
    server = make_server(
        tmp_path,
        "--pool-min",
        "0",
        "--pool-max",
        "0",
        "--heartbeat-timeout",
        "3",
        "--database",
        database,
    )
    server.start()
    token = server.register_runner("edge-1", "self-hosted,edge")
    with (tmp_path / "agent.log").open("ab") as out:
        agent = subprocess.Popen(
            [sys.executable, "-m", "conveyor.ci.agent", "--server", server.url],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "CONVEYOR_TOKEN": token},
            start_new_session=True,
        )
    try:
        files = {".github/workflows/slow.yml": _workflow(mark, "[self-hosted, edge]", 1)}
        push_workflows(server, tmp_path, "acme/edge", files)
        run_id = int(server.runs("acme/edge")[0]["id"])
        pids = _wait_for_pids(mark, 2)
        agent.send_signal(signal.SIGKILL)  # the agent alone, as the OOM killer would
        agent.wait()
        assert _still_alive(pids) == [], "step processes outlived their agent"
        run = server.wait_run(run_id, timeout=30)
        assert run["conclusion"] == "failure"
        assert "The self-hosted runner: edge-1 lost communication" in run["reason"]
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()
        server.stop()
