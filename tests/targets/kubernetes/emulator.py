"""kmock's KubernetesEmulator, extended where a real API server does more, for Conveyor's
Kubernetes client and target tests (issue 16).

What kmock 0.8 gives: discovery (its bundled built-in resources), create/get/list/patch/
delete, watches, request history. What it lacks and this module adds, each written from
the Kubernetes API documentation (NOT checked against a real server here):

* server-side apply creates a missing object (PATCH `application/apply-patch+yaml`);
  kmock answers 404. The merge stays kmock's plain dict merge: no field ownership.
* `dryRun=All` stores nothing and answers with what would be stored; kmock stores it.
* PUT of a named object replaces it, and answers 404 NotFound when there is none (kmock
  does not route PUT).
* every stored write gets `metadata.uid`, a `resourceVersion` that grows, and
  `creationTimestamp`; a Deployment gets `spec.replicas: 1` and its pod template
  `schedulerName: default-scheduler` when unset (defaults the real server fills; no
  target normalisation rule covers the second, so only a dry-run diff ignores it).
* a CustomResourceDefinition that is stored is served by discovery (the real
  apiextensions controller "establishes" it).
* `/api/v1/namespaces/<name>` is the Namespace object `<name>` (kmock reads the path as
  a namespace with no resource), and `/api/v1/namespaces` lists them with a label
  selector (kmock answers 500).
* `fail(...)`: the next matching request answers with a recorded `Status` body (403, 409,
  422 ...), written in the shape the API reference gives.

`started()` runs it on 127.0.0.1 and gives a kubeconfig file pointing at it.
"""

from __future__ import annotations

import copy
import gzip
import importlib.resources
import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp.web
import attrs
import kmock
import yaml
from typing_extensions import override

APPLY_PATCH = "application/apply-patch+yaml"


@dataclass(frozen=True)
class Scripted:
    method: str
    path_part: str
    status: int
    body: dict[str, Any]


class ApiServerEmulator(kmock.KubernetesEmulator):  # type: ignore[misc]
    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        # kmock's bundled built-in resources (a k3s cluster's discovery); read here because
        # its own `load_bundled` uses an importlib call that warns on Python 3.11.
        bundled = importlib.resources.files("kmock") / "_internal" / "resources.json.gz"
        self.resources.load_data(gzip.decompress(bundled.read_bytes()))
        self.scripted: list[Scripted] = []
        self.version = 0

    def fail(self, method: str, path_part: str, status: int, body: dict[str, Any]) -> None:
        """The next `method` request whose path contains `path_part` answers `body`."""
        self.scripted.append(Scripted(method.upper(), path_part, status, body))

    def stored(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """The stored object (`resource` as `apps/v1/deployments`), None if absent or gone."""
        try:
            obj = self.objects[resource, namespace, name]
        except KeyError:
            return None
        return None if obj.deleted else dict(obj.raw)

    def history(self) -> list[kmock.Request]:
        return list(self)

    @override
    async def _handle(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        request, namespace_object = _namespace_object(request)
        if namespace_object and request.method.value in ("GET", "DELETE"):
            return await self._namespace(request)
        if request.url.path == "/api/v1/namespaces" and request.method.value == "GET":
            return self._namespaces(request)
        for item in self.scripted:
            if item.method == request.method.value and item.path_part in request.url.path:
                self.scripted.remove(item)
                return aiohttp.web.json_response(item.body, status=item.status)
        if request.resource is None or request.method.value not in ("PATCH", "PUT", "POST"):
            return await super()._handle(request)
        key = self._key(request)
        current = self._current(key)
        if request.method.value == "PATCH" and current is None and not _is_apply(request):
            return await super()._handle(request)
        if request.method.value == "PUT" and current is None:  # an update needs an object
            return aiohttp.web.json_response(_not_found(key), status=404)
        result = self._result(request, current)
        if request.params.get("dryRun") == "All":
            return aiohttp.web.json_response(result)
        return await self._store(request, key, current, result)

    async def _namespace(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        key = self._key(request)
        current = self._current(key)
        if current is None:
            return aiohttp.web.json_response(_not_found(key), status=404)
        if request.method.value == "DELETE":
            async with self._lock:
                self.objects[key].delete()
        return aiohttp.web.json_response(current)

    def _namespaces(self, request: kmock.Request) -> aiohttp.web.StreamResponse:
        """The Namespace list (kmock 0.8 fails on this cluster-wide path)."""
        wanted = dict(
            pair.split("=", 1)
            for pair in request.params.get("labelSelector", "").split(",")
            if pair
        )
        found = [
            dict(obj.raw)
            for (res, _, _), obj in self.objects.items()
            if res.plural == "namespaces" and not obj.deleted
        ]
        items = [o for o in found if wanted.items() <= _labels(o).items()]
        doc = {"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": items}
        return aiohttp.web.json_response(doc)

    def _key(self, request: kmock.Request) -> tuple[Any, Any, Any]:
        meta = (request.data or {}).get("metadata") or {}
        namespace = request.namespace or meta.get("namespace")
        return (request.resource, namespace, request.name or meta.get("name"))

    def _current(self, key: tuple[Any, Any, Any]) -> dict[str, Any] | None:
        if key not in self.objects or self.objects[key].deleted:
            return None
        return copy.deepcopy(dict(self.objects[key].raw))

    def _result(self, request: kmock.Request, current: dict[str, Any] | None) -> dict[str, Any]:
        data = copy.deepcopy(request.data)
        if request.method.value == "PATCH" and current is not None:
            data = _merge(current, data)
        meta = data.setdefault("metadata", {})
        old = (current or {}).get("metadata") or {}
        meta["uid"] = old.get("uid") or str(uuid.uuid4())
        meta["creationTimestamp"] = old.get("creationTimestamp") or "2026-01-01T00:00:00Z"
        meta["resourceVersion"] = str(self.version + 1)
        if data.get("kind") == "Deployment":
            spec = data.setdefault("spec", {})
            spec.setdefault("replicas", 1)
            pod = spec.setdefault("template", {}).setdefault("spec", {})
            pod.setdefault("schedulerName", "default-scheduler")
        return data

    async def _store(
        self, request: kmock.Request, key: Any, current: Any, result: dict[str, Any]
    ) -> aiohttp.web.StreamResponse:
        if request.method.value == "POST" and current is not None:
            return await super()._handle(request)  # kmock answers 409 AlreadyExists
        self.version += 1
        async with self._lock:
            if key in self.objects:
                self.objects[key].history.append(result)
            else:
                self.objects[key] = result
            event = "ADDED" if current is None else "MODIFIED"
            await self._buses[request.resource].put({"type": event, "object": result})
        if result.get("kind") == "CustomResourceDefinition":
            self._establish(result)
        return aiohttp.web.json_response(result, status=201 if current is None else 200)

    def _establish(self, crd: dict[str, Any]) -> None:
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        for version in spec.get("versions") or []:
            self.resources[f"{spec['group']}/{version['name']}/{names['plural']}"] = {
                "kind": names["kind"],
                "namespaced": spec.get("scope") == "Namespaced",
                "verbs": ["get", "list", "watch", "create", "patch", "update", "delete"],
            }


_NAMESPACE_PATH = re.compile(r"^/api/v1/namespaces/(?P<name>[^/]+)$")
_ACTIONS = {"GET": "FETCH", "DELETE": "DELETE", "PATCH": "UPDATE", "PUT": "UPDATE"}


def _namespace_object(request: kmock.Request) -> tuple[kmock.Request, bool]:
    """kmock reads `/api/v1/namespaces/<name>` as "namespace <name>, no resource"; the
    real API serves the Namespace object `<name>` there."""
    match = _NAMESPACE_PATH.match(request.url.path)
    if match is None or request.method.value not in _ACTIONS or "watch" in request.params:
        return request, False
    fixed = attrs.evolve(
        request,
        resource=kmock.resource("", "v1", "namespaces"),
        namespace=None,
        name=match["name"],
        action=kmock.action(_ACTIONS[request.method.value]),
    )
    return fixed, True


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def _not_found(key: tuple[Any, Any, Any]) -> dict[str, Any]:
    resource, _, name = key
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'{resource.plural} "{name}" not found',
        "reason": "NotFound",
        "details": {"name": name, "kind": resource.plural},
        "code": 404,
    }


def _is_apply(request: kmock.Request) -> bool:
    return str(request.headers.get("Content-Type", "")).startswith(APPLY_PATCH)


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = _merge(base.get(k), v) if v is not None else None
        return {k: v for k, v in out.items() if v is not None}
    return copy.deepcopy(patch)


def kubeconfig_for(url: str, path: Path, *, context: str = "emulator") -> Path:
    """A kubeconfig file whose `context` points at `url` with a bearer token."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "clusters": [{"name": "emu", "cluster": {"server": url}}],
        "users": [{"name": "tester", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": context, "context": {"cluster": "emu", "user": "tester"}}],
    }
    path.write_text(yaml.safe_dump(doc))
    return path


@asynccontextmanager
async def started(tmp: Path) -> AsyncIterator[tuple[ApiServerEmulator, Path]]:
    """The emulator serving on 127.0.0.1, and a kubeconfig file for it."""
    emulator = ApiServerEmulator()
    async with emulator, kmock.Server(emulator) as server:
        yield emulator, kubeconfig_for(str(server.url).rstrip("/"), tmp / "kubeconfig")


def body(request: kmock.Request) -> Any:
    return json.loads(request.body) if request.body else None
