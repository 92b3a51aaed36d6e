"""Finding 3 (issue 12): registration fixes a runner's labels and scope, as GitHub's runner
groups do. A runner scoped to one repository never gets a job of another (nor clones it),
and cannot add a label when it polls."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.gitutil import git
from tests.security.agents import call, start_agent
from tests.server.agents import stop_agent
from tests.server.conftest import Server, push_workflows

JOB = """on: push
jobs:
  j:
    runs-on: [self-hosted]
    steps: [{run: echo "ran in $GITHUB_REPOSITORY"}]
"""

GPU = """on: push
jobs:
  j:
    runs-on: [self-hosted, gpu]
    steps: [{run: echo gpu}]
"""


def test_a_repo_scoped_runner_gets_no_job_of_another_repo(remote: Server, tmp_path: Path) -> None:
    push_workflows(remote, tmp_path, "acme/other", {".github/workflows/j.yml": JOB})
    push_workflows(remote, tmp_path, "evil/app", {".github/workflows/j.yml": JOB})
    token = remote.register_runner("app-only", "self-hosted", scope="repo:acme/app")
    agent = start_agent(remote, tmp_path, token)
    try:
        push_workflows(remote, tmp_path, "acme/app", {".github/workflows/j.yml": JOB})
        done = remote.wait_run(int(remote.runs("acme/app")[0]["id"]))
        assert (done["conclusion"], done["runner"]) == ("success", "app-only")
        for repo in ("acme/other", "evil/app"):  # queued before it, still untouched
            (run,) = remote.runs(repo)
            assert (run["status"], run["runner"]) == ("queued", ""), repo
    finally:
        stop_agent(agent)
    # its credential clones its own repository only
    clone = ["-c", f"http.extraHeader=Authorization: Bearer {token}", "clone", "-q"]
    git(tmp_path, *clone, f"{remote.url}/git/acme/app.git", "mine")
    with pytest.raises(subprocess.CalledProcessError):
        git(tmp_path, *clone, f"{remote.url}/git/acme/other.git", "theirs")
    assert remote.api("GET", "/api/v1/runs", token=token).status_code == 403


def test_a_runner_cannot_add_labels_when_it_polls(remote: Server, tmp_path: Path) -> None:
    push_workflows(remote, tmp_path, "acme/app", {".github/workflows/g.yml": GPU})
    token = remote.register_runner("cpu-box", "self-hosted")
    body = {"labels": ["self-hosted", "gpu"], "wait": 1}
    refused = call(remote, token, "poll", body)
    assert refused.status_code == 403 and "gpu" in refused.json()["detail"]
    assert call(remote, token, "poll", {"wait": 1}).status_code == 204  # no gpu job for it
    (run,) = remote.runs("acme/app")
    assert (run["status"], run["runner"]) == ("queued", "")
    bad_scope = {"name": "x", "labels": ["self-hosted"], "scope": "*"}
    assert remote.api("POST", "/api/v1/runners", json=bad_scope).status_code == 400
