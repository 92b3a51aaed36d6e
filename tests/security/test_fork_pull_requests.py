"""Finding 7: a fork's pull request runs the fork's workflow without secrets;
`pull_request_target` runs the base branch's workflow, with secrets.

The attack: a fork author opens a pull request whose workflow prints the repository's, the
organisation's and an environment's secrets. Before the fix its run got them all. GitHub's
rule: no secrets for a fork's `pull_request` run; `pull_request_target` runs the base
branch's workflow file (never the fork's) in the base repository's context, with secrets.
The fork's commit reaches the base repository as `refs/pull/1/head`, as on GitHub.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.gitutil import git
from tests.security.hooks import deliver
from tests.server.conftest import Server, push_workflows

BASE = """on: [pull_request, pull_request_target]
jobs:
  show:
    runs-on: ubuntu-latest
    steps:
      - run: echo "base workflow ${{ github.event_name }} token=[${{ secrets.TOKEN }}]"
"""

FORK = """on: [pull_request, pull_request_target]
jobs:
  show:
    runs-on: ubuntu-latest
    env:
      S: ${{ secrets.TOKEN }}
      O: ${{ secrets.ORG_TOKEN }}
    steps:
      - run: echo "FORK CODE ${{ github.event_name }} token=[$S] lengths=${#S},${#O}"
  deploy:
    runs-on: ubuntu-latest
    environment: staging
    steps:
      - run: echo "FORK DEPLOY env=[${{ secrets.STAGING }}]"
"""


def _pull_request(head_repo: str, head_sha: str, base_sha: str) -> dict[str, Any]:
    repo = {"full_name": "acme/app", "clone_url": "https://github.com/acme/app.git"}
    return {
        "action": "opened",
        "number": 1,
        "pull_request": {
            "number": 1,
            "head": {"ref": "feature", "sha": head_sha, "repo": {"full_name": head_repo}},
            "base": {"ref": "main", "sha": base_sha, "repo": {"full_name": "acme/app"}},
        },
        "repository": repo,
        "sender": {"login": "mallory"},
    }


def _setup(server: Server, tmp_path: Path) -> tuple[str, str]:
    """acme/app with secrets at every scope; the fork's commit at refs/pull/1/head."""
    base = push_workflows(server, tmp_path, "acme/app", {".github/workflows/pr.yml": BASE})
    for path, value in (
        ("/api/v1/repos/acme/app/secrets/TOKEN", "repo-Secret-1"),
        ("/api/v1/orgs/acme/secrets/ORG_TOKEN", "org-Secret-2"),
        ("/api/v1/repos/acme/app/environments/staging/secrets/STAGING", "env-Secret-3"),
    ):
        assert server.api("PUT", path, json={"value": value}).status_code == 204
    work = tmp_path / "work-acme-app"
    git(work, "checkout", "-q", "-b", "feature")
    (work / ".github/workflows/pr.yml").write_text(FORK)
    git(work, "commit", "-q", "-am", "fork's change")
    head = git(work, "rev-parse", "HEAD")
    auth = f"http.extraHeader=Authorization: Bearer {server.admin}"
    git(work, "-c", auth, "push", "-q", "origin", "HEAD:refs/pull/1/head")
    return base, head


def _logs(server: Server, run_id: int) -> tuple[dict[str, Any], str]:
    run = server.wait_run(run_id)
    return run, server.api("GET", f"/api/v1/runs/{run_id}/logs").text


def test_a_forks_pull_request_runs_without_any_secret(server: Server, tmp_path: Path) -> None:
    base, head = _setup(server, tmp_path)
    answer = deliver(server, "pull_request", _pull_request("mallory/app", head, base))
    assert answer.status_code == 200 and len(answer.json()["runs"]) == 1, answer.text
    run, logs = _logs(server, answer.json()["runs"][0])
    assert run["conclusion"] == "success", logs
    assert "FORK CODE pull_request token=[] lengths=0,0" in logs, logs
    assert "FORK DEPLOY env=[]" in logs, logs


def test_a_same_repository_pull_request_keeps_its_secrets(server: Server, tmp_path: Path) -> None:
    base, head = _setup(server, tmp_path)
    answer = deliver(server, "pull_request", _pull_request("acme/app", head, base))
    _, logs = _logs(server, answer.json()["runs"][0])
    assert "FORK CODE pull_request token=[***] lengths=13,12" in logs, logs
    assert "FORK DEPLOY env=[***]" in logs, logs


def test_pull_request_target_runs_the_base_workflow_with_secrets(
    server: Server, tmp_path: Path
) -> None:
    base, head = _setup(server, tmp_path)
    payload = _pull_request("mallory/app", head, "0" * 40)  # the payload's base.sha is not used
    answer = deliver(server, "pull_request_target", payload)
    assert answer.status_code == 200 and len(answer.json()["runs"]) == 1, answer.text
    run, logs = _logs(server, answer.json()["runs"][0])
    assert run["conclusion"] == "success" and run["sha"] == base, run
    assert run["ref"] == "refs/heads/main"
    assert "base workflow pull_request_target token=[***]" in logs, logs
    assert "FORK CODE" not in logs
