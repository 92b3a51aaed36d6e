"""What the runner pool's tests share: a template config, workflows of N jobs, a pool over
kmock's emulator (`run_pool`), pushing a workflow from inside the event loop (`commit`),
playing a pod's runner (`finish`) and the kubelet's container status (`runner_status`).
Used by `test_kubepool` and `test_kubepool_failures`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from conveyor.ci.kubepool import KubePool
from conveyor.ci.kubepool_config import parse_config
from conveyor.ci.service import CIService
from conveyor.server.auth import Auth
from tests.ci.helpers import commit_workflow
from tests.ci.kubeemu import PODS, UidEmulator, emulated_cluster, objects, set_phase

__all__ = ["CONFIG", "NS", "Scenario", "commit", "finish", "jobs", "run_pool", "runner_status"]

NS = "ci"

CONFIG = {
    "server": "https://conveyor.example",
    "templates": [
        {
            "name": "linux",
            "labels": ["self-hosted", "k8s"],
            "namespace": NS,
            "image": "registry.example/conveyor:1",
            "resources": {"limits": {"cpu": "2", "memory": "4Gi"}},
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "max": 2,
        }
    ],
}


def jobs(count: int, extra: str = "") -> str:
    body = "".join(
        f"  j{i}:\n    runs-on: [self-hosted, k8s]\n{extra}    steps: [{{run: 'true'}}]\n"
        for i in range(count)
    )
    return f"on: push\njobs:\n{body}"


Scenario = Callable[[KubePool, UidEmulator], Awaitable[None]]


def run_pool(
    service: CIService,
    scenario: Scenario,
    config: dict[str, Any] = CONFIG,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    async def main() -> None:
        async with emulated_cluster() as (emulator, client):
            pool = KubePool(
                service,
                parse_config(config, where="test.yaml"),
                client=client,
                registrar=Auth(service.store),
                clock=clock,
            )
            await scenario(pool, emulator)

    asyncio.run(main())


async def commit(service: CIService, tmp_path: Path, text: str) -> list[int]:
    return await asyncio.to_thread(commit_workflow, service, tmp_path, text)


async def finish(service: CIService, emulator: UidEmulator, name: str) -> None:
    """The pod's runner takes its job, completes it, exits: what the pod would do."""
    pod = objects(emulator, PODS, NS)[name]
    unit = int(pod["metadata"]["annotations"]["conveyor.dev/unit"])
    assert pod["spec"]["containers"][0]["args"][5:7] == ["--unit", str(unit)]
    labels = ["self-hosted", "k8s"]
    got = await service.poll(name, labels=labels, ephemeral=True, timeout=0, only_unit=unit)
    assert got is not None and got["unit_id"] == unit
    service.complete(int(got["run_id"]), name, {"result": "success"})
    set_phase(emulator, NS, name, "Succeeded")


def runner_status(state: dict[str, Any]) -> dict[str, Any]:
    """A `ContainerStatus` with every field the API requires (Pod API reference, v1)."""
    return {
        "name": "runner",
        "image": "registry.example/conveyor:1",
        "imageID": "",
        "ready": False,
        "restartCount": 0,
        "state": state,
    }
