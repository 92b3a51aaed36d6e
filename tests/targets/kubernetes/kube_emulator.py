"""kmock's KubernetesEmulator on a real port, and the watch client pointed at it.

The emulator (kmock 0.8) serves LIST, WATCH and CRUD for its bundled built-in resources:
what the watch tests rely on from it is that a change made through its HTTP API is
streamed to open watches as ADDED / MODIFIED / DELETED events. It gives objects no
resourceVersion and replays every object as ADDED when a watch starts (whatever
resourceVersion was asked for); the informer treats a replay of a known object as no
change, which these tests exercise too.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import AsyncIterator
from typing import Any

import kmock
import lightkube
from lightkube.config.kubeconfig import KubeConfig
from lightkube.config.models import Cluster, User

from conveyor.clients.kube_watch import HttpListWatch, ResourceKind

DEPLOYMENTS = ResourceKind(group="apps", version="v1", kind="Deployment", plural="deployments")
JOBS = ResourceKind(group="batch", version="v1", kind="Job", plural="jobs")
CONFIGMAPS = ResourceKind(group="", version="v1", kind="ConfigMap", plural="configmaps")


@contextlib.asynccontextmanager
async def emulator() -> AsyncIterator[tuple[kmock.KubernetesEmulator, HttpListWatch]]:
    """A running emulator with the built-in resources, and a `HttpListWatch` built from a
    lightkube client configured for it (a bearer token, as a kubeconfig would give)."""
    async with kmock.KubernetesEmulator() as emu, kmock.Server(emu):
        with warnings.catch_warnings():  # kmock 0.8 reads its bundle with a deprecated call
            warnings.simplefilter("ignore", DeprecationWarning)
            emu.resources.load_bundled()
        config = KubeConfig.from_one(cluster=Cluster(server=str(emu.url)), user=User(token="t"))
        client = lightkube.AsyncClient(config=config)
        source = HttpListWatch.from_lightkube(client)
        try:
            yield emu, source
        finally:
            await source.aclose()
            await client.close()


def url(kind: ResourceKind, namespace: str, name: str = "") -> str:
    return kind.path(namespace) + (f"/{name}" if name else "")


async def create(source: HttpListWatch, kind: ResourceKind, obj: dict[str, Any]) -> None:
    resp = await source.http.post(url(kind, obj["metadata"]["namespace"]), json=obj)
    assert resp.status_code in (200, 201), resp.text


async def patch(
    source: HttpListWatch, kind: ResourceKind, namespace: str, name: str, body: dict[str, Any]
) -> None:
    headers = {"Content-Type": "application/merge-patch+json"}
    resp = await source.http.patch(url(kind, namespace, name), json=body, headers=headers)
    assert resp.status_code == 200, resp.text


async def delete(source: HttpListWatch, kind: ResourceKind, namespace: str, name: str) -> None:
    resp = await source.http.delete(url(kind, namespace, name))
    assert resp.status_code == 200, resp.text


def deployment(name: str, *, app: str = "shop", replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "generation": 1,
            "labels": {"conveyor.dev/app": app},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": "web:1"}]},
            },
        },
    }
