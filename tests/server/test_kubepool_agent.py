"""What a runner pod runs, run here against a real server: the Kubernetes pool's pod command
(`ci.kubepool_pods.runner_pod`) with the token its Secret would carry takes exactly one job
(the one the pod was made for, when it names one) and exits 0. No kubelet runs here, so the
command runs as a local process with the pod's argv and environment (the work directory
moved under the test's tmp_path)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conveyor.ci.kubepool_config import CaBundle, parse_config
from conveyor.ci.kubepool_job import WORK_DIR, JobPod
from conveyor.ci.kubepool_pods import NO_JOB, runner_pod
from tests.server.conftest import Server, free_port, make_server, push_workflows

WORKFLOW = """on: push
jobs:
  one: {runs-on: [self-hosted, k8s], steps: [{run: echo first}]}
  two: {runs-on: [self-hosted, k8s], steps: [{run: echo second}]}
"""


def pod_command(
    server: Server,
    tmp_path: Path,
    unit_id: int | None,
    *,
    job: JobPod = NO_JOB,
    paths: dict[str, str] | None = None,
    ca: CaBundle | None = None,
) -> list[str]:
    """The runner container's argv, as the pool writes it, runnable here (`paths`: more
    paths of the pod to replace, besides the work directory)."""
    config = parse_config(
        {"server": server.url, "templates": [{"name": "k", "labels": ["k8s"], "image": "i"}]},
        where="test",
    )
    pod = runner_pod(
        config.templates[0],
        runner="k-1",
        pool_id="p",
        server=config.server,
        unit_id=unit_id,
        job=job,
        ca=ca,
    )
    agent = pod["spec"]["containers"][0]
    assert agent["env"][0]["name"] == "CONVEYOR_TOKEN"
    argv = [str(Path(sys.executable).parent / agent["command"][0]), *agent["command"][1:]]
    moved = {WORK_DIR: str(tmp_path / "work"), **(paths or {})}
    return [*argv, *(moved.get(a, a) for a in agent["args"])]


def run_pod(argv: list[str], token: str) -> None:
    done = subprocess.run(
        argv,
        capture_output=True,
        env={**os.environ, "CONVEYOR_TOKEN": token},
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def run_of(server: Server) -> dict[str, Any]:
    run_id = int(server.runs("acme/kp")[0]["id"])
    view: dict[str, Any] = server.api("GET", f"/api/v1/runs/{run_id}").json()
    return view


def test_the_pod_command_takes_one_job_then_exits(tmp_path: Path) -> None:
    server = make_server(tmp_path, "--pool-min", "0", "--pool-max", "0")
    server.start()
    try:
        token = server.register_runner("k-1", "self-hosted,k8s", scope="repo:acme/kp")
        push_workflows(server, tmp_path, "acme/kp", {".github/workflows/k.yml": WORKFLOW})
        run_pod(pod_command(server, tmp_path, None), token)
        units = {u["job_id"]: u for u in run_of(server)["units"]}
        done = [u for u in units.values() if u["status"] == "completed"]
        assert len(done) == 1 and done[0]["conclusion"] == "success"
        assert done[0]["runner"] == "k-1"
    finally:
        server.stop()


def test_a_job_pod_takes_the_job_it_was_made_for(tmp_path: Path) -> None:
    server = make_server(tmp_path, "--pool-min", "0", "--pool-max", "0")
    server.start()
    try:
        token = server.register_runner("k-1", "self-hosted,k8s", scope="repo:acme/kp")
        push_workflows(server, tmp_path, "acme/kp", {".github/workflows/k.yml": WORKFLOW})
        units = {u["job_id"]: u for u in run_of(server)["units"]}
        run_pod(pod_command(server, tmp_path, int(units["two"]["id"])), token)
        units = {u["job_id"]: u for u in run_of(server)["units"]}
        assert (units["two"]["status"], units["two"]["conclusion"]) == ("completed", "success")
        assert units["one"]["status"] == "queued"  # older, but not this pod's job
    finally:
        server.stop()


SIDECAR = """on: push
jobs:
  web:
    runs-on: [self-hosted, k8s]
    services:
      web: {image: not-pulled-here:1, ports: ["PORT"]}
    steps:
      - run: |
          port="${{ job.services.web.ports['PORT'] }}"
          python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:$port/').read().decode())"
"""


def test_a_job_pod_reaches_its_services_on_localhost_without_starting_them(
    tmp_path: Path,
) -> None:
    """The service is played by an HTTP server on this host (a sidecar shares the pod's
    localhost); its image is never pulled: with Podman the job would fail."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text("from-sidecar\n")
    port = free_port()
    sidecar = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path / "site",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = make_server(tmp_path, "--pool-min", "0", "--pool-max", "0")
    server.start()
    try:
        token = server.register_runner("k-1", "self-hosted,k8s", scope="repo:acme/kp")
        text = SIDECAR.replace("PORT", str(port))
        push_workflows(server, tmp_path, "acme/kp", {".github/workflows/k.yml": text})
        [unit] = run_of(server)["units"]
        services = JobPod(
            containers=({"name": "svc-web", "image": "x"},), agent_args=("--sidecar-services",)
        )
        argv = pod_command(server, tmp_path, int(unit["id"]), job=services)
        assert argv[-1] == "--sidecar-services"
        run_pod(argv, token)
        run_id = int(server.runs("acme/kp")[0]["id"])
        assert server.wait_run(run_id)["conclusion"] == "success"
        logs = server.api("GET", f"/api/v1/runs/{run_id}/logs").text
        assert "from-sidecar" in logs
    finally:
        server.stop()
        sidecar.kill()
        sidecar.wait()
