"""Per-job dispatch rules of CIService without runners: readiness, server-side skips,
`runs-on` expressions, split matrix jobs, job-level concurrency, per-job heartbeats and
recovery — on SQLite and PostgreSQL, real git, runners played by `poll` / `complete`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, insert, inspect, update

from conveyor.ci.crypto import SecretBox
from conveyor.ci.service import CIService, ServiceConfig
from conveyor.store.ci_schema import ci_metadata, runs, units
from conveyor.store.ci_store import CIStore
from conveyor.store.ci_tables import open_engine
from tests.ci.helpers import (
    SPLIT_MATRIX,
    commit_workflow,
    complete_job,
    poll_job,
    run_state,
    unit_states,
)

CHAIN = """name: Chain
on: [push, workflow_dispatch]
jobs:
  pick:
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  train:
    needs: pick
    runs-on: ${{ needs.pick.outputs.label }}
    steps: [{run: "true"}]
  never:
    needs: pick
    if: false
    runs-on: [self-hosted, nowhere]
    steps: [{run: "true"}]
  cleanup:
    needs: train
    if: failure()
    runs-on: [self-hosted, nowhere]
    steps: [{run: "true"}]
  publish:
    needs: train
    runs-on: [self-hosted, nowhere]
    steps: [{run: "true"}]
"""


def test_jobs_wait_for_needs_and_runs_on_reads_needs_outputs(
    service: CIService, tmp_path: Path
) -> None:
    [run_id] = commit_workflow(service, tmp_path, CHAIN)
    assert unit_states(service, run_id) == {"pick": ("queued", "")}
    assert poll_job(service, "gpu-1", "gpu-7") is None  # train is not ready yet
    pick = poll_job(service, "local-1", "ubuntu-latest")
    assert pick is not None and (pick["job_id"], pick["prior_jobs"]) == ("pick", {})
    complete_job(service, pick, "local-1", "success", label="gpu-7")
    assert unit_states(service, run_id) == {
        "pick": ("completed", "success"),
        "train": ("queued", ""),
        "never": ("completed", "skipped"),  # if: false, concluded without a runner
    }
    assert poll_job(service, "local-1", "ubuntu-latest") is None
    train = poll_job(service, "gpu-1", "gpu-7")
    assert train is not None and train["job_id"] == "train"
    assert train["prior_jobs"]["pick"] == ["success", {"label": "gpu-7"}]
    complete_job(service, train, "gpu-1", "failure")
    got = unit_states(service, run_id)
    assert got["cleanup"] == ("queued", "")  # if: failure() runs after the failed need
    assert got["publish"] == ("completed", "skipped")  # a failed need skips the dependant
    cleanup = poll_job(service, "box", "self-hosted", "nowhere")
    assert cleanup is not None and cleanup["prior_jobs"]["train"] == ["failure", {}]
    assert run_state(service, run_id) == ("in_progress", "")
    complete_job(service, cleanup, "box", "success")
    assert run_state(service, run_id) == ("completed", "failure")
    jobs = {j["name"]: j["conclusion"] for j in service.store.jobs(run_id)}
    assert jobs["never"] == "skipped" and jobs["publish"] == "skipped"


def test_runs_on_from_a_dispatch_input(service: CIService, tmp_path: Path) -> None:
    text = """name: Pool
on:
  workflow_dispatch:
    inputs:
      pool: {required: true}
      big: {type: boolean, default: false}
jobs:
  work:
    runs-on: [self-hosted, "${{ inputs.pool }}", "${{ inputs.big && 'big' || 'small' }}"]
    steps: [{run: "true"}]
"""
    commit_workflow(service, tmp_path, text)
    event = service.dispatch(
        "acme/app", workflow="g.yml", ref="main", inputs={"pool": "arm", "big": "false"}, actor="me"
    )
    [run_id] = asyncio.run(
        service.handle_event(event, git_dir=service.repo_path("acme/app"), workflow="g.yml")
    )
    [unit] = service.store.units(run_id=run_id)
    assert unit["labels"] == ["self-hosted", "arm", "small"]  # the boolean input is typed
    assert poll_job(service, "x86", "self-hosted", "x86", "small") is None
    assert poll_job(service, "arm-1", "self-hosted", "arm", "small") is not None


def test_matrix_legs_split_by_runs_on_and_fail_fast_across_runners(
    service: CIService, tmp_path: Path
) -> None:
    [run_id] = commit_workflow(service, tmp_path, SPLIT_MATRIX)
    listed = {(u["job_id"], tuple(u["labels"])): u for u in service.store.units(run_id=run_id)}
    assert sorted(listed) == [("same", ("linux",)), ("test", ("linux",)), ("test", ("mac",))]
    assert listed[("same", ("linux",))]["matrix_filter"] is None  # one runner: all legs
    assert listed[("test", ("mac",))]["matrix_filter"] == [
        ["os", "mac"],
        ["py", "3.11"],
        ["py", "3.12"],
    ]
    mac = poll_job(service, "mac-1", "mac")
    assert mac is not None and mac["matrix_filter"] == [
        ["os", "mac"],
        ["py", "3.11"],
        ["py", "3.12"],
    ]
    complete_job(service, mac, "mac-1", "failure")
    shares = [u for u in service.store.units(run_id=run_id) if u["job_id"] == "test"]
    assert sorted(u["conclusion"] for u in shares) == ["cancelled", "failure"]  # fail-fast


DEPLOY = """name: D
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    concurrency: {group: "deploy-${{ github.ref_name }}", cancel-in-progress: CANCEL}
    steps: [{run: "true"}]
"""


def test_job_level_concurrency_keeps_one_running_and_one_pending(
    service: CIService, tmp_path: Path
) -> None:
    text = DEPLOY.replace("CANCEL", "false")
    [first] = commit_workflow(service, tmp_path, text)
    got = poll_job(service, "local-1", "ubuntu-latest")
    assert got is not None and got["run_id"] == first
    [second] = commit_workflow(service, tmp_path, text)
    assert unit_states(service, second) == {"deploy": ("pending", "")}
    assert run_state(service, second) == ("queued", "")  # the run itself is not held back
    [third] = commit_workflow(service, tmp_path, text)
    assert unit_states(service, second) == {"deploy": ("completed", "cancelled")}
    [unit] = service.store.units(run_id=second)
    assert "higher priority waiting request for 'deploy-main'" in unit["reason"]
    assert run_state(service, second) == ("completed", "cancelled")
    assert unit_states(service, third) == {"deploy": ("pending", "")}
    assert poll_job(service, "local-2", "ubuntu-latest") is None
    complete_job(service, got, "local-1", "success")
    assert unit_states(service, third) == {"deploy": ("queued", "")}
    [fourth] = commit_workflow(service, tmp_path, DEPLOY.replace("CANCEL", "true"))
    assert unit_states(service, third) == {"deploy": ("completed", "cancelled")}
    assert unit_states(service, fourth) == {"deploy": ("queued", "")}


def test_job_level_cancel_in_progress_stops_the_running_job(
    service: CIService, tmp_path: Path
) -> None:
    [first] = commit_workflow(service, tmp_path, DEPLOY.replace("CANCEL", "true"))
    got = poll_job(service, "local-1", "ubuntu-latest")
    assert got is not None
    [second] = commit_workflow(service, tmp_path, DEPLOY.replace("CANCEL", "true"))
    assert run_state(service, first) == ("in_progress", "")  # stopped through its runner …
    assert service.beat_answer(first, "local-1") == "cancel"  # … always() steps still run
    assert unit_states(service, second) == {"deploy": ("pending", "")}  # until it has ended
    complete_job(service, got, "local-1", "cancelled")
    assert run_state(service, first) == ("completed", "cancelled")
    [unit] = service.store.units(run_id=first)
    assert "higher priority waiting request for 'deploy-main'" in unit["reason"]
    assert unit_states(service, second) == {"deploy": ("queued", "")}


def test_a_silent_runner_fails_its_job_and_the_run_goes_on(
    service: CIService, tmp_path: Path
) -> None:
    text = """name: H
on: push
jobs:
  long:
    runs-on: [self-hosted, gpu]
    steps: [{run: "true"}]
  notify:
    needs: long
    if: always()
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
"""
    [run_id] = commit_workflow(service, tmp_path, text)
    assert poll_job(service, "gpu-1", "self-hosted", "gpu") is not None

    async def one_pass() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(service.supervise(stop, every=0.01))
        for _ in range(1000):  # until supervise gave the remote job its start-up grace
            if service.store.units(run_id=run_id)[0]["heartbeat"] > time.time():
                break
            await asyncio.sleep(0.01)
        with service.store.tx() as conn:  # … and then the runner fell silent
            conn.execute(update(units).where(units.c.run_id == run_id).values(heartbeat=0.0))
        for _ in range(500):
            await asyncio.sleep(0.01)
            if "notify" in unit_states(service, run_id):
                break
        stop.set()
        await task

    asyncio.run(one_pass())
    assert unit_states(service, run_id) == {
        "long": ("completed", "failure"),
        "notify": ("queued", ""),
    }
    notify = poll_job(service, "local-1", "ubuntu-latest")
    assert notify is not None
    complete_job(service, notify, "local-1", "success")
    run = service.store.run(run_id)
    assert run is not None and run["conclusion"] == "failure"
    assert "The self-hosted runner: gpu-1 lost communication with the server" in run["reason"]


def test_recovery_fails_local_jobs_as_github_does_and_gives_old_runs_their_units(
    service: CIService, tmp_path: Path
) -> None:
    [run_id] = commit_workflow(service, tmp_path, DEPLOY.replace("CANCEL", "false"))
    assert poll_job(service, "local-3", "ubuntu-latest") is not None
    assert run_state(service, run_id) == ("in_progress", "")
    with service.store.tx() as conn:  # a run an older server left queued (no units)
        old = dict(service.store.run(run_id) or {})
        old.pop("id")
        old.update(status="queued", runner="", concurrency_group="", created=time.time())
        done = conn.execute(
            insert(runs).values(
                **{**old, "payload": "{}", "labels": "[]", "only_jobs": "null", "annotations": "[]"}
            )
        )
        legacy = int(done.inserted_primary_key[0])  # type: ignore[index]
    service.recover()
    assert unit_states(service, run_id) == {"deploy": ("completed", "failure")}  # never run twice
    run = service.store.run(run_id)
    assert run is not None and (run["status"], run["conclusion"]) == ("completed", "failure")
    assert "The runner has received a shutdown signal." in run["reason"]
    assert "re-run the job" in run["reason"]
    assert unit_states(service, legacy) == {"deploy": ("queued", "")}  # the group is free again


def test_a_database_from_before_per_job_dispatch_migrates(tmp_path: Path) -> None:
    """An older data directory has every CI table but `ci_units`: opening it adds the table,
    and a run it left queued is planned job by job on recovery."""

    path = tmp_path / "old.db"
    old = create_engine(f"sqlite:///{path}")
    with old.begin() as conn:
        for table in ci_metadata.sorted_tables:
            if table.name != "ci_units":
                table.create(conn)
    old.dispose()
    store = CIStore(open_engine(path))
    assert "ci_units" in inspect(store.engine).get_table_names()
    service = CIService(store, SecretBox(Fernet.generate_key()), ServiceConfig(data_dir=tmp_path))
    [run_id] = commit_workflow(service, tmp_path, DEPLOY.replace("CANCEL", "false"))
    with service.store.tx() as conn:  # as the older server left it: queued, no units
        conn.execute(units.delete())
        conn.execute(update(runs).values(status="in_progress", runner="local-1"))
    service.recover()
    assert unit_states(service, run_id) == {"deploy": ("queued", "")}
    assert run_state(service, run_id) == ("queued", "")


def test_a_job_calling_a_local_reusable_workflow_is_dispatched(
    service: CIService, tmp_path: Path
) -> None:
    caller = """name: Caller
on: push
jobs:
  build:
    uses: ./.github/workflows/build.yml
  after:
    needs: build
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
"""
    callee = """name: Build
on: workflow_call
jobs:
  b:
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
"""
    extra = {".github/workflows/build.yml": callee}
    [run_id] = commit_workflow(service, tmp_path, caller, extra=extra)
    assert unit_states(service, run_id) == {"build": ("queued", "")}
    got = poll_job(service, "local-1", "ubuntu-latest")
    assert got is not None and got["job_id"] == "build"
    complete_job(service, got, "local-1", "success")
    assert unit_states(service, run_id)["after"] == ("queued", "")
