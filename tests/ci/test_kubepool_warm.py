"""Warm runner pods (`min` > 0) and jobs with containers. A warm pod is made before its job
is known, so it has no containers for a job's services or job container: its agent runs
with `--no-job-containers`, the server hands it no such job, and the pool gives such a job a
pod of its own, deleting an idle warm pod when `max` leaves no room. The pool runs against
kmock's KubernetesEmulator (the tests play the pods' agents with `service.poll`); the warm
pod's real agent against a real server is the last test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conveyor.ci.kubepool import KubePool
from conveyor.ci.service import CIService
from tests.ci.kubeemu import PODS, UidEmulator, objects
from tests.ci.kubepoolworld import CONFIG, NS, commit, jobs, run_pool
from tests.server.conftest import make_server, push_workflows
from tests.server.test_kubepool_agent import pod_command, run_of, run_pod

LABELS = ["self-hosted", "k8s"]
WARM: dict[str, Any] = {
    **CONFIG,
    "templates": [{**CONFIG["templates"][0], "min": 1, "max": 1, "scope": "org:acme"}],
}
BOXED = "    container: {image: node:20}\n"


def unit_of(pod: dict[str, Any]) -> str | None:
    annotation: str | None = pod["metadata"]["annotations"].get("conveyor.dev/unit")
    return annotation


def test_a_warm_pod_asks_for_jobs_without_containers_only(
    service: CIService, tmp_path: Path
) -> None:
    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        await pool.step()
        [(warm, pod)] = objects(emulator, PODS, NS).items()
        assert unit_of(pod) is None
        assert pod["spec"]["containers"][0]["args"][-1] == "--no-job-containers"
        await commit(service, tmp_path, jobs(1, BOXED))
        # what the warm pod's agent asks: nothing, its pod has no job container
        assert await service.poll(warm, labels=LABELS, timeout=0, containers=False) is None

    run_pool(service, scenario, WARM)


def test_a_job_with_a_container_gets_its_own_pod_in_place_of_an_idle_warm_one(
    service: CIService, tmp_path: Path
) -> None:
    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        await pool.step()
        [warm] = objects(emulator, PODS, NS)
        [run_id] = await commit(service, tmp_path, jobs(1, BOXED))
        [unit] = service.store.units(run_id=run_id)
        await pool.step()
        pods = objects(emulator, PODS, NS)
        assert warm not in pods  # max 1: the idle warm pod made room
        [(name, pod)] = pods.items()
        assert unit_of(pod) == str(unit["id"])
        assert [c["name"] for c in pod["spec"]["containers"]] == ["runner", "job"]
        got = await service.poll(name, labels=LABELS, timeout=0, only_unit=int(unit["id"]))
        assert got is not None and got["job_id"] == "j0"

    run_pool(service, scenario, WARM)


def test_a_busy_warm_pod_is_kept_and_plain_jobs_still_go_to_warm_pods(
    service: CIService, tmp_path: Path
) -> None:
    text = jobs(1) + "  boxed:\n    runs-on: [self-hosted, k8s]\n" + BOXED
    text += "    steps: [{run: 'true'}]\n"

    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        await pool.step()
        [warm] = objects(emulator, PODS, NS)
        [run_id] = await commit(service, tmp_path, text)
        got = await service.poll(warm, labels=LABELS, timeout=0, containers=False)
        assert got is not None and got["job_id"] == "j0"  # the plain job
        await pool.step()
        pods = objects(emulator, PODS, NS)
        assert list(pods) == [warm]  # busy: kept; no room for the boxed job's pod yet
        units = {u["job_id"]: u for u in service.store.units(run_id=run_id)}
        assert units["boxed"]["status"] == "queued"

    run_pool(service, scenario, WARM)


TWO = """on: push
jobs:
  boxed:
    runs-on: [self-hosted, k8s]
    container: {image: not-pulled-here:1}
    steps: [{run: echo boxed}]
  plain:
    runs-on: [self-hosted, k8s]
    steps: [{run: echo plain}]
"""


def test_a_warm_pods_agent_takes_the_plain_job_and_leaves_the_container_job(
    tmp_path: Path,
) -> None:
    """The warm pod's real command (as the pool writes it) against a real server: the older
    container job stays queued (with no job container beside it, it would fail here)."""
    server = make_server(tmp_path, "--pool-min", "0", "--pool-max", "0")
    server.start()
    try:
        token = server.register_runner("k-1", "self-hosted,k8s", scope="repo:acme/kp")
        push_workflows(server, tmp_path, "acme/kp", {".github/workflows/k.yml": TWO})
        argv = pod_command(server, tmp_path, None)
        assert argv[-1] == "--no-job-containers"
        run_pod(argv, token)
        units = {u["job_id"]: u for u in run_of(server)["units"]}
        assert (units["plain"]["status"], units["plain"]["conclusion"]) == ("completed", "success")
        assert units["boxed"]["status"] == "queued"
    finally:
        server.stop()
