"""Deployments made the real way for the UI tests: a workflow pushed to a hosted repository
(`acme/app`) and handed to the CI service, its build job run by a played runner
(`tests.ci.helpers`), so its deploy job waits for the environment's review; then approved
and deployed, with the deployment recorded as a runner records it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from conveyor.ci.service import CIService
from tests.ci.helpers import commit_workflow, complete_job, poll_job

REPO = "acme/app"
RUNNER = "local-1"

DEPLOY = """name: {workflow}
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps: [{{run: "true"}}]
  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment: {{name: {environment}}}
    steps: [{{run: "true"}}]
"""


def protect(
    service: CIService,
    environment: str = "production",
    *,
    reviewers: Sequence[str] = ("alice",),
    branches: Sequence[str] = (),
) -> None:
    service.create_repo(REPO)
    service.put_environment(REPO, environment, reviewers=reviewers, branches=branches)


def waiting_run(
    service: CIService,
    tmp: Path,
    *,
    environment: str = "production",
    workflow: str = "Deploy",
    branch: str = "main",
) -> int:
    """A run whose deploy job waits for the review of `environment` (protect it first)."""
    text = DEPLOY.format(workflow=_quoted(workflow), environment=_quoted(environment))
    [run_id] = commit_workflow(service, tmp, text, branch=branch)
    build = poll_job(service, RUNNER, "ubuntu-latest")
    assert build is not None and (build["run_id"], build["job_id"]) == (run_id, "build")
    complete_job(service, build, RUNNER, "success")
    pending = [
        (a["run_id"], a["environment"]) for a in service.store.config.approvals(state="pending")
    ]
    assert (run_id, environment) in pending, pending
    return run_id


def finish_deploy(
    service: CIService, run_id: int, *, environment: str = "production", url: str = ""
) -> None:
    """The approved deploy job runs and records its deployment (state success)."""
    deploy = poll_job(service, RUNNER, "ubuntu-latest")
    assert deploy is not None and (deploy["run_id"], deploy["job_id"]) == (run_id, "deploy")
    service.record_deployment(
        run_id, RUNNER, job="deploy", environment=environment, url=url, result="success"
    )
    complete_job(service, deploy, RUNNER, "success")


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
