"""A whole container job the way a Kubernetes runner pod runs it, here: a real server, the
agent started with the pod's argv (`ci.kubepool_pods.runner_pod` with the job's
`ci.kubepool_job.job_pod`), and the job container played by a real Podman container of the
busybox image running the executor loop, with the work and control directories (the pod's
emptyDirs) bind-mounted at the same paths in both. No kubelet runs here: the agent is a local
process and the paths of the pod are moved under the test's tmp_path."""

from __future__ import annotations

import time
from pathlib import Path

from conveyor.ci.kubepool_job import job_pod
from conveyor.runners.sibling_protocol import CONTROL_DIR
from conveyor.workflow.model import Container, Job
from tests.runners.conftest import remove_box, start_box
from tests.server.conftest import make_server, push_workflows
from tests.server.test_kubepool_agent import pod_command, run_of, run_pod

WORKFLOW = """on: push
jobs:
  boxed:
    runs-on: [self-hosted, k8s]
    container:
      image: IMAGE
      env: {FROM_CONTAINER: "yes it's", REPO: "${{ github.repository }}"}
    steps:
      - run: echo "host=$(hostname) from=$FROM_CONTAINER repo=$REPO home=$HOME"
      - run: echo "NEXT=through GITHUB_ENV" >> "$GITHUB_ENV"
      - run: |
          echo "next=$NEXT"
          echo "in $(pwd)" > marker.txt
      - run: exit 4
        continue-on-error: true
      - run: cat marker.txt
"""


def test_a_container_job_runs_its_steps_in_the_pods_sibling_container(
    busybox: str, tmp_path: Path
) -> None:
    box = start_box(busybox, tmp_path, hostname="sibling-box")
    server = make_server(tmp_path, "--pool-min", "0", "--pool-max", "0")
    server.start()
    try:
        token = server.register_runner("k-1", "self-hosted,k8s", scope="repo:acme/kp")
        text = WORKFLOW.replace("IMAGE", busybox)
        push_workflows(server, tmp_path, "acme/kp", {".github/workflows/k.yml": text})
        [unit] = run_of(server)["units"]
        job = Job(id="boxed", runs_on=["self-hosted", "k8s"], container=Container(image=busybox))
        argv = pod_command(
            server,
            tmp_path,
            int(unit["id"]),
            job=job_pod(job),
            paths={CONTROL_DIR: str(box.control)},
        )
        assert argv[-2:] == ["--sibling-job-container", str(box.control)]
        run_pod(argv, token)
        run_id = int(server.runs("acme/kp")[0]["id"])
        assert server.wait_run(run_id)["conclusion"] == "success"
        logs = server.api("GET", f"/api/v1/runs/{run_id}/logs").text
        assert "host=sibling-box from=yes it's repo=acme/kp home=/github/home" in logs
        assert "next=through GITHUB_ENV" in logs
        assert "in " + str(box.work) in logs  # the workspace, at the same path on both sides
        deadline = time.monotonic() + 10
        while box.state() == "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert box.state() == "exited"  # the job's end stopped the loop: the pod can end
    finally:
        server.stop()
        remove_box(box)
