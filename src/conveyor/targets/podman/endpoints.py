"""Each exposed Service's ready endpoints, published to the proxy as its routes.

A Service routes to the replicas its selector matches, in its namespace, that the replica
table counts ready (running, probed ready, addressed, not draining, sidecars up), on the
target port resolved per replica. Built by `controller.Controller`; `publish` runs every
tick, on each removal (`removal.Removals`) and after `target.PodmanTarget.delete`.
"""

from __future__ import annotations

from collections.abc import Mapping

from conveyor.targets.podman.replicas import ReplicaTable
from conveyor.targets.podman.routing import ProxyHandle, Route
from conveyor.targets.podman.services import exposed_ports, resolve_port
from conveyor.targets.podman.store import ObjectStore


class Endpoints:
    """The routes of the stored Services over the replica table."""

    def __init__(
        self, *, table: ReplicaTable, store: ObjectStore, proxy: ProxyHandle, bind_address: str
    ) -> None:
        self.table = table
        self.store = store
        self.proxy = proxy
        self.bind_address = bind_address

    async def publish(self) -> None:
        routes: list[Route] = []
        for record in self.store.all("Service"):
            for listen_port, target_port in exposed_ports(record.obj):
                backends = self._backends(record.obj, target_port)
                routes.append(
                    Route(
                        bind=self.bind_address, port=listen_port, backends=tuple(sorted(backends))
                    )
                )
        await self.proxy.publish(tuple(routes))

    def _backends(self, service: Mapping[str, object], target_port: object) -> set[tuple[str, int]]:
        meta = service.get("metadata") or {}
        spec = service.get("spec") or {}
        assert isinstance(meta, Mapping) and isinstance(spec, Mapping)
        namespace = str(meta.get("namespace") or "default")
        selector = spec.get("selector") or {}
        assert isinstance(selector, Mapping)
        out: set[tuple[str, int]] = set()
        for name, tracked in self.table.tracked.items():
            labels = tracked.replica.labels
            if tracked.replica.namespace != namespace or not selector:
                continue
            if any(labels.get(k) != v for k, v in selector.items()):
                continue
            if not self.table.is_ready(name):
                continue
            port = resolve_port(target_port, labels)
            if port:
                out.add((tracked.ip, port))
        return out
