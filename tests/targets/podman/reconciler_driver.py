"""The real reconciler on the Podman target, as its own process, for kill -9 tests.

`python -m tests.targets.podman.reconciler_driver STATE TARGET REPO_URL PODMAN_DIR` runs
`conveyor.reconcile.Reconciler` (auto-sync, 0.3 s interval) for one application `web`
whose manifests live in REPO_URL at `app/`, with a `PodmanTarget` as destination `local`.
It prints `STATUS <sync> <health>` whenever the app's status changes.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import yaml

from conveyor.clients.podman import Podman
from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.loop import Loop
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env
from conveyor.store import Store
from conveyor.targets.podman import PodmanTarget


def application(repo_url: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "conveyor.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web"},
            "spec": {
                "source": {"repoURL": repo_url, "path": "app", "targetRevision": "main"},
                "destination": {"name": "local", "namespace": "demo"},
                "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
            },
        }
    )


async def main(state: Path, name: str, repo_url: str, podman_dir: Path) -> None:
    target = PodmanTarget(
        name=name, state_dir=state / "target", podman=Podman(state_dir=podman_dir), tick=0.1
    )
    store = Store.open(state / "state.db")
    env = Env(targets={"local": target}, store=store, sources=Sources(state / "cache"))
    reconciler = Reconciler(parse_applications(application(repo_url), "apps.yaml"), env)
    stop = asyncio.Event()
    runner = asyncio.create_task(Loop(reconciler).run(interval=0.3, stop=stop))
    last = ""
    while not runner.done():
        await asyncio.sleep(0.05)
        try:
            status = reconciler.status("web")
        except KeyError:
            continue
        line = f"STATUS {status['sync']['status']} {status['health']['status']}"
        if line != last:
            print(line, flush=True)
            last = line
    await runner


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], sys.argv[3], Path(sys.argv[4])))
