"""Issue 18 #3 over a real server: a job's work directory is gone when it ends, and a job
that fills its workspace past the disk bound is stopped with a message saying so."""

from __future__ import annotations

import time
from pathlib import Path

from conveyor.ci.jobuser import default_work_root
from tests.server.conftest import make_server, push_workflows

WRITER = """name: Big
on: push
jobs:
  big:
    runs-on: ubuntu-latest
    steps:
      - run: head -c 52428800 /dev/zero > big.bin && ls -l big.bin && THEN
"""


def _used(root: Path) -> int:
    return sum(p.stat().st_blocks * 512 for p in root.rglob("*") if p.is_file())


def test_a_run_that_wrote_50_mb_leaves_nothing_in_the_work_root(
    tmp_path: Path, database: str
) -> None:
    server = make_server(tmp_path, "--pool-max", "1", "--database", database)
    server.start()
    try:
        files = {".github/workflows/big.yml": WRITER.replace("THEN", "true")}
        push_workflows(server, tmp_path, "acme/big", files)
        run = server.wait_run(int(server.runs("acme/big")[0]["id"]), timeout=90)
        assert run["conclusion"] == "success"
        work = default_work_root(server.data)
        deadline = time.monotonic() + 15  # the runner removes it once it has reported
        while {p.name for p in work.iterdir()} - {"bin", "cache"} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert {p.name for p in work.iterdir()} <= {"bin", "cache"}
        assert _used(work) < 5 << 20
    finally:
        server.stop()


def test_a_job_past_the_disk_bound_fails_with_a_message_that_says_so(
    tmp_path: Path, database: str
) -> None:
    server = make_server(
        tmp_path, "--pool-max", "1", "--job-disk-limit", "0.02", "--database", database
    )
    server.start()
    try:
        files = {".github/workflows/big.yml": WRITER.replace("THEN", "sleep 60")}
        push_workflows(server, tmp_path, "acme/big", files)
        started = time.monotonic()
        run = server.wait_run(int(server.runs("acme/big")[0]["id"]), timeout=60)
        assert time.monotonic() - started < 30  # stopped, not left to sleep
        assert run["conclusion"] == "failure"
        logs = server.api("GET", f"/api/v1/runs/{run['id']}/logs").text
        assert "the job used more than 0.02 GiB of disk in its workspace" in logs
    finally:
        server.stop()
