"""Servers that start together create the job user once (issue 12 #1): on a fresh machine
the two test workers' servers, or two services, found no user and both ran `useradd`, and
the second failed ("already exists"), so that server did not start."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

CREATE = """
import sys
from conveyor.ci.jobuser import ensure_user
print("ready", flush=True)
sys.stdin.readline()  # all start together: no interpreter start-up between them
user = ensure_user(sys.argv[1])
print(user.uid)
"""


def _forget(name: str) -> None:
    subprocess.run(["userdel", name], capture_output=True, check=False)
    for table in (Path("/etc/subuid"), Path("/etc/subgid")):
        if table.exists():
            kept = [ln for ln in table.read_text().splitlines() if not ln.startswith(f"{name}:")]
            table.write_text("".join(f"{ln}\n" for ln in kept))
    subprocess.run(["rm", "-rf", "--", f"/var/lib/{name}"], check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a system user needs root")
def test_four_servers_starting_at_once_create_the_job_user_once(tmp_path: Path) -> None:
    name = f"cv-test-{uuid.uuid4().hex[:8]}"
    try:
        starts = [
            subprocess.Popen(
                [sys.executable, "-c", CREATE, name],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        for proc in starts:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in starts:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [(p.wait(timeout=60), *p.communicate()) for p in starts]
        assert all(code == 0 for code, _, _ in results), results
        assert len({out.strip() for _, out, _ in results}) == 1  # one user, one uid
        lines = Path("/etc/subuid").read_text().splitlines()
        assert len([ln for ln in lines if ln.startswith(f"{name}:")]) == 1
    finally:
        _forget(name)
