"""kmock's KubernetesEmulator for the runner pool's tests, with the one piece of API-server
behaviour the pool reads that the emulator lacks: a created object gets a `metadata.uid`
(a real API server always assigns one; the emulator does no defaulting). Also the kubelet's
part the tests play: `set_phase` writes a pod's `status.phase`. Used by `test_kubepool`."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import aiohttp.web
from kmock import KubernetesEmulator, Request, ResourceInfo, Server, action, resource
from lightkube import AsyncClient, KubeConfig
from lightkube.config.models import Cluster, User

__all__ = [
    "PODS",
    "SECRETS",
    "UidEmulator",
    "cluster_in_thread",
    "emulated_cluster",
    "objects",
    "set_phase",
]

PODS = resource("", "v1", "pods")
SECRETS = resource("", "v1", "secrets")


class UidEmulator(KubernetesEmulator):
    """The emulator, assigning `metadata.uid` on create as an API server does."""

    async def _handle(self, request: Request) -> aiohttp.web.StreamResponse:
        if request.action == action.CREATE and isinstance(request.data, dict):
            request.data.setdefault("metadata", {}).setdefault("uid", str(uuid.uuid4()))
        return await super()._handle(request)


def new_emulator() -> UidEmulator:
    emulator = UidEmulator()
    # lists of a kind with no object yet answer 404 unless the kind is declared
    emulator.resources[PODS] = ResourceInfo(kind="Pod", namespaced=True)
    emulator.resources[SECRETS] = ResourceInfo(kind="Secret", namespaced=True)
    return emulator


@contextmanager
def cluster_in_thread() -> Iterator[tuple[UidEmulator, str]]:
    """An emulator served from its own thread and event loop (for a server in another
    process): the emulator and its URL."""
    emulator = new_emulator()
    ready, done = threading.Event(), threading.Event()
    urls: list[str] = []

    async def serve() -> None:
        async with Server(emulator):
            urls.append(str(emulator.url).rstrip("/"))
            ready.set()
            while not done.is_set():
                await asyncio.sleep(0.05)

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the emulator did not start"
    try:
        yield emulator, urls[0]
    finally:
        done.set()
        thread.join(10)


@asynccontextmanager
async def emulated_cluster() -> AsyncIterator[tuple[UidEmulator, AsyncClient]]:
    """A running emulator and a lightkube client for it (bearer token, plain HTTP)."""
    emulator = new_emulator()
    async with Server(emulator):
        config = KubeConfig.from_one(
            cluster=Cluster(server=str(emulator.url)), user=User(token="test")
        )
        client = AsyncClient(config)
        try:
            yield emulator, client
        finally:
            await client.close()


def objects(emulator: UidEmulator, kind: Any, namespace: str) -> dict[str, dict[str, Any]]:
    """The live objects of `kind` (PODS or SECRETS) in `namespace`, by name."""
    return {
        name: dict(obj.raw)
        for (res, ns, name), obj in emulator.objects.items()
        if res == kind and ns == namespace and not obj.deleted
    }


def set_phase(emulator: UidEmulator, namespace: str, name: str, phase: str) -> None:
    """What the kubelet would report: the pod's container ended (Succeeded or Failed)."""
    set_status(emulator, namespace, name, {"phase": phase})


def set_status(emulator: UidEmulator, namespace: str, name: str, status: dict[str, Any]) -> None:
    """The pod's `status` as the kubelet would write it (shape from the Pod API reference).
    A pod already deleted gets none: kmock's patch would bring it back, which no kubelet
    does (the pool may delete a pod as soon as its job ends, before its phase changes)."""
    pod = emulator.objects[PODS, namespace, name]
    if not pod.deleted:
        pod.patch({"status": status})
