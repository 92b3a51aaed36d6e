"""Removing everything one Podman target runs on this host: `conveyor down` (issue 11).

What a target starts outlives every process on purpose (a cluster outlives its control
plane): replica, init and sidecar containers, the namespaces' networks, claims' volumes,
and the detached Service proxy. `teardown` removes them for one target, selected only by
the target's labels (`names.target_filter`) and its own state directory, so nothing of
another target or outside Conveyor is touched: networks and volumes are removed without
`-f` (one someone else's container still uses is kept, and said so). Volumes hold data and
go only when asked, as `docker compose down -v`. The target's record of applied objects
is cleared too, so a later reconcile sees them missing and applies them from Git again
instead of the controller quietly re-creating them (`cmd_down` also tells the reconciler's
state, so that apply is a deploy, not a drift repair). Running it twice removes nothing the
second time. Called by `conveyor.app.cmd_down` (and the e2e tests' clean-up).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from conveyor.clients.podman import Podman
from conveyor.targets.podman import names
from conveyor.targets.podman.routing import ProxyHandle
from conveyor.targets.podman.store import ObjectStore

PROXY_EXIT_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Removed:
    """What `teardown` removed for one target, and what it kept and why."""

    target: str
    proxy_pid: int | None
    containers: tuple[str, ...]
    networks: tuple[str, ...]
    volumes: tuple[str, ...]
    objects: int
    kept: tuple[str, ...]

    @property
    def nothing(self) -> bool:
        found = (self.containers, self.networks, self.volumes, self.kept)
        return self.proxy_pid is None and not any(found) and not self.objects


async def teardown(podman: Podman, target: str, state_dir: Path, *, volumes: bool) -> Removed:
    """Stop the target's proxy, then remove its containers, networks (and volumes)."""
    proxy_pid = await _stop_proxy(state_dir / "proxy")
    containers = await _names(podman, "ps", "-a", "--format", "{{.Names}}", target=target)
    if containers:
        await podman.run("rm", "-f", "-t", "0", "--depend", "--", *containers, check=False)
    kept: list[str] = []
    networks = await _remove_each(podman, "network", target, kept)
    gone_volumes = await _remove_each(podman, "volume", target, kept) if volumes else []
    objects = _forget_objects(state_dir / "objects")
    return Removed(
        target=target,
        proxy_pid=proxy_pid,
        containers=tuple(sorted(containers)),
        networks=tuple(networks),
        volumes=tuple(gone_volumes),
        objects=objects,
        kept=tuple(kept),
    )


async def _stop_proxy(root: Path) -> int | None:
    if not root.is_dir():
        return None
    handle = ProxyHandle(root)
    pid = handle.pid()  # only a proxy whose command line names this directory
    if pid is None:
        return None
    handle.stop()
    deadline = time.monotonic() + PROXY_EXIT_TIMEOUT
    while handle.pid() is not None and time.monotonic() < deadline:
        await asyncio.sleep(0.02)  # its ports are free once it has exited
    (root / "routes.json").unlink(missing_ok=True)
    return pid


async def _names(podman: Podman, *args: str, target: str) -> list[str]:
    result = await podman.run(*args, *names.target_filter(target), check=False)
    return sorted(set(result.stdout.split()))


async def _remove_each(
    podman: Podman, kind: Literal["network", "volume"], target: str, kept: list[str]
) -> list[str]:
    removed = []
    for name in await _names(podman, kind, "ls", "-q", target=target):
        result = await podman.run(kind, "rm", "--", name, check=False)  # no -f: never others'
        if result.returncode == 0:
            removed.append(name)
        else:
            kept.append(f"{kind} {name}: {result.stderr.strip() or 'podman refused'}")
    return removed


def _forget_objects(root: Path) -> int:
    if not root.is_dir():
        return 0
    store = ObjectStore(root)
    records = store.all()
    for record in records:
        store.remove(record.ref)
    return len(records)
