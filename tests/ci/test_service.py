"""CIService rules without runners: concurrency groups, recovery, heartbeat timeouts,
environment protection rules (reviewers, wait timer, branches) — real git, on SQLite and on
PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from conveyor.ci.errors import Conflict, Forbidden
from conveyor.ci.executor import RETRY_DELAY_MAX
from conveyor.ci.service import CIService
from conveyor.store.ci_schema import approvals, units
from tests.ci.helpers import commit_workflow, run_state

GROUPED = """name: G
on: push
concurrency: {group: the-group, cancel-in-progress: CANCEL}
jobs:
  j:
    runs-on: ubuntu-latest
    environment: production
    steps: [{run: "true"}]
"""


def _claim(service: CIService, runner: str = "local-1") -> int:
    got = asyncio.run(service.poll(runner, labels=["ubuntu-latest"], kind="local", timeout=0))
    assert got is not None
    return int(got["run_id"])


def test_group_keeps_one_running_and_one_pending(service: CIService, tmp_path: Path) -> None:
    text = GROUPED.replace("CANCEL", "false")
    [first] = commit_workflow(service, tmp_path, text)
    assert _claim(service) == first
    [second] = commit_workflow(service, tmp_path, text)
    [third] = commit_workflow(service, tmp_path, text)
    assert run_state(service, second) == ("completed", "cancelled")
    assert run_state(service, third) == ("pending", "")
    service.complete(first, "local-1", {"result": "success"})
    assert run_state(service, first) == ("completed", "success")
    assert run_state(service, third) == ("queued", "")


def test_cancel_in_progress_and_restart_recovery(service: CIService, tmp_path: Path) -> None:
    [first] = commit_workflow(service, tmp_path, GROUPED.replace("CANCEL", "true"))
    _claim(service)
    [second] = commit_workflow(service, tmp_path, GROUPED.replace("CANCEL", "true"))
    assert run_state(service, first) == ("in_progress", "")  # cancelling: its job must stop
    assert service.beat(first, "local-1") is True  # the runner learns it must stop
    assert run_state(service, second) == ("pending", "")  # until the first run has ended
    service.complete(first, "local-1", {"result": "cancelled"})
    assert run_state(service, first) == ("completed", "cancelled")
    assert _claim(service, "gpu-1") == second
    [third] = commit_workflow(service, tmp_path, GROUPED.replace("CANCEL", "false"))
    assert run_state(service, third) == ("pending", "")
    for unit in service.store.units(run_id=second):  # as if the pool had its job
        service.store.update_unit(unit["id"], runner="local-9")
    service.recover()
    assert run_state(service, second) == ("completed", "failure")  # its runner died: not re-run
    assert run_state(service, third) == ("queued", "")  # the group is free


def _silence(service: CIService, run_id: int) -> None:
    """The run's jobs last beat long ago (heartbeats are per job since per-job dispatch)."""
    with service.store.tx() as conn:
        conn.execute(update(units).where(units.c.run_id == run_id).values(heartbeat=0.0))


def test_silent_runner_is_failed_after_the_heartbeat_timeout(
    service: CIService, tmp_path: Path
) -> None:
    [run_id] = commit_workflow(service, tmp_path, GROUPED.replace("CANCEL", "false"))
    _claim(service, "gpu-1")

    async def one_pass() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(service.supervise(stop, every=0.01))
        await asyncio.sleep(0.02)
        _silence(service, run_id)
        await asyncio.sleep(0.05)
        stop.set()
        await task

    asyncio.run(one_pass())
    run = service.store.run(run_id)
    assert run is not None and run["conclusion"] == "failure"
    assert "The self-hosted runner: gpu-1 lost communication with the server" in run["reason"]


def test_a_silent_runner_s_reason_is_printed_once_in_the_log(
    service: CIService, tmp_path: Path
) -> None:
    """Issue 18: the job's reason was printed by the job and again by the run it ended."""
    [run_id] = commit_workflow(service, tmp_path, GROUPED.replace("CANCEL", "false"))
    _claim(service, "gpu-1")
    _silence(service, run_id)

    async def one_pass() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(service.supervise(stop, every=0.01))
        await asyncio.sleep(0.05)
        _silence(service, run_id)  # (supervise gave remote runners a fresh deadline first)
        await asyncio.sleep(0.05)
        stop.set()
        await task

    asyncio.run(one_pass())
    said = [t for _, t in service.store.logs(run_id) if "lost communication" in t]
    assert len(said) == 1, service.store.logs(run_id)
    run = service.store.run(run_id)
    assert run is not None
    assert "The self-hosted runner: gpu-1 lost communication" in run["reason"]


def test_a_restarted_server_gives_remote_runners_time_to_reconnect(
    service: CIService, tmp_path: Path
) -> None:
    """The heartbeat clock starts when the server serves, plus the runner's back-off."""
    [run_id] = commit_workflow(service, tmp_path, GROUPED.replace("CANCEL", "false"))
    _claim(service, "gpu-1")
    _silence(service, run_id)  # the last beat was long ago: the server was down
    serving: list[bool] = []

    async def restart() -> float:
        stop = asyncio.Event()
        task = asyncio.create_task(
            service.supervise(stop, every=0.01, serving=lambda: bool(serving))
        )
        await asyncio.sleep(0.05)  # still starting: nothing is judged
        assert run_state(service, run_id) == ("in_progress", "")
        serving.append(True)
        await asyncio.sleep(0.05)
        stop.set()
        await task
        return time.time()

    end = asyncio.run(restart())
    assert run_state(service, run_id) == ("in_progress", "")
    [unit] = service.store.units(run_id=run_id)
    assert unit["heartbeat"] > end + RETRY_DELAY_MAX - 1


def test_environment_rules(service: CIService, tmp_path: Path) -> None:
    service.put_environment(
        "acme/app",
        "production",
        reviewers=["alice"],
        wait_timer=600,
        branches=["main", "release/*"],
    )
    service.put_secret("env:acme/app:production", "TOKEN", "tok-value")
    [run_id] = commit_workflow(service, tmp_path, GROUPED.replace("CANCEL", "false"))
    assert service.check_environment(run_id, "production")["state"] == "waiting"
    with pytest.raises(Forbidden):
        service.decide(run_id, "production", user="bob", admin=False, approve=True)
    service.decide(run_id, "production", user="alice", admin=False, approve=True)
    with pytest.raises(Conflict):
        service.decide(run_id, "production", user="alice", admin=False, approve=True)
    waiting = service.check_environment(run_id, "production")
    assert waiting == {"state": "waiting", "message": "wait timer of 600 s"}
    with service.store.tx() as conn:
        conn.execute(update(approvals).values(requested=time.time() - 601))
    released = service.check_environment(run_id, "production")
    assert released["state"] == "approved" and released["secrets"] == {"TOKEN": "tok-value"}
    [other] = commit_workflow(service, tmp_path, GROUPED.replace("CANCEL", "false"), branch="dev")
    refused = service.check_environment(other, "production")
    assert refused["state"] == "rejected" and "Branch 'dev' is not allowed" in refused["message"]
    assert "secrets" not in refused


def test_a_push_whose_head_commit_says_skip_ci_queues_nothing(
    service: CIService, tmp_path: Path
) -> None:
    text = GROUPED.replace("CANCEL", "false")
    assert commit_workflow(service, tmp_path, text, message="docs only [skip ci]") == []
    assert len(commit_workflow(service, tmp_path, text, message="real change")) == 1


def test_long_names_work_on_every_database(service: CIService, tmp_path: Path) -> None:
    """PostgreSQL enforces VARCHAR lengths, SQLite does not: user-chosen names are text."""
    name, job, environment = "w" * 400, "j" * 90, "e" * 250
    text = (
        f"name: {name}\non: push\njobs:\n  {job}:\n    runs-on: ubuntu-latest\n"
        f"    environment: {environment}\n    steps: [{{run: 'true'}}]\n"
    )
    [run_id] = commit_workflow(service, tmp_path, text)
    run = service.store.run(run_id)
    assert run is not None and run["workflow_name"] == name
    contexts = [s["context"] for s in service.store.statuses("acme/app", run["sha"])]
    assert f"conveyor/{name}" in contexts
    claimed = asyncio.run(
        service.poll("r" * 250, labels=["ubuntu-latest"], kind="remote", timeout=0)
    )
    assert claimed is not None and claimed["run_id"] == run_id
