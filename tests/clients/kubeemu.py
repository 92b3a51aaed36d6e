"""kmock's KubernetesEmulator, plus the resourceVersion rules it lacks, and lightkube clients.

kmock 0.8's emulator keeps objects and serves CRUD, but assigns no `metadata.resourceVersion`
and checks none: every write wins. `VersionedEmulator` adds what a real API server does
for optimistic concurrency, written here from the Kubernetes API documentation (not taken
from a server): each create or update stamps a new resourceVersion, and an update whose
body carries a resourceVersion other than the stored one is refused with 409 Conflict and
a `Status` body of the shape the API server sends; a DELETE whose DeleteOptions carry
`preconditions.resourceVersion` other than the stored one is refused the same way (the API
server answers 409 Conflict to a failed delete precondition).

Used by tests/clients/test_kubelease.py and the sharding tests (tests/reconcile/test_shard_*.py,
tests/app/test_shard_routes.py).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp.web
import kmock
from lightkube import AsyncClient, KubeConfig
from lightkube.config.kubeconfig import Cluster, User

WRITES = (kmock.action.CREATE, kmock.action.UPDATE)


class VersionedEmulator(kmock.KubernetesEmulator):  # type: ignore[misc]
    """The emulator with resourceVersion stamping and update preconditions."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._versions = itertools.count(1)
        self._writes = asyncio.Lock()
        self.conflicts = 0
        self.preconditions: list[str | None] = []  # the resourceVersion each update carried

    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        if request.resource is not None and request.action == kmock.action.DELETE:
            async with self._writes:
                self._check(request, (request.data or {}).get("preconditions") or {})
                return await super()._handle(request)
        if request.resource is None or request.action not in WRITES:
            return await super()._handle(request)
        async with self._writes:  # the check and the write are one step, as in etcd
            if request.action == kmock.action.UPDATE:
                self._precondition(request)
            request.data.setdefault("metadata", {})["resourceVersion"] = str(next(self._versions))
            return await super()._handle(request)

    def _precondition(self, request: kmock.Request) -> None:
        carried = (request.data or {}).get("metadata", {})
        self.preconditions.append(carried.get("resourceVersion"))
        self._check(request, carried)

    def _check(self, request: kmock.Request, carried: dict[str, Any]) -> None:
        """409 when `carried` names a resourceVersion other than the stored object's."""
        wanted = carried.get("resourceVersion")
        key = (request.resource, request.namespace, request.name)
        if wanted is None or key not in self.objects or self.objects[key].deleted:
            return
        stored = self.objects[key].get("metadata", {}).get("resourceVersion")
        if wanted != stored:
            self.conflicts += 1
            plural, group = request.resource.plural, request.resource.group
            raise kmock.KubernetesError(
                status=409,
                reason="Conflict",
                message=f'Operation cannot be fulfilled on {plural}.{group} "{request.name}": '
                "the object has been modified; please apply your changes to the latest "
                "version and try again",
                details={"name": request.name, "group": group, "kind": plural},
            )


@dataclass
class Emulated:
    """A running emulator, its URL, and the lightkube clients made for it (closed at exit)."""

    emulator: Any
    url: str
    clients: list[AsyncClient] = field(default_factory=list)

    def client(self, namespace: str = "conveyor") -> AsyncClient:
        """A lightkube client of the emulator (a token is needed, never checked)."""
        config = KubeConfig.from_one(cluster=Cluster(server=self.url), user=User(token="test"))
        made = AsyncClient(config=config, namespace=namespace)
        self.clients.append(made)
        return made


@asynccontextmanager
async def emulated(cls: Any = VersionedEmulator) -> AsyncIterator[Emulated]:
    """A running emulator of class `cls`."""
    async with cls() as emulator, kmock.Server(emulator) as server:
        emu = Emulated(emulator, str(server.url))
        try:
            yield emu
        finally:
            for made in emu.clients:
                await made.close()
