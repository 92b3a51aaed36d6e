"""One ref update is one push event, exactly once (issue 18, defect 1).

A real `conveyor server` process (SQLite, then PostgreSQL) receives pushes over git smart
HTTP. Overlapping pushes to different branches each start exactly one run for their own
branch; a push whose server is killed right after git updated the ref, before any run was
queued, starts its run once the server is back. No local runners (pool 0): runs stay
queued, so only their creation is measured.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from conveyor.store.ci_schema import runs
from conveyor.store.engine import database_url
from tests.gitutil import git
from tests.server.conftest import Server, make_server, push_workflows

CI = """name: CI
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "built ${{ github.ref_name }}"
"""
BRANCHES = 20
PARALLEL = 5


@pytest.fixture
def db_server(tmp_path: Path, database: str) -> Iterator[Server]:
    srv = make_server(tmp_path, "--database", database, "--pool-min", "0", "--pool-max", "0")
    srv.start()
    yield srv
    srv.stop()


def _push(server: Server, work: Path, branch: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "git",
            "-c",
            f"http.extraHeader=Authorization: Bearer {server.admin}",
            "push",
            "-q",
            "origin",
            f"HEAD:refs/heads/{branch}",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )


def _branch_clone(server: Server, tmp: Path, branch: str) -> tuple[Path, str]:
    """A clone of acme/app with one commit of its own on top of main; (clone, its sha)."""
    work = tmp / f"clone-{branch}"
    url = f"{server.url}/git/acme/app.git"
    header = f"http.extraHeader=Authorization: Bearer {server.admin}"
    git(tmp, "-c", header, "clone", "-q", url, str(work))
    (work / f"{branch}.txt").write_text(branch)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", f"work on {branch}")
    return work, git(work, "rev-parse", "HEAD")


def _runs_by_ref(server: Server) -> Counter[tuple[str, str]]:
    return Counter((r["ref"], r["sha"]) for r in server.runs("acme/app"))


def _settled_runs(server: Server, expected: int) -> Counter[tuple[str, str]]:
    """The runs once no new one appeared for a second (duplicates come late, too)."""
    deadline = time.monotonic() + 60
    seen = _runs_by_ref(server)
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = _runs_by_ref(server)
        if now != seen:
            seen, quiet_since = now, time.monotonic()
        elif sum(seen.values()) >= expected and time.monotonic() - quiet_since > 1.0:
            return seen
    return seen


def test_concurrent_pushes_to_different_branches_start_one_run_each(
    db_server: Server, tmp_path: Path
) -> None:
    main = push_workflows(db_server, tmp_path, "acme/app", {".github/workflows/ci.yml": CI})
    clones = {
        f"topic-{n:02d}": _branch_clone(db_server, tmp_path, f"topic-{n:02d}")
        for n in range(BRANCHES)
    }

    with ThreadPoolExecutor(PARALLEL) as pool:
        pushed = list(pool.map(lambda b: (b, _push(db_server, clones[b][0], b)), clones))
    assert [(b, p.returncode, p.stderr) for b, p in pushed if p.returncode] == []

    found = _settled_runs(db_server, BRANCHES + 1)
    expected = Counter({("refs/heads/main", main): 1})
    expected.update({(f"refs/heads/{b}", sha): 1 for b, (_, sha) in clones.items()})
    assert sum(found.values()) == BRANCHES + 1, f"runs created: {sum(found.values())}"
    assert found == expected


def _wait_for_ref(git_dir: Path, ref: str, timeout: float = 30) -> None:
    """Until git has written `ref` (a loose ref file: receive-pack writes new refs so)."""
    path = git_dir / ref
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{ref} never appeared in {git_dir}")
        time.sleep(0.0005)


def _runs_in_database(database: str, ref: str) -> int:
    engine = create_engine(database_url(database))
    try:
        with engine.connect() as conn:
            query = select(func.count()).select_from(runs).where(runs.c.ref == ref)
            return int(conn.scalar(query) or 0)
    finally:
        engine.dispose()


def test_a_push_received_by_a_server_killed_before_queueing_runs_once_after_restart(
    db_server: Server, tmp_path: Path, database: str
) -> None:
    main = push_workflows(db_server, tmp_path, "acme/app", {".github/workflows/ci.yml": CI})
    work, sha = _branch_clone(db_server, tmp_path, "hotfix")
    git_dir = db_server.data / "git" / "acme" / "app.git"
    assert db_server.proc is not None
    pid = db_server.proc.pid

    pushing = subprocess.Popen(
        [
            "git",
            "-c",
            f"http.extraHeader=Authorization: Bearer {db_server.admin}",
            "push",
            "-q",
            "origin",
            "HEAD:refs/heads/hotfix",
        ],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for_ref(git_dir, "refs/heads/hotfix")
    os.kill(pid, signal.SIGSTOP)  # git has received the push; the server has queued nothing
    try:
        assert _runs_in_database(database, "refs/heads/hotfix") == 0
    finally:
        db_server.kill()
    pushing.wait(timeout=30)

    db_server.start()
    found = _settled_runs(db_server, 2)
    assert found == Counter({("refs/heads/main", main): 1, ("refs/heads/hotfix", sha): 1})
