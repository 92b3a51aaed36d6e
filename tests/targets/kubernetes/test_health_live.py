"""Health of live objects as the informer caches them, on recorded API-server traffic.

The objects in `recorded/live-objects.yaml` are written by hand in the shape an API server
returns (LIST items without apiVersion/kind, defaulted fields, managedFields, status with
observedGeneration and v1.31 Job conditions); they are served over real HTTP, cached by the
informer, and judged by the built-in health rules. Not captured from a real cluster.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import yaml

from conveyor.clients.kube_watch import HttpListWatch, ResourceKind, Scope
from conveyor.reconcile import health
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest, ObjectRef
from conveyor.targets.kubernetes.informer import Backoff
from conveyor.targets.kubernetes.watch import Watches
from tests.targets.kubernetes.watch_traffic import RecordedApiServer, event, until

LIVE = yaml.safe_load((Path(__file__).parent / "recorded" / "live-objects.yaml").read_text())
PLURALS = {
    "Deployment": "deployments",
    "StatefulSet": "statefulsets",
    "Job": "jobs",
    "PersistentVolumeClaim": "persistentvolumeclaims",
}
SHOP = Scope(namespace="shop")


def resource(entry: dict[str, Any]) -> ResourceKind:
    group, _, version = entry["apiVersion"].rpartition("/")
    return ResourceKind(
        group=group, version=version, kind=entry["kind"], plural=PLURALS[entry["kind"]]
    )


def listing(entry: dict[str, Any], *objects: dict[str, Any]) -> dict[str, Any]:
    """A LIST answer of `entry`'s kind: the list names apiVersion and kind, items do not."""
    return {
        "kind": f"{entry['kind']}List",
        "apiVersion": entry["apiVersion"],
        "metadata": {"resourceVersion": "49000"},
        "items": list(objects),
    }


def watches_on(server: RecordedApiServer) -> tuple[HttpListWatch, Watches]:
    client = httpx.AsyncClient(base_url=server.url, timeout=httpx.Timeout(5, read=None))
    source = HttpListWatch(client)
    return source, Watches(source, backoff=Backoff(initial=0.05))


@pytest.mark.parametrize(
    "entry", LIVE, ids=[f"{e['kind']}-{e['object']['metadata']['name']}" for e in LIVE]
)
def test_cached_live_object_is_judged_by_its_kinds_rule(entry: dict[str, Any]) -> None:
    async def scenario() -> Manifest | None:
        async with RecordedApiServer() as server:
            server.answer_list(listing(entry, entry["object"]))
            source, watches = watches_on(server)
            informer = watches.acquire(resource(entry), SHOP)
            await informer.synced.wait()
            cached = informer.get("shop", entry["object"]["metadata"]["name"])
            await watches.close()
            await source.aclose()
            return cached

    cached = asyncio.run(scenario())
    assert cached is not None
    assert health.assess(cached).status == HealthStatus(entry["health"])


def test_a_health_wait_ends_on_the_status_update_that_makes_the_object_healthy() -> None:
    """The Deployment's controller observes generation 2 and reports its rollout done:
    the wait resolves from that MODIFIED event, with no polling in between."""
    entry = LIVE[0]
    observed: dict[str, Any] = {**entry["object"], "apiVersion": "apps/v1", "kind": "Deployment"}
    observed["metadata"] = {**observed["metadata"], "resourceVersion": "49100"}
    observed["status"] = {**observed["status"], "observedGeneration": 2}
    ref = ObjectRef(group="apps", kind="Deployment", namespace="shop", name="web")

    def healthy(obj: Manifest | None) -> bool:
        return health.assess(obj).status == HealthStatus.HEALTHY

    async def scenario() -> None:
        async with RecordedApiServer() as server:
            server.answer_list(listing(entry, entry["object"]))
            stream = server.open_watch()
            source, watches = watches_on(server)
            watches.acquire(resource(entry), SHOP)
            waiting = asyncio.create_task(watches.wait_for(ref, healthy, timeout=5))
            await until(lambda: len(server.watches()) == 1)
            assert not waiting.done()
            stream.send(event("MODIFIED", observed))
            done = await waiting
            assert done is not None and done["metadata"]["resourceVersion"] == "49100"
            assert len(server.lists()) == 1  # resolved by the watch event, not by re-reading
            await watches.close()
            await source.aclose()

    asyncio.run(scenario())
