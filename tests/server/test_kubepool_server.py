"""`conveyor server --runner-pool kubernetes:CONFIG` end to end, against kmock's
KubernetesEmulator served from a thread of the test (no kubelet: the test runs the pod's
command itself, with the token from the pod's Secret, and then reports the pod Succeeded as
the kubelet would). Bad options stop the server with a message naming what to fix."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from conveyor.ci.kubepool_job import WORK_DIR
from tests.ci.kubeemu import PODS, SECRETS, cluster_in_thread, objects, set_phase
from tests.server.conftest import make_server, push_workflows

WORKFLOW = "on: push\njobs:\n  one: {runs-on: [self-hosted, k8s], steps: [{run: echo pod}]}\n"


def write_config(tmp_path: Path, server: str, cluster: str) -> Path:
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "emu", "cluster": {"server": cluster}}],
        "users": [{"name": "u", "user": {"token": "test"}}],
        "contexts": [{"name": "emu", "context": {"cluster": "emu", "user": "u"}}],
        "current-context": "emu",
    }
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    pool = {
        "server": server,
        "kubeconfig": "kubeconfig",
        "context": "emu",
        "templates": [
            {"name": "k", "labels": ["self-hosted", "k8s"], "namespace": "ci", "image": "i"}
        ],
    }
    path = tmp_path / "pool.yaml"
    path.write_text(yaml.safe_dump(pool))
    return path


def eventually(check: Callable[[], Any], what: str) -> Any:
    for _ in range(200):
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"never: {what}")


def run_pod(pod: dict[str, Any], token: str, tmp_path: Path) -> None:
    agent = pod["spec"]["containers"][0]
    argv = [str(Path(sys.executable).parent / agent["command"][0]), *agent["command"][1:]]
    args = [str(tmp_path / "work") if a == WORK_DIR else a for a in agent["args"]]
    done = subprocess.run(
        [*argv, *args],
        capture_output=True,
        env={**os.environ, "CONVEYOR_TOKEN": token},
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def test_the_server_pool_runs_a_job_in_a_pod_and_cleans_up(tmp_path: Path) -> None:
    with cluster_in_thread() as (emulator, cluster):
        server = make_server(tmp_path)
        config = write_config(tmp_path, server.url, cluster)
        server.extra = (
            "--pool-min",
            "0",
            "--pool-max",
            "0",
            "--runner-pool",
            f"kubernetes:{config}",
        )
        server.start()
        try:
            push_workflows(server, tmp_path, "acme/kp", {".github/workflows/k.yml": WORKFLOW})
            pods = eventually(lambda: objects(emulator, PODS, "ci"), "a runner pod")
            [(name, pod)] = pods.items()
            token = objects(emulator, SECRETS, "ci")[f"{name}-token"]["stringData"]["token"]
            run_pod(pod, token, tmp_path)
            run_id = int(server.runs("acme/kp")[0]["id"])
            assert server.wait_run(run_id)["conclusion"] == "success"
            set_phase(emulator, "ci", name, "Succeeded")
            eventually(lambda: not objects(emulator, PODS, "ci"), "the pod deleted")
            # The pool deletes the pod, then its Secret: the second may land a moment later.
            eventually(lambda: not objects(emulator, SECRETS, "ci"), "its token Secret deleted")
            registered = server.api("GET", "/api/v1/runners/registered").json()
            assert name not in {r["name"] for r in registered}
        finally:
            server.stop()


def test_a_bad_runner_pool_option_stops_the_server_saying_why(tmp_path: Path) -> None:
    bad = tmp_path / "pool.yaml"
    bad.write_text("server: http://x\ntemplates: [{name: k, labels: [a], image: i, max: -1}]\n")
    cases = {
        "docker:pool.yaml": "give KIND:CONFIG with KIND one of kubernetes",
        f"kubernetes:{tmp_path / 'none.yaml'}": "none.yaml: cannot read",
        f"kubernetes:{bad}": "templates.0.max",
    }
    for option, message in cases.items():
        done = subprocess.run(
            [sys.executable, "-m", "conveyor.server.main", "--runner-pool", option],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2
        assert message in done.stderr


def test_the_cli_refuses_a_runner_pool_whose_kubeconfig_lacks_the_context(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:1", "http://127.0.0.1:2")
    config.write_text(config.read_text().replace("context: emu", "context: prod"))
    done = subprocess.run(
        [sys.executable, "-m", "conveyor.app", "server", "--runner-pool", f"kubernetes:{config}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "--runner-pool" in done.stderr
    assert "no usable Kubernetes configuration" in done.stderr
    assert "Context 'prod' not found" in done.stderr
