"""An async Kubernetes API client for any kind, over lightkube's `AsyncClient`.

Who calls what: `targets.kubernetes` builds one `KubeApi` per target and calls `apply`,
`replace`, `get`, `delete` and `list` with `ApiResource`s it asks `resource` /
`for_group_kind` for (discovery, `clients.kubediscovery`). Objects go in and come out as
plain JSON mappings; lightkube's generic resource classes carry them, so built-in kinds
and custom resources take the same path.

API behaviour relied on (Kubernetes API reference, "Server-Side Apply", "Dry-run"):
* `apply`: PATCH with `Content-Type: application/apply-patch+yaml`, `fieldManager=conveyor`,
  `force=true` only when asked; creates the object when it does not exist. Every write
  sends `fieldValidation=Strict` (unknown or duplicate fields fail, as `kubectl apply`),
  or `Ignore` for `Validate=false`. Writes go through lightkube's authenticated HTTP
  client (its write calls cannot send `fieldValidation`); reads through its AsyncClient.
* `dry_run=True` adds `dryRun=All`: the answer is what would be stored (defaults filled,
  webhooks run), and nothing is stored.
* `replace`: PUT of the whole object (`Replace=true`), POST when it does not exist yet.
* `delete`: DELETE with `propagationPolicy` (Foreground, Background or Orphan).
* `list`: GET of the collection across namespaces with `labelSelector`.
Every failure is mapped by `clients.kubeerrors` (`raise … from exc`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import httpx2
from lightkube import ALL_NS, AsyncClient, SingleConfig
from lightkube.config.client_adapter import AsyncClient as RawClient
from lightkube.config.client_adapter import ConnectionParams
from lightkube.generic_resource import (
    GenericGlobalResource,
    GenericNamespacedResource,
    create_api_info,
)
from lightkube.types import CascadeType

from conveyor.clients.kube_watch import HttpListWatch
from conveyor.clients.kubediscovery import ApiResource, Discovery
from conveyor.clients.kubeerrors import KubeError, Request, from_response, unreachable

FIELD_MANAGER = "conveyor"
APPLY_PATCH = "application/apply-patch+yaml"
JSON = "application/json"
Manifest = dict[str, Any]
_CASCADE = {
    "foreground": CascadeType.FOREGROUND,
    "background": CascadeType.BACKGROUND,
    "orphan": CascadeType.ORPHAN,
}


class KubeApi:
    """One cluster connection: discovery plus create/read/update/delete of any kind."""

    def __init__(
        self, config: SingleConfig, *, field_manager: str = FIELD_MANAGER, timeout: float = 30.0
    ) -> None:
        limits = httpx2.Timeout(timeout)
        self.server = str(config.cluster.server)
        self.namespace = config.namespace
        self.field_manager = field_manager
        self._client = AsyncClient(config, field_manager=field_manager, timeout=limits)
        self._raw = RawClient(config, ConnectionParams(timeout=limits))
        self.discovery = Discovery(self._discover)
        self._models: dict[ApiResource, Any] = {}

    async def close(self) -> None:
        await self._client.close()
        await self._raw.aclose()

    def list_watch(self) -> HttpListWatch:
        """A LIST+WATCH source over this connection's cluster and credentials (its own
        HTTP client, whose reads do not time out: the caller closes it)."""
        return HttpListWatch.from_lightkube(self._client)

    async def resource(self, api_version: str, kind: str) -> ApiResource:
        return await self.discovery.resource(api_version, kind)

    async def for_group_kind(self, group: str, kind: str) -> ApiResource:
        return await self.discovery.for_group_kind(group, kind)

    async def apply(
        self,
        res: ApiResource,
        obj: Manifest,
        *,
        force: bool = False,
        dry_run: bool = False,
        validate: bool = True,
    ) -> Manifest:
        """Server-side apply of `obj` as field manager `conveyor`; the stored object."""
        name, namespace = _identity(res, obj)
        params = self._params(dry_run=dry_run, validate=validate)
        if force:
            params["force"] = "true"
        what = Request(verb="patch", resource=res.plural, name=name, namespace=namespace)
        path = res.path(namespace, name)
        return await self._send("PATCH", path, obj, params, what=what, content_type=APPLY_PATCH)

    async def replace(
        self, res: ApiResource, obj: Manifest, *, dry_run: bool = False, validate: bool = True
    ) -> Manifest:
        """PUT `obj` whole (its resourceVersion, when set, must match); POST when missing."""
        name, namespace = _identity(res, obj)
        params = self._params(dry_run=dry_run, validate=validate)
        what = Request(verb="update", resource=res.plural, name=name, namespace=namespace)
        try:
            path = res.path(namespace, name)
            return await self._send("PUT", path, obj, params, what=what, content_type=JSON)
        except KubeError as exc:
            if exc.status != 404:
                raise
        what = Request(verb="create", resource=res.plural, namespace=namespace)
        path = res.path(namespace)
        return await self._send("POST", path, obj, params, what=what, content_type=JSON)

    async def get(self, res: ApiResource, name: str, namespace: str = "") -> Manifest | None:
        with _mapped(Request(verb="get", resource=res.plural, name=name, namespace=namespace)):
            try:
                out = await self._client.get(self._model(res), name, namespace=_ns(res, namespace))
            except httpx2.HTTPStatusError as exc:
                if exc.response.status_code == 404:
                    return None
                raise
        return _plain(out)

    async def delete(
        self, res: ApiResource, name: str, namespace: str = "", *, propagation: str = "foreground"
    ) -> bool:
        """Delete with the given propagation policy; False when it did not exist."""
        what = Request(verb="delete", resource=res.plural, name=name, namespace=namespace)
        with _mapped(what):
            try:
                await self._client.delete(
                    self._model(res),
                    name,
                    namespace=_ns(res, namespace),
                    cascade=_CASCADE[propagation],
                )
            except httpx2.HTTPStatusError as exc:
                if exc.response.status_code == 404:
                    return False
                raise
        return True

    async def list(
        self,
        res: ApiResource,
        *,
        labels: dict[str, str] | None = None,
        namespace: str | None = None,
    ) -> list[Manifest]:
        """Every object of `res` in `namespace` (None: all namespaces) whose labels match
        `labels`."""
        where = (namespace or ALL_NS) if res.namespaced else None
        with _mapped(Request(verb="list", resource=res.plural, namespace=namespace or "")):
            found = [
                _plain(o)
                async for o in self._client.list(
                    self._model(res), namespace=where, labels=cast(Any, labels)
                )
            ]
        wanted = (labels or {}).items()
        # The selector is the server's job; the check here keeps a lax server honest.
        return [
            o for o in found if wanted <= ((o.get("metadata") or {}).get("labels") or {}).items()
        ]

    def _params(self, *, dry_run: bool, validate: bool) -> dict[str, str]:
        params = {"fieldManager": self.field_manager}
        params["fieldValidation"] = "Strict" if validate else "Ignore"  # kubectl's --validate
        if dry_run:
            params["dryRun"] = "All"
        return params

    async def _send(
        self,
        method: str,
        path: str,
        obj: Manifest,
        params: dict[str, str],
        *,
        what: Request,
        content_type: str,
    ) -> Manifest:
        """One write through lightkube's authenticated HTTP client: lightkube's own write
        calls cannot send `fieldValidation`."""
        with _mapped(what):
            answer = await self._raw.request(
                method,
                path,
                params=params,
                content=json.dumps(obj).encode(),
                headers={"Content-Type": content_type},
            )
            answer.raise_for_status()
        return dict(answer.json())

    async def _discover(self, path: str) -> Any:
        with _mapped(Request(verb="get", resource=path)):
            try:
                answer = await self._raw.get(path)
                answer.raise_for_status()
            except httpx2.HTTPStatusError as exc:
                if exc.response.status_code == 404:
                    return None
                raise
        return answer.json()

    def _model(self, res: ApiResource) -> Any:
        """A lightkube generic class for `res`, kept out of lightkube's global registry (a
        typed model registered there for the same kind would change what comes back)."""
        if res not in self._models:
            base = GenericNamespacedResource if res.namespaced else GenericGlobalResource
            info = create_api_info(res.group, res.version, res.kind, res.plural)
            self._models[res] = type(res.kind, (base,), {"_api_info": info})
        return self._models[res]


def _identity(res: ApiResource, obj: Manifest) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("name") or ""), str(meta.get("namespace") or "") if res.namespaced else ""


def _ns(res: ApiResource, namespace: str) -> str | None:
    return namespace or None if res.namespaced else None


def _labels(obj: Manifest) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def _plain(obj: Any) -> Manifest:
    return dict(obj)


@contextmanager
def _mapped(what: Request) -> Iterator[None]:
    """Library failures → `KubeError`s that say what was asked and what to do."""
    try:
        yield
    except httpx2.HTTPStatusError as exc:
        raise from_response(exc.response.status_code, _body(exc.response), what) from exc
    except httpx2.TransportError as exc:
        raise unreachable(what, exc) from exc


def _body(response: httpx2.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
