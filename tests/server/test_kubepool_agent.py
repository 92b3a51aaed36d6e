"""What a runner pod runs, run here against a real server: the Kubernetes pool's pod command
(`ci.kubepool_pods.runner_pod`) with the token its Secret would carry takes exactly one job
and exits 0. No kubelet runs here, so the command runs as a local process with the pod's
argv and environment (the work directory moved under the test's tmp_path)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conveyor.ci.kubepool_config import parse_config
from conveyor.ci.kubepool_pods import WORK_DIR, runner_pod
from tests.server.conftest import make_server, push_workflows

WORKFLOW = """on: push
jobs:
  one: {runs-on: [self-hosted, k8s], steps: [{run: echo first}]}
  two: {runs-on: [self-hosted, k8s], needs: one, steps: [{run: echo second}]}
"""


def test_the_pod_command_takes_one_job_then_exits(tmp_path: Path) -> None:
    server = make_server(tmp_path, "--pool-min", "0", "--pool-max", "0")
    server.start()
    try:
        config = parse_config(
            {
                "server": server.url,
                "templates": [{"name": "k", "labels": ["self-hosted", "k8s"], "image": "i"}],
            },
            where="test",
        )
        template = config.templates[0]
        token = server.register_runner("k-1", "self-hosted,k8s", scope="repo:acme/kp")
        pod = runner_pod(
            template, runner="k-1", pool_id="p", server=config.server, unit_id=None, sidecars=[]
        )
        agent = pod["spec"]["containers"][0]
        argv = [str(Path(sys.executable).parent / agent["command"][0]), *agent["command"][1:]]
        args = [str(tmp_path / "work") if a == WORK_DIR else a for a in agent["args"]]
        assert agent["env"][0]["name"] == "CONVEYOR_TOKEN"
        push_workflows(server, tmp_path, "acme/kp", {".github/workflows/k.yml": WORKFLOW})
        done = subprocess.run(
            [*argv, *args],
            capture_output=True,
            env={**os.environ, "CONVEYOR_TOKEN": token},
            timeout=90,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        run_id = int(server.runs("acme/kp")[0]["id"])
        view = server.api("GET", f"/api/v1/runs/{run_id}").json()
        jobs = {j["name"]: j for j in view["jobs"]}
        assert jobs["one"]["conclusion"] == "success"
        assert "two" not in jobs  # one job per pod: the second waits for another runner
        assert view["status"] != "completed"
    finally:
        server.stop()
