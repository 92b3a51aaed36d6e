"""What the CI service tells the notifier (issue 17): a job waiting for its environment's
review (once, however often the gate looks again), and a run that concludes `failure`;
a cancelled or successful run tells nothing. Runners are played by `poll` / `complete`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from conveyor.ci.crypto import SecretBox
from conveyor.ci.service import CIService, ServiceConfig
from conveyor.core.notices import Subject, Trigger
from conveyor.store.ci_store import CIStore
from conveyor.store.ci_tables import open_engine
from tests.ci.helpers import commit_workflow, complete_job, poll_job, run_state
from tests.notify.helpers import Collected

DEPLOY = """name: Deploy
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{run: "true"}]
  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment: production
    steps: [{run: "true"}]
"""


@pytest.fixture
def heard() -> Collected:
    return Collected()


@pytest.fixture
def service(tmp_path: Path, database: str, heard: Collected) -> Iterator[CIService]:
    store = CIStore(open_engine(database))
    config = ServiceConfig(data_dir=tmp_path, public_url="http://conveyor.example")
    yield CIService(store, SecretBox(Fernet.generate_key()), config, notices=heard)
    store.close()


def build(service: CIService, run_id: int, conclusion: str = "success") -> None:
    got = poll_job(service, "local-1", "ubuntu-latest")
    assert got is not None and (got["run_id"], got["job_id"]) == (run_id, "build")
    complete_job(service, got, "local-1", conclusion)


def test_a_waiting_job_is_told_once_and_its_rejection_fails_the_run(
    service: CIService, tmp_path: Path, heard: Collected
) -> None:
    service.put_environment("acme/app", "production", reviewers=["alice"])
    [run_id] = commit_workflow(service, tmp_path, DEPLOY)
    build(service, run_id)
    for _ in range(3):
        service.parts.gates.release_waiting()  # the supervisor's ticks look again
    [waiting] = heard.notices
    sha = service.store.run(run_id)["sha"]  # type: ignore[index]
    assert (waiting.trigger, waiting.subject, waiting.name) == (
        Trigger.APPROVAL_WAITING,
        Subject.RUN,
        "Deploy",
    )
    assert (waiting.repo, waiting.revision) == ("acme/app", sha)
    assert waiting.url == f"http://conveyor.example/runs/{run_id}"
    assert ("environment", "production") in waiting.facts and ("job", "deploy") in waiting.facts
    service.decide(run_id, "production", user="alice", admin=False, approve=False, comment="no")
    assert run_state(service, run_id) == ("completed", "failure")
    failed = heard.notices[-1]
    assert failed.trigger == Trigger.RUN_FAILED and failed.once_per == f"run {run_id}"
    assert len(heard.notices) == 2


def test_cancelled_and_successful_runs_tell_nothing(
    service: CIService, tmp_path: Path, heard: Collected
) -> None:
    [first] = commit_workflow(
        service, tmp_path, DEPLOY.replace("    environment: production\n", "")
    )
    build(service, first)
    deploy = poll_job(service, "local-1", "ubuntu-latest")
    assert deploy is not None
    complete_job(service, deploy, "local-1", "success")
    assert run_state(service, first) == ("completed", "success")
    [second] = commit_workflow(service, tmp_path, DEPLOY.replace("name: Deploy", "name: Other"))
    service.cancel(second)
    assert run_state(service, second) == ("completed", "cancelled")
    assert heard.notices == []


def test_a_failed_job_fails_the_run_and_tells_it(
    service: CIService, tmp_path: Path, heard: Collected
) -> None:
    [run_id] = commit_workflow(service, tmp_path, DEPLOY)
    build(service, run_id, "failure")
    assert run_state(service, run_id) == ("completed", "failure")
    [failed] = heard.notices
    assert failed.trigger == Trigger.RUN_FAILED and failed.name == "Deploy"
