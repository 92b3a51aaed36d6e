"""What the CI tests share: commit a workflow and push it to the service, play a runner
(`poll_job`, `complete_job`), read states back (`unit_states`, `run_state`)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path
from typing import Any

from conveyor.ci.service import CIService

SPLIT_MATRIX = """name: M
on: push
jobs:
  test:
    strategy:
      matrix:
        os: [linux, mac]
        py: ["3.11", "3.12"]
    runs-on: ${{ matrix.os }}
    steps: [{run: "true"}]
  same:
    strategy:
      matrix:
        py: ["3.11", "3.12"]
    runs-on: linux
    steps: [{run: "true"}]
"""


def commit_workflow(
    service: CIService,
    tmp: Path,
    text: str,
    *,
    branch: str = "main",
    message: str = "c",
    extra: dict[str, str] | None = None,
) -> list[int]:
    """Commit a workflow to a hosted repo (local push) and hand the push to the service."""
    bare = service.create_repo("acme/app")
    work = tmp / "work"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@e",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@e",
    }

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=work, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    if not work.exists():
        work.mkdir()
        git("init", "-q", "-b", branch)
    (work / ".github/workflows").mkdir(parents=True, exist_ok=True)
    (work / ".github/workflows/g.yml").write_text(text)
    for name, body in (extra or {}).items():
        (work / name).write_text(body)
    (work / "n").write_text(str(time.monotonic_ns()))
    git("add", "-A")
    git("commit", "-q", "-m", message)
    sha = git("rev-parse", "HEAD")
    git("push", "-q", str(bare), f"HEAD:refs/heads/{branch}")
    return asyncio.run(
        service.handle_push(
            "acme/app", ref=f"refs/heads/{branch}", before="0" * 40, after=sha, pusher="me"
        )
    )


def poll_job(service: CIService, runner: str, *labels: str) -> dict[str, Any] | None:
    """A runner with `labels` asks once for a job (no waiting)."""
    return asyncio.run(service.poll(runner, labels=list(labels), timeout=0))


def complete_job(
    service: CIService, got: dict[str, Any], runner: str, result: str, **outputs: str
) -> None:
    """The runner of assignment `got` reports its job's `result` and outputs."""
    job = {"result": result, "outputs": outputs}
    service.complete(int(got["run_id"]), runner, {"result": result, "job": job})


def unit_states(service: CIService, run_id: int) -> dict[str, tuple[str, str]]:
    """(status, conclusion) of each unit of the run, by name."""
    return {u["name"]: (u["status"], u["conclusion"]) for u in service.store.units(run_id=run_id)}


def run_state(service: CIService, run_id: int) -> tuple[str, str]:
    """(status, conclusion) of the run."""
    run = service.store.run(run_id)
    assert run is not None
    return run["status"], run["conclusion"]
