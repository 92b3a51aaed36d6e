"""Finding 2 (issue 12): a runner is one registered identity. Another runner, or a write
token, cannot claim, report on, finish or read the secrets of a job it does not hold, and
the job's own runner gets no environment's secrets but its job's own."""

from __future__ import annotations

from pathlib import Path

from tests.security.agents import call, start_agent, wait_unit
from tests.server.agents import stop_agent
from tests.server.conftest import Server, push_workflows

FAILING = """on: push
jobs:
  build:
    runs-on: [self-hosted, a]
    outputs:
      verdict: ${{ steps.v.outputs.verdict }}
    steps:
      - id: v
        run: echo "verdict=honest" >> "$GITHUB_OUTPUT"; echo real-line; sleep 6; exit 1
"""

DEPLOYS = """on: push
jobs:
  build:
    runs-on: [self-hosted, b]
    steps: [{run: sleep 20}]
  stage:
    runs-on: [self-hosted, c]
    environment: staging
    steps: [{run: sleep 20}]
"""


def test_another_runner_or_a_write_token_cannot_act_for_the_runner_holding_a_job(
    remote: Server, tmp_path: Path
) -> None:
    holder = remote.register_runner("holder", "self-hosted,a")
    intruder = remote.register_runner("intruder", "self-hosted,a")
    write = remote.api("POST", "/api/v1/tokens", json={"name": "dev", "role": "write"}).json()
    agent = start_agent(remote, tmp_path, holder)
    try:
        push_workflows(remote, tmp_path, "acme/app", {".github/workflows/f.yml": FAILING})
        run_id = int(wait_unit(remote, "acme/app", runner="holder")["id"])
        base = f"runs/{run_id}"
        forged = {
            "poll": {"runner": "holder", "labels": ["self-hosted", "a"]},
            f"{base}/logs": {"runner": "holder", "lines": [["build", "INJECTED"]]},
            f"{base}/jobs": {
                "runner": "holder",
                "name": "build",
                "fields": {"conclusion": "success", "outputs": {"verdict": "forged"}},
            },
            f"{base}/heartbeat": {"runner": "holder"},
            f"{base}/environment": {"runner": "holder", "job": "build", "environment": "x"},
            f"{base}/complete": {
                "runner": "holder",
                "result": {"job": {"result": "success", "outputs": {"verdict": "forged"}}},
            },
        }
        for path, body in forged.items():
            assert call(remote, intruder, path, body).status_code == 403, path
            assert call(remote, write["token"], path, body).status_code == 403, path
            local = {**body, "runner": "local-1"}
            assert call(remote, write["token"], path, local).status_code == 403, path
        # as itself, the intruder holds nothing of this run: every report is turned away
        own = {k: {**v, "runner": "intruder"} for k, v in forged.items() if k != "poll"}
        assert call(remote, intruder, f"{base}/logs", own[f"{base}/logs"]).json()["cancel"]
        assert call(remote, intruder, f"{base}/jobs", own[f"{base}/jobs"]).json()["cancel"]
        call(remote, intruder, f"{base}/complete", own[f"{base}/complete"])
        artifact = remote.api(
            "POST", f"/api/v1/runner/{base}/artifacts/evil", token=intruder, content=b"x"
        )
        assert (
            artifact.status_code == 204
            and not remote.api("GET", f"/api/v1/runs/{run_id}/artifacts").json()
        )
        assert remote.api("POST", "/api/v1/runners", json=_reg("local-1")).status_code == 400

        run = remote.wait_run(run_id)
        logs = remote.api("GET", f"/api/v1/runs/{run_id}/logs").text
        assert run["conclusion"] == "failure", logs
        assert "real-line" in logs and "INJECTED" not in logs
        (job,) = run["jobs"]
        assert job["conclusion"] == "failure" and job["outputs"] != {"verdict": "forged"}
    finally:
        stop_agent(agent)


def test_a_job_gets_only_its_own_environment_s_secrets(remote: Server, tmp_path: Path) -> None:
    remote.api("POST", "/api/v1/repos", json={"name": "acme/app"}).raise_for_status()
    for env, value in (("production", "prod-s3cret-value"), ("staging", "stage-value-1")):
        remote.api("PUT", f"/api/v1/repos/acme/app/environments/{env}", json={})
        path = f"/api/v1/repos/acme/app/environments/{env}/secrets/KEY"
        assert remote.api("PUT", path, json={"value": value}).status_code == 204
    builder = remote.register_runner("builder", "self-hosted,b")
    stager = remote.register_runner("stager", "self-hosted,c")
    push_workflows(remote, tmp_path, "acme/app", {".github/workflows/d.yml": DEPLOYS})
    for token in (builder, stager):
        assert call(remote, token, "poll", {"wait": 10}).status_code == 200
    run_id = int(remote.runs("acme/app")[0]["id"])
    ask = f"runs/{run_id}/environment"

    # a job without an environment asks for production: refused, no secret in the answer
    answer = call(remote, builder, ask, {"job": "build", "environment": "production"})
    assert answer.json()["state"] == "rejected" and "prod-s3cret" not in answer.text
    # a job that deploys to staging gets staging's secrets and nothing of production
    answer = call(remote, stager, ask, {"job": "stage", "environment": "production"})
    assert answer.json()["state"] == "rejected" and "prod-s3cret" not in answer.text
    answer = call(remote, stager, ask, {"job": "stage", "environment": "staging"}).json()
    assert (answer["state"], answer["secrets"]) == ("approved", {"KEY": "stage-value-1"})


def _reg(name: str) -> dict[str, object]:
    return {"name": name, "labels": ["self-hosted"], "scope": "org:acme"}
