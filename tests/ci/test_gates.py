"""Environment protection rules applied by the server before a job is queued: a job whose
environment needs a review waits with no runner, is queued on approval, fails on
rejection; the wait timer; allowed branches checked before anything waits — on SQLite and
PostgreSQL, real git, runners played by `poll` / `complete`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import update

from conveyor.ci.service import CIService
from conveyor.store.ci_schema import approvals
from tests.ci.helpers import commit_workflow, complete_job, poll_job, run_state, unit_states

DEPLOY = """name: D
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment: {name: "${{ github.ref_name == 'main' && 'production' || 'dev' }}"}
    steps: [{run: "true"}]
  notify:
    needs: deploy
    if: failure()
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  smoke:
    needs: deploy
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
"""


def _protect(service: CIService, **rules: object) -> None:
    service.put_environment("acme/app", "production", **rules)  # type: ignore[arg-type]
    service.put_secret("env:acme/app:production", "PROD_TOKEN", "prod-tok-value")
    service.put_variable("env:acme/app:production", "REGION", "eu-1")


def _build(service: CIService, run_id: int) -> None:
    got = poll_job(service, "local-1", "ubuntu-latest")
    assert got is not None and (got["run_id"], got["job_id"]) == (run_id, "build")
    complete_job(service, got, "local-1", "success")


def _pending(service: CIService) -> list[tuple[int, str]]:
    return [
        (a["run_id"], a["environment"]) for a in service.store.config.approvals(state="pending")
    ]


def test_a_job_waiting_for_review_holds_no_runner_until_approved(
    service: CIService, tmp_path: Path
) -> None:
    _protect(service, reviewers=["alice"])
    [run_id] = commit_workflow(service, tmp_path, DEPLOY)
    _build(service, run_id)
    assert unit_states(service, run_id)["deploy"] == ("waiting", "")
    assert run_state(service, run_id) == ("waiting", "")
    assert _pending(service) == [(run_id, "production")]
    jobs = {j["name"]: j["status"] for j in service.store.jobs(run_id)}
    assert jobs["deploy"] == "waiting"
    statuses = service.store.statuses("acme/app", service.store.run(run_id)["sha"])  # type: ignore[index]
    assert {s["context"]: s["state"] for s in statuses}["deployment/production"] == "pending"
    # the only runner is free meanwhile: another run's job gets it
    [other] = commit_workflow(service, tmp_path, DEPLOY.replace("name: D", "name: E"))
    got = poll_job(service, "local-1", "ubuntu-latest")
    assert got is not None and (got["run_id"], got["job_id"]) == (other, "build")
    complete_job(service, got, "local-1", "success")
    assert poll_job(service, "local-1", "ubuntu-latest") is None  # both deploys wait
    service.decide(run_id, "production", user="alice", admin=False, approve=True)
    assert unit_states(service, run_id)["deploy"] == ("queued", "")
    assert run_state(service, run_id) == ("in_progress", "")  # build ran: no longer waiting
    assert "deploy" not in {j["name"] for j in service.store.jobs(run_id)}  # the runner's now
    deploy = poll_job(service, "local-1", "ubuntu-latest")
    assert deploy is not None and (deploy["run_id"], deploy["job_id"]) == (run_id, "deploy")
    assert "PROD_TOKEN" not in deploy["secrets"]  # environment secrets: only through the gate
    gate = asyncio.run(service.environment_gate(run_id, "local-1", "deploy", "production"))
    assert gate["state"] == "approved"
    assert (gate["secrets"], gate["vars"]) == ({"PROD_TOKEN": "prod-tok-value"}, {"REGION": "eu-1"})
    complete_job(service, deploy, "local-1", "success")
    assert unit_states(service, run_id)["smoke"] == ("queued", "")
    assert unit_states(service, run_id)["notify"] == ("completed", "skipped")
    assert unit_states(service, other)["deploy"] == ("waiting", "")  # its own review
    assert _pending(service) == [(other, "production")]


def test_rejection_fails_the_job_and_the_run_goes_on(service: CIService, tmp_path: Path) -> None:
    _protect(service, reviewers=["alice"])
    [run_id] = commit_workflow(service, tmp_path, DEPLOY)
    _build(service, run_id)
    assert unit_states(service, run_id)["deploy"] == ("waiting", "")
    service.decide(run_id, "production", user="alice", admin=False, approve=False, comment="no")
    units = unit_states(service, run_id)
    assert units["deploy"] == ("completed", "failure")
    assert units["smoke"] == ("completed", "skipped")  # a failed need skips it
    assert units["notify"] == ("queued", "")  # if: failure() runs after the rejection
    assert _pending(service) == []
    assert ("deploy", "production was rejected by alice: no") in service.store.logs(run_id)
    jobs = {j["name"]: (j["status"], j["conclusion"]) for j in service.store.jobs(run_id)}
    assert jobs["deploy"] == ("completed", "failure")
    notify = poll_job(service, "local-1", "ubuntu-latest")
    assert notify is not None and notify["prior_jobs"]["deploy"] == ["failure", {}]
    complete_job(service, notify, "local-1", "success")
    assert run_state(service, run_id) == ("completed", "failure")


def test_the_wait_timer_holds_the_job_from_its_first_request(
    service: CIService, tmp_path: Path
) -> None:
    _protect(service, wait_timer=600)
    [run_id] = commit_workflow(service, tmp_path, DEPLOY)
    _build(service, run_id)
    assert unit_states(service, run_id)["deploy"] == ("waiting", "")
    assert ("deploy", "Waiting: wait timer of 600 s") in service.store.logs(run_id)
    service.release_waiting()
    assert unit_states(service, run_id)["deploy"] == ("waiting", "")
    with service.store.tx() as conn:  # ten minutes later
        conn.execute(update(approvals).values(requested=time.time() - 601))

    async def one_tick() -> None:  # the supervisor's tick releases it
        stop = asyncio.Event()
        task = asyncio.create_task(service.supervise(stop, every=0.01))
        for _ in range(500):
            if unit_states(service, run_id)["deploy"] != ("waiting", ""):
                break
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(one_tick())
    assert unit_states(service, run_id)["deploy"] == ("queued", "")


def test_a_branch_not_allowed_fails_the_job_before_anything_waits(
    service: CIService, tmp_path: Path
) -> None:
    _protect(service, reviewers=["alice"], branches=["main"])
    text = DEPLOY.replace("github.ref_name == 'main'", "true")
    [run_id] = commit_workflow(service, tmp_path, text, branch="feature")
    _build(service, run_id)
    assert unit_states(service, run_id)["deploy"] == ("completed", "failure")
    assert _pending(service) == [] and not service.store.config.approvals(run_id=run_id)
    reason = "Branch 'feature' is not allowed to deploy to production"
    assert any(reason in text for _, text in service.store.logs(run_id))


def test_an_unprotected_environment_is_queued_at_once(service: CIService, tmp_path: Path) -> None:
    _protect(service, reviewers=["alice"])
    [run_id] = commit_workflow(service, tmp_path, DEPLOY, branch="dev")  # environment: dev
    _build(service, run_id)
    assert unit_states(service, run_id)["deploy"] == ("queued", "")
    [unit] = [u for u in service.store.units(run_id=run_id) if u["job_id"] == "deploy"]
    assert unit["environment"] == "dev"


MATRIX = """name: M
on: push
jobs:
  deploy:
    strategy:
      matrix:
        target: [staging, production]
    runs-on: ubuntu-latest
    environment: ${{ matrix.target }}
    steps: [{run: "true"}]
"""


def test_matrix_legs_deploying_to_different_environments_are_gated_apart(
    service: CIService, tmp_path: Path
) -> None:
    _protect(service, reviewers=["alice"])
    [run_id] = commit_workflow(service, tmp_path, MATRIX)
    assert unit_states(service, run_id) == {
        "deploy (staging)": ("queued", ""),
        "deploy (production)": ("waiting", ""),
    }
    got = poll_job(service, "local-1", "ubuntu-latest")
    assert got is not None and got["matrix_filter"] == [["target", "staging"]]
    assert run_state(service, run_id) == ("in_progress", "")


def test_cancelling_a_waiting_run_cancels_the_job_and_its_review(
    service: CIService, tmp_path: Path
) -> None:
    _protect(service, reviewers=["alice"])
    [run_id] = commit_workflow(service, tmp_path, DEPLOY)
    _build(service, run_id)
    service.cancel(run_id)
    units = unit_states(service, run_id)
    assert units["deploy"] == ("completed", "cancelled")
    assert units["smoke"] == ("completed", "skipped")
    assert units["notify"] == ("completed", "skipped")
    assert run_state(service, run_id) == ("completed", "cancelled")
    assert _pending(service) == []  # nothing waits for a review any more


TWICE = """name: T
on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: production
    steps: [{run: "true"}]
  migrate:
    runs-on: ubuntu-latest
    environment: production
    steps: [{run: "true"}]
  verify:
    needs: deploy
    runs-on: ubuntu-latest
    environment: production
    steps: [{run: "true"}]
"""


def test_each_job_is_reviewed_jobs_waiting_together_share_a_review(
    service: CIService, tmp_path: Path
) -> None:
    _protect(service, reviewers=["alice"])
    [run_id] = commit_workflow(service, tmp_path, TWICE)
    assert unit_states(service, run_id) == {"deploy": ("waiting", ""), "migrate": ("waiting", "")}
    assert _pending(service) == [(run_id, "production")]
    service.decide(run_id, "production", user="alice", admin=False, approve=True)
    assert unit_states(service, run_id) == {"deploy": ("queued", ""), "migrate": ("queued", "")}
    deploy = poll_job(service, "local-1", "ubuntu-latest")
    assert deploy is not None and deploy["job_id"] == "deploy"
    complete_job(service, deploy, "local-1", "success")
    assert unit_states(service, run_id)["verify"] == ("waiting", "")  # a later job: its own review
    assert _pending(service) == [(run_id, "production")]
    migrate = poll_job(service, "local-2", "ubuntu-latest")
    assert migrate is not None and migrate["job_id"] == "migrate"
    gate = asyncio.run(service.environment_gate(run_id, "local-2", "migrate", "production"))
    assert gate["state"] == "approved"  # released by the first review, whatever came after
    assert gate["secrets"] == {"PROD_TOKEN": "prod-tok-value"}
    service.decide(run_id, "production", user="alice", admin=False, approve=True)
    assert unit_states(service, run_id)["verify"] == ("queued", "")
