"""Cancelling a run as GitHub does: jobs whose `if` holds once the run is cancelled
(`always()`, `cancelled()`) still run, with `cancelled()` true; the others stop (running
ones through their runner, which keeps reporting while its `always()` steps run); the run
concludes `cancelled` — on SQLite and PostgreSQL, real git, runners played by `poll` /
`complete`."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, inspect, update

from conveyor.ci.crypto import SecretBox
from conveyor.ci.errors import Conflict
from conveyor.ci.service import CIService, ServiceConfig
from conveyor.store.ci_schema import ci_metadata, run_cancels
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

FLOW = """name: F
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  lint:
    runs-on: [self-hosted, linter]
    steps: [{run: "true"}]
  audit:
    if: always()
    runs-on: [self-hosted, linter]
    steps: [{run: "true"}]
  publish:
    needs: build
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  cleanup:
    needs: build
    if: always()
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  notify:
    needs: build
    if: cancelled()
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  report:
    needs: build
    if: failure()
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
"""


def test_cancel_stops_jobs_whose_if_fails_and_runs_the_always_ones(
    service: CIService, tmp_path: Path
) -> None:
    [run_id] = commit_workflow(service, tmp_path, FLOW)
    build = poll_job(service, "local-1", "ubuntu-latest")
    assert build is not None and build["job_id"] == "build" and build["cancelled"] is False
    assert unit_states(service, run_id)["lint"] == ("queued", "")
    service.cancel(run_id, reason="cancelled by alice")
    units = unit_states(service, run_id)
    assert units["lint"] == ("completed", "cancelled")  # queued, `if` fails: cancelled now
    assert units["audit"] == ("queued", "")  # queued, if: always(): still goes to a runner
    assert units["build"] == ("in_progress", "")  # its runner is told, and reports back
    assert run_state(service, run_id) == ("in_progress", "")
    assert service.beat_answer(run_id, "local-1") == "cancel"  # stop as the engine does …
    assert service.add_logs(run_id, "local-1", [("build", "always() step")]) is False  # … logs
    service.cancel(run_id)  # a second cancel changes nothing
    assert unit_states(service, run_id)["build"] == ("in_progress", "")
    complete_job(service, build, "local-1", "cancelled")
    assert ("build", "always() step") in service.store.logs(run_id)
    units = unit_states(service, run_id)
    assert units["publish"] == ("completed", "skipped")
    assert units["report"] == ("completed", "skipped")
    assert units["cleanup"] == ("queued", "")
    assert units["notify"] == ("queued", "")  # cancelled() holds
    got = {}
    for _ in range(2):
        unit = poll_job(service, "local-2", "ubuntu-latest")
        assert unit is not None and unit["cancelled"] is True  # the engine sees cancelled()
        assert unit["prior_jobs"]["build"] == ["cancelled", {}]
        got[unit["job_id"]] = unit
        assert service.beat(run_id, "local-2") is False  # its `if` holds: it is not stopped
        complete_job(service, unit, "local-2", "success")
    assert sorted(got) == ["cleanup", "notify"]
    audit = poll_job(service, "lint-1", "self-hosted", "linter")
    assert audit is not None and audit["job_id"] == "audit"
    assert run_state(service, run_id) == ("in_progress", "")
    complete_job(service, audit, "lint-1", "success")
    run = service.store.run(run_id)
    assert run is not None and (run["status"], run["conclusion"]) == ("completed", "cancelled")
    assert run["reason"] == "cancelled by alice"
    jobs = {j["name"]: j["conclusion"] for j in service.store.jobs(run_id)}
    assert jobs["lint"] == "cancelled" and jobs["publish"] == "skipped"
    with pytest.raises(Conflict):
        service.cancel(run_id)


def test_a_running_always_job_is_not_stopped(service: CIService, tmp_path: Path) -> None:
    [run_id] = commit_workflow(service, tmp_path, FLOW)
    audit = poll_job(service, "lint-1", "self-hosted", "linter")
    lint = poll_job(service, "lint-2", "self-hosted", "linter")
    assert audit is not None and lint is not None
    assert {audit["job_id"], lint["job_id"]} == {"audit", "lint"}
    service.cancel(run_id)
    stops = {audit["job_id"]: service.beat(run_id, "lint-1")}
    stops[lint["job_id"]] = service.beat(run_id, "lint-2")
    assert stops == {"audit": False, "lint": True}
    assert unit_states(service, run_id)["build"] == ("completed", "cancelled")  # never started


def test_force_cancel_ends_every_job_at_once(service: CIService, tmp_path: Path) -> None:
    [run_id] = commit_workflow(service, tmp_path, FLOW)
    build = poll_job(service, "local-1", "ubuntu-latest")
    assert build is not None
    service.cancel(run_id)
    assert unit_states(service, run_id)["audit"] == ("queued", "")
    service.cancel(run_id, reason="force-cancelled by alice", force=True)
    assert run_state(service, run_id) == ("completed", "cancelled")
    assert {s for s, _ in unit_states(service, run_id).values()} == {"completed"}
    assert service.beat_answer(run_id, "local-1") == "stop"  # no longer its job: end it now


def test_a_job_that_does_not_stop_is_cancelled_after_the_cancel_timeout(
    service: CIService, tmp_path: Path
) -> None:
    [run_id] = commit_workflow(service, tmp_path, FLOW)
    assert poll_job(service, "local-1", "ubuntu-latest") is not None
    lint = poll_job(service, "lint-1", "self-hosted", "linter")
    audit = poll_job(service, "lint-2", "self-hosted", "linter")
    assert lint is not None and audit is not None
    assert (lint["job_id"], audit["job_id"]) == ("lint", "audit")  # oldest first
    service.cancel(run_id)
    service.enforce_cancel_timeout()
    assert unit_states(service, run_id)["build"] == ("in_progress", "")  # it has five minutes
    with service.store.tx() as conn:
        conn.execute(update(run_cancels).values(requested=time.time() - 301))
    service.enforce_cancel_timeout()
    units = unit_states(service, run_id)
    assert units["build"] == units["lint"] == ("completed", "cancelled")
    assert units["audit"] == ("in_progress", "")  # if: always(): never stopped
    [build] = [u for u in service.store.units(run_id=run_id) if u["job_id"] == "build"]
    assert "did not stop within 300 s of the run's cancellation" in build["reason"]


def test_cancelling_a_pending_run_ends_it(service: CIService, tmp_path: Path) -> None:
    grouped = "name: G\non: push\nconcurrency: one\n" + FLOW.split("\n", 2)[2]
    [first] = commit_workflow(service, tmp_path, grouped)
    [second] = commit_workflow(service, tmp_path, grouped)
    assert run_state(service, second) == ("pending", "")
    service.cancel(second)
    assert run_state(service, second) == ("completed", "cancelled")
    assert service.store.units(run_id=second) == []
    assert run_state(service, first)[0] == "queued"


def test_a_database_from_before_cancel_requests_and_unit_environments_migrates(
    tmp_path: Path,
) -> None:
    """A data directory without `ci_run_cancels`, `ci_unit_stops` and `ci_unit_environments`:
    opening it adds them; its units have no environment, and its runs can be cancelled."""

    path = tmp_path / "old.db"
    old = create_engine(f"sqlite:///{path}")
    new = {"ci_run_cancels", "ci_unit_stops", "ci_unit_environments"}
    with old.begin() as conn:
        for table in ci_metadata.sorted_tables:
            if table.name not in new:
                table.create(conn)
    old.dispose()
    store = CIStore(open_engine(path))
    assert new <= set(inspect(store.engine).get_table_names())
    service = CIService(store, SecretBox(Fernet.generate_key()), ServiceConfig(data_dir=tmp_path))
    [run_id] = commit_workflow(service, tmp_path, FLOW)
    assert {u["environment"] for u in service.store.units(run_id=run_id)} == {""}
    service.cancel(run_id)
    assert unit_states(service, run_id)["build"] == ("completed", "cancelled")
    store.close()


def test_a_restart_cancels_the_local_jobs_a_cancel_told_to_stop(
    service: CIService, tmp_path: Path
) -> None:
    [run_id] = commit_workflow(service, tmp_path, FLOW)
    assert poll_job(service, "local-1", "ubuntu-latest") is not None  # build
    lint = poll_job(service, "local-2", "self-hosted", "linter")
    audit = poll_job(service, "local-3", "self-hosted", "linter")
    assert lint is not None and audit is not None and audit["job_id"] == "audit"
    service.cancel(run_id)
    service.recover()  # the local runners died with the server
    units = unit_states(service, run_id)
    assert units["build"] == units["lint"] == ("completed", "cancelled")
    # the always() job that was running died with the server: it fails as on GitHub (the
    # runner received a shutdown signal) instead of running again behind the user's back
    assert units["audit"] == ("completed", "failure"), units
    assert units["cleanup"] == units["notify"] == ("queued", ""), units


def test_fail_fast_stops_a_running_share_through_its_runner(
    service: CIService, tmp_path: Path
) -> None:
    [run_id] = commit_workflow(service, tmp_path, SPLIT_MATRIX)
    mac = poll_job(service, "mac-1", "mac")
    linux = poll_job(service, "linux-1", "linux")
    assert mac is not None and linux is not None and linux["job_id"] == "test"
    complete_job(service, mac, "mac-1", "failure")
    shares = {u["runner"]: u["status"] for u in service.store.units(run_id=run_id)}
    assert shares["linux-1"] == "in_progress"  # its always() steps may still run
    assert service.beat_answer(run_id, "linux-1") == "cancel"
    complete_job(service, linux, "linux-1", "cancelled")
    shares = {u["runner"]: u["conclusion"] for u in service.store.units(run_id=run_id)}
    assert (shares["mac-1"], shares["linux-1"]) == ("failure", "cancelled")
