"""Job containers in runner pods, through the pool against kmock's KubernetesEmulator (no
kubelet runs there: the spec is what the emulator stored, unvalidated and not defaulted).
What the pod's containers then do is tested with real Podman in
`tests/runners/test_sibling_podman.py` and `test_sibling_job.py`."""

from __future__ import annotations

from pathlib import Path

from conveyor.ci.kubepool import KubePool
from conveyor.ci.kubepool_job import WORK_DIR
from conveyor.ci.service import CIService
from conveyor.runners.sibling_protocol import CONTROL_DIR, loop_command
from tests.ci.helpers import unit_states
from tests.ci.kubeemu import PODS, SECRETS, UidEmulator, objects
from tests.ci.kubepoolworld import NS, commit, jobs, run_pool

CONTAINER = """    container:
      image: node:20
      options: --cpus 1 --user 1000
      volumes: ["cache:/cache"]
      env: {SECRET: "${{ secrets.TOKEN }}"}
"""


def test_a_job_container_becomes_a_sibling_of_the_runner_in_the_job_pod(
    service: CIService, tmp_path: Path
) -> None:
    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        await commit(service, tmp_path, jobs(1, CONTAINER))
        await pool.step()
        [pod] = objects(emulator, PODS, NS).values()
        agent, box = pod["spec"]["containers"]
        assert (box["name"], box["image"], box["command"]) == ("job", "node:20", loop_command())
        assert box["securityContext"] == {"runAsUser": 1000}
        assert box["resources"] == {"limits": {"cpu": "1"}}
        shared = {(m["name"], m["mountPath"]) for m in agent["volumeMounts"]}
        assert {("work", WORK_DIR), ("executor", CONTROL_DIR)} <= shared
        inside = {(m["name"], m["mountPath"]) for m in box["volumeMounts"]}
        assert {("work", WORK_DIR), ("executor", CONTROL_DIR), ("vol-cache", "/cache")} <= inside
        assert agent["args"][-2:] == ["--sibling-job-container", CONTROL_DIR]
        volumes = {v["name"] for v in pod["spec"]["volumes"]}
        assert volumes == {"work", "executor", "actions", "github-home", "vol-cache"}

    run_pool(service, scenario)


def test_a_job_container_a_pod_cannot_express_fails_its_job_with_the_field(
    service: CIService, tmp_path: Path
) -> None:
    refused = "    container: {image: node:20, options: --network host}\n"

    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        [run_id] = await commit(service, tmp_path, jobs(1, refused))
        await pool.step()
        assert objects(emulator, PODS, NS) == {}
        assert objects(emulator, SECRETS, NS) == {}
        assert unit_states(service, run_id)["j0"] == ("completed", "failure")
        [unit] = service.store.units(run_id=run_id)
        assert "jobs.j0.container.options: '--network host' cannot" in unit["reason"]

    run_pool(service, scenario)
