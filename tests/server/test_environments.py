"""Environments: required reviewers, allowed branches, secrets only after approval,
deployments with their URL, `conveyor approve` / `reject`; a job waiting for a review holds
no runner (the server gates it before any runner is assigned, as GitHub does)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conveyor.app.cmd_approve import approve, reject
from tests.server.conftest import Server, make_server, push_workflows

PROD_SECRET = "prod-Secret-Value-123"

DEPLOY = """name: Deploy
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo built
  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: production
      url: https://prod.example/${{ github.sha }}
    steps:
      - run: echo "deploying len=${#TOKEN} region=${{ vars.REGION }}"
        env:
          TOKEN: ${{ secrets.PROD_TOKEN }}
"""


def _setup(server: Server) -> dict[str, str]:
    server.api("POST", "/api/v1/repos", json={"name": "acme/app"}).raise_for_status()
    base = "/api/v1/repos/acme/app/environments/production"
    rules = {"reviewers": ["alice"], "wait_timer": 0, "branches": ["main"]}
    assert server.api("PUT", base, json=rules).status_code == 204
    server.api("PUT", f"{base}/secrets/PROD_TOKEN", json={"value": PROD_SECRET})
    server.api("PUT", f"{base}/variables/REGION", json={"value": "eu-1"})
    tokens = {}
    for name in ("alice", "bob"):
        body = {"name": name, "role": "write"}
        tokens[name] = server.api("POST", "/api/v1/tokens", json=body).json()["token"]
    return tokens


def _waiting(server: Server, run_id: int) -> dict[str, Any]:
    for _ in range(200):
        run = server.api("GET", f"/api/v1/runs/{run_id}").json()
        if any(j["name"] == "deploy" and j["status"] == "waiting" for j in run["jobs"]):
            return dict(run)
        time.sleep(0.1)
    raise AssertionError(f"deploy never waited: {run}")


def _cli(command: Any, server: Server, token: str, run_id: int, *extra: str) -> str:
    args = [str(run_id), "--env", "production", "--server", server.url, "--token", token, *extra]
    result = CliRunner().invoke(command, args)
    return str(result.output) + str(result.exception or "")


@pytest.mark.parametrize(
    "name",
    ["production", "${{ format(' {0} ', 'production') }}"],
    ids=["plain", "padded-expression"],
)
def test_approval_releases_environment_secrets_and_records_the_deployment(
    server: Server, tmp_path: Path, name: str
) -> None:
    """The runner's engine names the environment as the server did when it gated the job
    (one planner: the padded name is `production` on both sides, so its secrets arrive)."""
    tokens = _setup(server)
    workflow = DEPLOY.replace("      name: production\n", f'      name: "{name}"\n')
    sha = push_workflows(server, tmp_path, "acme/app", {".github/workflows/d.yml": workflow})
    run_id = int(server.runs("acme/app")[0]["id"])
    run = _waiting(server, run_id)
    assert run["status"] == "waiting"  # GitHub's run status while a job awaits its review
    [deploy] = [u for u in run["units"] if u["job_id"] == "deploy"]
    assert (deploy["status"], deploy["runner"]) == ("waiting", "")
    pending = server.api("GET", "/api/v1/approvals").json()
    assert [(a["run_id"], a["environment"]) for a in pending] == [(run_id, "production")]
    metrics = server.api("GET", "/metrics").text
    assert "conveyor_pending_approvals 1\n" in metrics  # what the approval alert reads
    assert 'conveyor_pending_approval_age_seconds{environment="production"} ' in metrics
    assert "deploying" not in server.api("GET", f"/api/v1/runs/{run_id}/logs").text
    waiting = server.api("GET", f"/api/v1/repos/acme/app/commits/{sha}/statuses").json()
    assert {s["context"]: s["state"] for s in waiting}["deployment/production"] == "pending"
    assert "not a required reviewer" in _cli(approve, server, tokens["bob"], run_id)
    time.sleep(0.5)
    assert "deploying" not in server.api("GET", f"/api/v1/runs/{run_id}/logs").text
    assert "production approved" in _cli(approve, server, tokens["alice"], run_id)
    done = server.wait_run(run_id)
    assert done["conclusion"] == "success"
    logs = server.api("GET", f"/api/v1/runs/{run_id}/logs").text
    assert f"deploying len={len(PROD_SECRET)} region=eu-1" in logs
    assert PROD_SECRET not in logs
    deployments = server.api("GET", "/api/v1/repos/acme/app/deployments").json()
    assert [(d["environment"], d["state"], d["url"]) for d in deployments] == [
        ("production", "success", f"https://prod.example/{sha}")
    ]
    statuses = server.api("GET", f"/api/v1/repos/acme/app/commits/{sha}/statuses").json()
    assert {s["context"]: s["state"] for s in statuses} == {
        "conveyor/Deploy": "success",
        "deployment/production": "success",
    }
    assert server.api("GET", "/api/v1/approvals", params={"state": "approved"}).json()


def test_rejection_fails_the_job_and_keeps_secrets(server: Server, tmp_path: Path) -> None:
    tokens = _setup(server)
    push_workflows(server, tmp_path, "acme/app", {".github/workflows/d.yml": DEPLOY})
    run_id = int(server.runs("acme/app")[0]["id"])
    _waiting(server, run_id)
    assert "production rejected" in _cli(reject, server, tokens["alice"], run_id, "--comment", "no")
    done = server.wait_run(run_id)
    assert done["conclusion"] == "failure"
    logs = server.api("GET", f"/api/v1/runs/{run_id}/logs").text
    assert "production was rejected by alice: no" in logs
    assert "deploying" not in logs


def test_branch_not_allowed_to_deploy(server: Server, tmp_path: Path) -> None:
    _setup(server)
    files = {".github/workflows/d.yml": DEPLOY}
    push_workflows(server, tmp_path, "acme/app", files, branch="feature")
    run_id = int(server.runs("acme/app")[0]["id"])
    done = server.wait_run(run_id)
    assert done["conclusion"] == "failure"
    logs = server.api("GET", f"/api/v1/runs/{run_id}/logs").text
    assert "Branch 'feature' is not allowed to deploy to production" in logs
    assert not server.api("GET", "/api/v1/approvals").json()


OTHER = """name: Other
on: push
jobs:
  other:
    runs-on: ubuntu-latest
    steps:
      - run: echo "other job ran"
"""


def test_a_job_waiting_for_review_holds_no_runner(tmp_path: Path) -> None:
    """One local runner: while deploy waits for alice, another run's job takes that runner
    and finishes; deploy is queued (and gets its secrets) only after the approval."""
    server = make_server(tmp_path, "--pool-min", "1", "--pool-max", "1")
    server.start()
    try:
        tokens = _setup(server)
        push_workflows(server, tmp_path, "acme/app", {".github/workflows/d.yml": DEPLOY})
        run_id = int(server.runs("acme/app")[0]["id"])
        _waiting(server, run_id)
        push_workflows(server, tmp_path, "acme/other", {".github/workflows/o.yml": OTHER})
        other_id = int(server.runs("acme/other")[0]["id"])
        other = server.wait_run(other_id, timeout=120)
        assert other["conclusion"] == "success"
        assert server.api("GET", f"/api/v1/runs/{run_id}").json()["status"] == "waiting"
        assert 'conveyor_runs{status="waiting"} 1' in server.api("GET", "/metrics").text
        assert "production approved" in _cli(approve, server, tokens["alice"], run_id)
        done = server.wait_run(run_id, timeout=120)
        logs = server.api("GET", f"/api/v1/runs/{run_id}/logs").text
        assert done["conclusion"] == "success", logs
        assert f"deploying len={len(PROD_SECRET)} region=eu-1" in logs
        (local,) = {u["runner"] for u in done["units"]}  # the pool's one runner took both
        assert local.startswith("local-") and {u["runner"] for u in other["units"]} == {local}
    finally:
        server.stop()
