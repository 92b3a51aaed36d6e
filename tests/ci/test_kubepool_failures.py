"""The Kubernetes runner pool when things go wrong or get mixed, against kmock's
KubernetesEmulator: pods that die or never start, an unreachable cluster, pods of others,
several templates. The kubelet's statuses are written by the tests in the Pod API's shape."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lightkube import AsyncClient, KubeConfig
from lightkube.config.models import Cluster, User

from conveyor.ci.kubepool import KubePool
from conveyor.ci.kubepool_config import parse_config
from conveyor.ci.service import CIService
from conveyor.server.auth import Auth
from tests.ci.helpers import unit_states
from tests.ci.kubeemu import PODS, SECRETS, UidEmulator, objects, set_status
from tests.ci.kubepoolworld import CONFIG, NS, commit, jobs, run_pool, runner_status
from tests.server.conftest import free_port


def test_a_pod_killed_during_its_job_fails_the_job_with_the_pod_reason(
    service: CIService, tmp_path: Path
) -> None:
    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        [run_id] = await commit(service, tmp_path, jobs(1))
        await pool.step()
        [(name, pod)] = objects(emulator, PODS, NS).items()
        unit = int(pod["metadata"]["annotations"]["conveyor.dev/unit"])
        labels = ["self-hosted", "k8s"]
        assert await service.poll(name, labels=labels, timeout=0, only_unit=unit) is not None
        killed = {"terminated": {"reason": "OOMKilled", "exitCode": 137}}
        status = {"phase": "Failed", "containerStatuses": [runner_status(killed)]}
        set_status(emulator, NS, name, status)
        await pool.step()
        assert objects(emulator, PODS, NS) == {}
        assert unit_states(service, run_id)["j0"] == ("completed", "failure")
        reason = service.store.units(run_id=run_id)[0]["reason"]
        assert reason == f"runner pod {name} ended: Failed (OOMKilled (exit code 137))"

    run_pool(service, scenario)


def test_a_job_pod_that_never_starts_fails_its_job_after_the_start_timeout(
    service: CIService, tmp_path: Path
) -> None:
    now = [0.0]
    config = {**CONFIG, "templates": [{**CONFIG["templates"][0], "startTimeout": 60}]}  # type: ignore[dict-item]

    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        [run_id] = await commit(service, tmp_path, jobs(1))
        await pool.step()
        [name] = objects(emulator, PODS, NS)
        waiting = {"waiting": {"reason": "ImagePullBackOff", "message": "no such image"}}
        status = {"phase": "Pending", "containerStatuses": [runner_status(waiting)]}
        set_status(emulator, NS, name, status)
        await pool.step()
        now[0] = 59.0
        await pool.step()
        assert name in objects(emulator, PODS, NS)  # not yet
        now[0] = 61.0
        await pool.step()
        assert objects(emulator, PODS, NS) == {}
        assert objects(emulator, SECRETS, NS) == {}
        assert unit_states(service, run_id)["j0"] == ("completed", "failure")
        reason = service.store.units(run_id=run_id)[0]["reason"]
        assert "did not start in time: runner ImagePullBackOff: no such image" in reason

    run_pool(service, scenario, config, clock=lambda: now[0])


def test_pods_of_other_pools_are_left_alone(service: CIService, tmp_path: Path) -> None:
    """The emulator ignores label selectors (a real API server applies them), so this also
    checks the pool's own filter."""

    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        foreign = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "app", "namespace": NS, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "web:1"}]},
            "status": {"phase": "Succeeded"},
        }
        emulator.objects[PODS, NS, "app"] = foreign
        await pool.step()
        assert list(objects(emulator, PODS, NS)) == ["app"]

    run_pool(service, scenario)


def test_an_unreachable_cluster_is_retried_not_fatal(
    service: CIService, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        config = KubeConfig.from_one(
            cluster=Cluster(server=f"http://127.0.0.1:{free_port()}"), user=User(token="t")
        )
        client = AsyncClient(config)
        pool = KubePool(
            service,
            parse_config(CONFIG, where="test.yaml"),
            client=client,
            registrar=Auth(service.store),
            interval=0.05,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(pool.run(stop))
        await asyncio.sleep(0.3)
        assert not task.done()
        stop.set()
        await task
        await client.close()

    asyncio.run(main())
    warnings = [r for r in caplog.records if "runner pool: Kubernetes API" in r.getMessage()]
    assert len(warnings) >= 2


def test_the_first_template_whose_labels_cover_the_job_takes_it(
    service: CIService, tmp_path: Path
) -> None:
    big = {**CONFIG["templates"][0], "name": "big", "labels": ["self-hosted", "k8s", "gpu"]}  # type: ignore[dict-item]
    small = {**CONFIG["templates"][0], "name": "small"}  # type: ignore[dict-item]
    config = {**CONFIG, "templates": [small, big]}
    text = jobs(1) + "  g:\n    runs-on: [self-hosted, k8s, gpu]\n    steps: [{run: 'true'}]\n"

    async def scenario(pool: KubePool, emulator: UidEmulator) -> None:
        await commit(service, tmp_path, text)
        await pool.step()
        made = sorted(
            p["metadata"]["labels"]["conveyor.dev/runner-template"]
            for p in objects(emulator, PODS, NS).values()
        )
        assert made == ["big", "small"]  # j0 fits both: the first (small) takes it; g: big only

    run_pool(service, scenario, config)
