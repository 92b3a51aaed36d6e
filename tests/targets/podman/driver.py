"""A stand-in reconciler process for kill -9 tests: `python -m tests.targets.podman.driver`.

Arguments: STATE_DIR TARGET_NAME IMAGE NODE_PORT. It applies the demo Deployment (2
replicas) and Service with IMAGE, then keeps the target's controller running, printing
`READY` once every replica runs IMAGE and is ready. Tests kill it with SIGKILL mid-rollout,
or stop it with SIGTERM, on which it closes the target as `conveyor reconcile` does.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from conveyor.clients.podman import Podman
from conveyor.targets.base import ObjectRef
from conveyor.targets.podman import PodmanTarget

from .manifests import deployment, service


async def main(state_dir: Path, name: str, image: str, port: int, podman_dir: Path) -> None:
    target = PodmanTarget(
        name=name, state_dir=state_dir, podman=Podman(state_dir=podman_dir), tick=0.1
    )
    await target.apply(deployment("web", image=image, replicas=2))
    await target.apply(service("web", port))
    ref = ObjectRef(group="apps", kind="Deployment", namespace="demo", name="web")
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    said = False
    while not stop.is_set():
        live = await target.get(ref)
        assert live is not None
        st = live["status"]
        done = st["updatedReplicas"] == st["readyReplicas"] == st["replicas"] == 2
        if done and not said:
            print("READY", flush=True)
            said = True
        await asyncio.sleep(0.05)
    await target.aclose()


if __name__ == "__main__":
    asyncio.run(
        main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5]))
    )
