"""Remote runner agents (labels, log streaming, heartbeat timeout) and restart recovery."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.agents import register_agent, stop_agent
from tests.server.conftest import Server, make_server, push_workflows

GPU = """name: GPU
on: push
jobs:
  train:
    runs-on: [self-hosted, gpu]
    steps:
      - run: echo "training on $RUNNER_NAME-ish"; SLEEP
      - run: echo finished-training
"""


@pytest.fixture
def remote_server(tmp_path: Path) -> Iterator[Server]:
    srv = make_server(tmp_path, "--pool-min", "0", "--pool-max", "0", "--heartbeat-timeout", "3")
    srv.start()
    yield srv
    srv.stop()


def test_remote_agent_takes_the_run_by_labels_and_streams_logs(
    remote_server: Server, tmp_path: Path
) -> None:
    agent = register_agent(remote_server, tmp_path, "self-hosted,linux,gpu")
    try:
        files = {".github/workflows/gpu.yml": GPU.replace("SLEEP", "true")}
        push_workflows(remote_server, tmp_path, "acme/ml", files)
        run = remote_server.wait_run(int(remote_server.runs("acme/ml")[0]["id"]))
        assert (run["conclusion"], run["runner"]) == ("success", "gpu-1")
        logs = remote_server.api("GET", f"/api/v1/runs/{run['id']}/logs").text
        assert "train\t  | finished-training" in logs
        runners = remote_server.api("GET", "/api/v1/runners").json()
        assert [(r["name"], r["kind"]) for r in runners] == [("gpu-1", "remote")]
    finally:
        stop_agent(agent)


def test_agent_without_the_label_leaves_the_run_queued(
    remote_server: Server, tmp_path: Path
) -> None:
    agent = register_agent(remote_server, tmp_path, "self-hosted,linux")
    try:
        files = {".github/workflows/gpu.yml": GPU.replace("SLEEP", "true")}
        push_workflows(remote_server, tmp_path, "acme/ml", files)
        time.sleep(2)
        assert remote_server.runs("acme/ml")[0]["status"] == "queued"
    finally:
        stop_agent(agent)


def test_killed_agent_fails_its_run_after_the_heartbeat_timeout(
    remote_server: Server, tmp_path: Path
) -> None:
    agent = register_agent(remote_server, tmp_path, "self-hosted,gpu")
    files = {".github/workflows/gpu.yml": GPU.replace("SLEEP", "sleep 60")}
    push_workflows(remote_server, tmp_path, "acme/ml", files)
    run_id = int(remote_server.runs("acme/ml")[0]["id"])
    remote_server.wait_run(run_id, status="in_progress")
    time.sleep(1)
    stop_agent(agent)
    run = remote_server.wait_run(run_id, timeout=20)
    assert run["conclusion"] == "failure"
    assert "The self-hosted runner: gpu-1 lost communication with the server" in run["reason"]
    assert all(j["status"] == "completed" for j in run["jobs"])


def test_agent_survives_a_server_restart(remote_server: Server, tmp_path: Path) -> None:
    agent = register_agent(remote_server, tmp_path, "self-hosted,gpu")
    try:
        files = {".github/workflows/gpu.yml": GPU.replace("SLEEP", "sleep 4")}
        push_workflows(remote_server, tmp_path, "acme/ml", files)
        run_id = int(remote_server.runs("acme/ml")[0]["id"])
        remote_server.wait_run(run_id, status="in_progress")
        remote_server.kill()
        time.sleep(1)
        remote_server.start()
        run = remote_server.wait_run(run_id, timeout=30)
        logs = remote_server.api("GET", f"/api/v1/runs/{run_id}/logs").text
        assert (run["conclusion"], run["runner"]) == ("success", "gpu-1"), (run["reason"], logs)
        assert "finished-training" in logs
    finally:
        stop_agent(agent)


def test_server_restarted_mid_run_fails_the_running_job_and_runs_the_queue(
    tmp_path: Path,
) -> None:
    server = make_server(tmp_path, "--pool-max", "1")
    server.start()
    try:
        slow = GPU.replace("[self-hosted, gpu]", "ubuntu-latest").replace("SLEEP", "sleep 3")
        push_workflows(server, tmp_path, "acme/app", {".github/workflows/a.yml": slow})
        push_workflows(server, tmp_path, "acme/app", {"x": "1"})
        runs = server.runs("acme/app")
        assert len(runs) == 2
        first = min(int(r["id"]) for r in runs)
        server.wait_run(first, status="in_progress")
        server.kill()
        server.start()
        conclusions = {
            run_id: server.wait_run(run_id, timeout=60)["conclusion"]
            for run_id in (int(r["id"]) for r in runs)
        }
        assert conclusions == {first: "failure", max(conclusions): "success"}
        logs = server.api("GET", f"/api/v1/runs/{first}/logs").text
        assert "The runner has received a shutdown signal." in logs
    finally:
        server.stop()
