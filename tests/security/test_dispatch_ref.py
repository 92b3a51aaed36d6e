"""Finding 10: `workflow_dispatch` runs exactly the branch (or tag) it names.

`git rev-parse main` prefers a tag `main` to the branch `main`: a writer who pushed a tag
named like the protected branch, on a commit of their own, had it dispatched as
`refs/heads/main` and deployed past the environment's `branches: [main]` rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitutil import git
from tests.server.conftest import Server, push_workflows

WORKFLOW = """name: Ship
on: workflow_dispatch
jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: echo "{marker} at ${{{{ github.ref }}}}"
"""


def _setup(server: Server, tmp_path: Path) -> tuple[str, str]:
    """Branch `main` at a good commit, tag `main` on another: (good sha, evil sha)."""
    server.api("POST", "/api/v1/repos", json={"name": "acme/app"}).raise_for_status()
    rules = {"reviewers": [], "wait_timer": 0, "branches": ["main"]}
    put = server.api("PUT", "/api/v1/repos/acme/app/environments/production", json=rules)
    assert put.status_code == 204
    path = ".github/workflows/ship.yml"
    good = push_workflows(server, tmp_path, "acme/app", {path: WORKFLOW.format(marker="GOOD")})
    work = tmp_path / "work-acme-app"
    git(work, "checkout", "-q", "-b", "topic")
    (work / path).write_text(WORKFLOW.format(marker="EVIL"))
    git(work, "commit", "-q", "-am", "evil")
    evil = git(work, "rev-parse", "HEAD")
    auth = f"http.extraHeader=Authorization: Bearer {server.admin}"
    git(work, "-c", auth, "push", "-q", "origin", f"{evil}:refs/tags/main")
    return good, evil


def _dispatch(server: Server, ref: str) -> tuple[int, list[int]]:
    body = {"workflow": "ship.yml", "ref": ref}
    reply = server.api("POST", "/api/v1/repos/acme/app/dispatches", json=body)
    return reply.status_code, list(reply.json().get("runs", [])) if reply.is_success else []


def test_dispatch_of_main_runs_the_branch_not_a_tag_named_main(
    server: Server, tmp_path: Path
) -> None:
    good, _evil = _setup(server, tmp_path)
    code, [run_id] = _dispatch(server, "main")
    assert code == 200
    run = server.wait_run(run_id)
    assert (run["sha"], run["ref"]) == (good, "refs/heads/main")
    logs = server.api("GET", f"/api/v1/runs/{run_id}/logs").text
    assert "GOOD at refs/heads/main" in logs
    assert "EVIL" not in logs


def test_a_tag_is_a_tag_to_the_environments_branch_rule(server: Server, tmp_path: Path) -> None:
    _good, evil = _setup(server, tmp_path)
    code, [run_id] = _dispatch(server, "refs/tags/main")
    assert code == 200
    run = server.wait_run(run_id)
    assert (run["sha"], run["ref"]) == (evil, "refs/tags/main")
    assert run["conclusion"] == "failure"
    assert "EVIL" not in server.api("GET", f"/api/v1/runs/{run_id}/logs").text


@pytest.mark.parametrize(
    ("ref", "code"),
    [("main~1", 400), ("--output=/tmp/x", 400), ("refs/remotes/origin/main", 404), ("nope", 404)],
)
def test_revision_expressions_and_options_are_no_refs(
    server: Server, tmp_path: Path, ref: str, code: int
) -> None:
    _setup(server, tmp_path)
    assert _dispatch(server, ref)[0] == code
