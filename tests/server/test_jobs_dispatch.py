"""Per-job dispatch through the real server: each job goes to a runner with its own
`runs-on` labels (the local pool or a remote agent), waits for its `needs`, and gets their
outputs and artifacts through the server."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.server.agents import register_agent, stop_agent
from tests.server.conftest import Server, make_server, push_workflows

PIPELINE = """name: ML
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      model: ${{ steps.b.outputs.model }}
    steps:
      - id: b
        run: |
          mkdir -p out && echo "weights-v1" > out/model.bin
          echo "model=model.bin" >> "$GITHUB_OUTPUT"
      - uses: actions/upload-artifact@v4
        with: {name: model, path: out}
  train:
    needs: build
    runs-on: [self-hosted, gpu]
    steps:
      - uses: actions/download-artifact@v4
        with: {name: model, path: got}
      - run: echo "train on ${{ needs.build.outputs.model }} = $(cat got/model.bin)"
      - run: mkdir -p res && echo "accuracy 0.9" > res/metrics.txt
      - uses: actions/upload-artifact@v4
        with: {name: metrics, path: res}
  report:
    needs: [build, train]
    if: always()
    runs-on: ubuntu-latest
    steps:
      - uses: actions/download-artifact@v4
        with: {name: metrics, path: m}
      - run: echo "report ${{ needs.train.result }} $(cat m/metrics.txt)"
"""

MATRIX = """name: Matrix
on: push
jobs:
  test:
    strategy:
      matrix:
        os: [ubuntu-latest, gpu-box]
    runs-on: ${{ matrix.os }}
    outputs:
      seen: ${{ steps.s.outputs.seen }}
    steps:
      - id: s
        run: echo "leg ${{ matrix.os }} index ${{ strategy.job-index }}"
"""


@pytest.fixture
def pool_server(tmp_path: Path) -> Iterator[Server]:
    """A server whose local pool has the default labels (ubuntu-latest, no gpu)."""
    srv = make_server(tmp_path, "--pool-min", "1", "--pool-max", "1", "--heartbeat-timeout", "5")
    srv.start()
    yield srv
    srv.stop()


def _runner_of(run: dict[str, Any]) -> dict[str, str]:
    return {u["name"]: _local(u["runner"]) for u in run["units"] if u["runner"]}


def _local(runner: str) -> str:
    """The pool's runners are `local-<pool id>-<n>`: shown here as `local-<n>`."""
    return re.sub(r"^local-[0-9a-f]{6}-", "local-", runner)


def test_build_on_the_pool_and_train_on_a_gpu_agent_share_outputs_and_artifacts(
    pool_server: Server, tmp_path: Path
) -> None:
    agent = register_agent(pool_server, tmp_path, "self-hosted,linux,gpu", "gpu-1")
    try:
        push_workflows(pool_server, tmp_path, "acme/ml", {".github/workflows/ml.yml": PIPELINE})
        run = pool_server.wait_run(int(pool_server.runs("acme/ml")[0]["id"]), timeout=120)
        logs = pool_server.api("GET", f"/api/v1/runs/{run['id']}/logs").text
        assert run["conclusion"] == "success", (run, logs)
        assert {j["name"]: j["conclusion"] for j in run["jobs"]} == {
            "build": "success",
            "train": "success",
            "report": "success",
        }
        assert _runner_of(run) == {"build": "local-1", "train": "gpu-1", "report": "local-1"}
        assert "train on model.bin = weights-v1" in logs  # output and artifact from runner A
        assert "report success accuracy 0.9" in logs  # and back from runner B
        names = [
            a["name"] for a in pool_server.api("GET", f"/api/v1/runs/{run['id']}/artifacts").json()
        ]
        assert sorted(names) == ["metrics", "model"]
    finally:
        stop_agent(agent)


def test_a_runner_without_gpu_never_gets_train(pool_server: Server, tmp_path: Path) -> None:
    agent = register_agent(pool_server, tmp_path, "self-hosted,linux", "cpu-1")
    try:
        push_workflows(pool_server, tmp_path, "acme/ml", {".github/workflows/ml.yml": PIPELINE})
        run_id = int(pool_server.runs("acme/ml")[0]["id"])
        deadline = time.monotonic() + 60
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            run = pool_server.api("GET", f"/api/v1/runs/{run_id}").json()
            if any(u["job_id"] == "build" and u["status"] == "completed" for u in run["units"]):
                break
            time.sleep(0.2)
        built = time.time()
        while time.time() < built + 3:  # the cpu agent polls (and is told nothing) meanwhile
            seen = pool_server.api("GET", "/api/v1/runners").json()
            time.sleep(0.2)
        assert any(r["name"] == "cpu-1" and r["last_seen"] > built for r in seen)
        run = pool_server.api("GET", f"/api/v1/runs/{run_id}").json()
        train = [u for u in run["units"] if u["job_id"] == "train"]
        assert [(u["status"], u["runner"]) for u in train] == [("queued", "")]
        assert run["status"] == "in_progress"
        assert "report" not in {u["job_id"] for u in run["units"]}  # waits for train
        assert pool_server.api("POST", f"/api/v1/runs/{run_id}/cancel").status_code == 200
        run = pool_server.wait_run(run_id)
        assert run["conclusion"] == "cancelled"
        assert {u["job_id"]: u["conclusion"] for u in run["units"]}["train"] == "cancelled"
    finally:
        stop_agent(agent)


def test_matrix_legs_with_runs_on_from_the_matrix_go_to_different_runners(
    pool_server: Server, tmp_path: Path
) -> None:
    agent = register_agent(pool_server, tmp_path, "gpu-box", "box-1")
    try:
        push_workflows(pool_server, tmp_path, "acme/mx", {".github/workflows/m.yml": MATRIX})
        run = pool_server.wait_run(int(pool_server.runs("acme/mx")[0]["id"]), timeout=120)
        logs = pool_server.api("GET", f"/api/v1/runs/{run['id']}/logs").text
        assert run["conclusion"] == "success", (run, logs)
        assert sorted((u["labels"], _local(u["runner"])) for u in run["units"]) == [
            (["gpu-box"], "box-1"),
            (["ubuntu-latest"], "local-1"),
        ]
        assert sorted(j["name"] for j in run["jobs"]) == ["test (gpu-box)", "test (ubuntu-latest)"]
        assert "leg gpu-box" in logs and "leg ubuntu-latest" in logs
    finally:
        stop_agent(agent)


PICKED = """name: Picked
on: push
jobs:
  pick:
    runs-on: ubuntu-latest
    outputs:
      pool: ${{ steps.p.outputs.pool }}
    steps:
      - id: p
        run: echo "pool=arm-box" >> "$GITHUB_OUTPUT"
  work:
    needs: pick
    runs-on: [self-hosted, "${{ needs.pick.outputs.pool }}"]
    steps:
      - run: echo "working on ${{ needs.pick.outputs.pool }}"
"""


def test_runs_on_from_a_needs_output_picks_the_runner(pool_server: Server, tmp_path: Path) -> None:
    agent = register_agent(pool_server, tmp_path, "self-hosted,arm-box", "arm-1")
    try:
        push_workflows(pool_server, tmp_path, "acme/pk", {".github/workflows/p.yml": PICKED})
        run = pool_server.wait_run(int(pool_server.runs("acme/pk")[0]["id"]), timeout=120)
        logs = pool_server.api("GET", f"/api/v1/runs/{run['id']}/logs").text
        assert run["conclusion"] == "success", (run, logs)
        assert _runner_of(run) == {"pick": "local-1", "work": "arm-1"}
        assert [u["labels"] for u in run["units"] if u["job_id"] == "work"] == [
            ["self-hosted", "arm-box"]
        ]
        assert "working on arm-box" in logs
    finally:
        stop_agent(agent)
