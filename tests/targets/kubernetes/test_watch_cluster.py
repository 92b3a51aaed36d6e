"""Watches and drift against a real Kubernetes cluster, when `KUBECONFIG` names one.

Skipped here: no API server can run on these machines. Where it runs (kind, k3s, a cloud
cluster), it creates a throwaway namespace, caches its ConfigMaps through an informer and
checks against the real API server what the emulator and the recorded traffic stand in
for: numeric resourceVersions that advance, edits and deletions by hand coming out as
drift events naming the app, and a wait resolved by a watch event. The namespace is
deleted afterwards.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest
from lightkube import AsyncClient
from lightkube.config.kubeconfig import KubeConfig
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.core_v1 import ConfigMap, Namespace

from conveyor.clients.kube_watch import HttpListWatch, Scope
from conveyor.targets.base import EventKind, ObjectRef, TargetEvent
from conveyor.targets.kubernetes.watch import Watches
from conveyor.targets.kubernetes.watch_events import DriftFeed
from tests.targets.kubernetes.watch_traffic import CONFIGMAPS

pytestmark = pytest.mark.skipif(
    not os.environ.get("KUBECONFIG"),
    reason="needs a real cluster: set KUBECONFIG to one (kind, k3s, a cloud cluster)",
)


async def read(feed: DriftFeed, into: asyncio.Queue[TargetEvent]) -> None:
    events: AsyncIterator[TargetEvent] = feed.events()
    async for item in events:
        into.put_nowait(item)


def test_a_real_clusters_watch_reports_edits_and_deletions_as_drift() -> None:
    namespace = f"conveyor-watch-{uuid.uuid4().hex[:8]}"
    labels = {"conveyor.dev/app": "e2e"}

    async def scenario() -> None:
        client = AsyncClient(config=KubeConfig.from_env())
        await client.create(Namespace(metadata=ObjectMeta(name=namespace)))
        source = HttpListWatch.from_lightkube(client)
        feed = DriftFeed()
        watches = Watches(source, on_start=feed.attach)
        queue: asyncio.Queue[TargetEvent] = asyncio.Queue()
        reader = asyncio.create_task(read(feed, queue))
        try:
            meta = ObjectMeta(name="settings", namespace=namespace, labels=labels)
            await client.create(ConfigMap(metadata=meta, data={"k": "1"}))
            scope = Scope(namespace=namespace, label_selector="conveyor.dev/app")
            informer = watches.acquire(CONFIGMAPS, scope)
            await asyncio.wait_for(informer.synced.wait(), 10)
            listed = int(informer.resource_version)
            ref = ObjectRef(group="", kind="ConfigMap", namespace=namespace, name="settings")
            edited = asyncio.create_task(
                watches.wait_for(ref, lambda o: o is not None and o["data"]["k"] == "2", 10)
            )
            await client.patch(ConfigMap, "settings", {"data": {"k": "2"}}, namespace=namespace)
            assert await edited is not None
            event = await asyncio.wait_for(queue.get(), 5)
            assert event == TargetEvent(ref=ref, kind=EventKind.CHANGED, app="e2e")
            assert int(informer.resource_version) > listed
            await client.delete(ConfigMap, "settings", namespace=namespace)
            event = await asyncio.wait_for(queue.get(), 5)
            assert event == TargetEvent(ref=ref, kind=EventKind.DELETED, app="e2e")
            assert max(feed.latencies) < 0.2
        finally:
            reader.cancel()
            await watches.close()
            await source.aclose()
            await client.delete(Namespace, namespace)
            await client.close()

    asyncio.run(scenario())
