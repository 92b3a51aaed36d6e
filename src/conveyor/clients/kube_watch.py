"""LIST and WATCH of one Kubernetes resource, on the API server's wire protocol.

`ListWatch` is the small Protocol the informer (`conveyor.targets.kubernetes.informer`)
needs; `HttpListWatch` implements it over an httpx client that lightkube configured (base
URL, TLS, credentials from a kubeconfig or the in-cluster service account:
`HttpListWatch.from_lightkube`). The watch is read here rather than through lightkube's
`AsyncClient.watch` because that call neither asks for bookmarks (`allowWatchBookmarks`)
nor lets its caller re-list on `410 Gone`: it restarts the watch without a
resourceVersion, which replays the current objects but loses deletions made meanwhile.

The API contract followed (Kubernetes API concepts, "Efficient detection of changes"):
a LIST answers `{"metadata": {"resourceVersion": …}, "items": […]}`; a GET with
`watch=true&resourceVersion=RV` streams newline-delimited JSON events
`{"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": …}` that follow RV; a BOOKMARK's
object carries only `metadata.resourceVersion`; a resourceVersion too old for the server's
history is refused with `410 Gone`, either as the HTTP status or as an ERROR event whose
object is a `Status` with `code: 410`. Any other failure is transient (`WatchFailed`).

LISTs are paged as client-go's pager pages them ("Retrieving large results sets in
chunks"): `limit=PAGE_SIZE` (500), then `continue=<metadata.continue of the page>` with the
same selector until a page has no `continue`. Every page comes from one snapshot, and the
resourceVersion to watch from is the last page's `metadata.resourceVersion`. A continue
token the server no longer honours (its snapshot was compacted) is refused with `410
Gone`; the list then starts again from the start as one full LIST without `limit` (client-go's
`FullListIfExpired`), so a large kind still gets listed under constant churn.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import httpx2 as httpx
from lightkube import AsyncClient
from lightkube.config.client_adapter import AsyncClient as adapter_client
from lightkube.config.client_adapter import ConnectionParams

from conveyor.clients.errors import ClientError
from conveyor.core.errors import TransientError

#: Seconds the server keeps one watch open before it ends it (the client then resumes).
WATCH_SECONDS = 300
#: Objects per LIST page (client-go's pager default).
PAGE_SIZE = 500

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResourceKind:
    """One API resource: `group` "" is the core group (`/api/v1`)."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None) -> str:
        """The collection's URL path, in `namespace` or across all namespaces (None)."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{root}/namespaces/{namespace}/{self.plural}"
        return f"{root}/{self.plural}"

    def __str__(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


class EventType(StrEnum):
    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchEvent:
    """One event off the stream; `received` is `time.monotonic()` when its line was read."""

    type: EventType
    object: dict[str, Any]
    received: float = field(default_factory=time.monotonic)

    @property
    def resource_version(self) -> str:
        return str((self.object.get("metadata") or {}).get("resourceVersion") or "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Listing:
    """A LIST's objects and the resourceVersion to watch from."""

    items: tuple[dict[str, Any], ...]
    resource_version: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Scope:
    """What one informer lists and watches: a namespace (None: all) and a label selector."""

    namespace: str | None = None
    label_selector: str = ""


class WatchError(ClientError):
    """LIST or WATCH failed."""


class WatchGone(WatchError):
    """410 Gone: the resourceVersion is older than the server's history; LIST again."""


class WatchFailed(WatchError, TransientError):
    """The server could not be reached or answered an error; retry with backoff."""


class ListWatch(Protocol):
    """What an informer needs from a Kubernetes client."""

    async def list(self, kind: ResourceKind, scope: Scope) -> Listing: ...

    def watch(
        self, kind: ResourceKind, scope: Scope, *, resource_version: str
    ) -> AsyncGenerator[WatchEvent, None]:
        """Events after `resource_version` ("" : the current objects as ADDED, then
        changes); ERROR events raise `WatchGone` (410) or `WatchFailed`."""
        ...


class HttpListWatch:
    """`ListWatch` over an httpx client pointed at an API server."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        watch_seconds: int = WATCH_SECONDS,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.http = http
        self.watch_seconds = watch_seconds
        self.page_size = page_size

    @classmethod
    def from_lightkube(cls, client: AsyncClient, **kwargs: Any) -> HttpListWatch:
        """Reuse the cluster, TLS and credentials of a lightkube client's configuration;
        reads never time out on their own (the server ends a watch after `watch_seconds`)."""
        params = ConnectionParams(timeout=httpx.Timeout(10.0, read=None))
        return cls(adapter_client(client.config, params), **kwargs)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def list(self, kind: ResourceKind, scope: Scope) -> Listing:
        """Every object, page by page; one full LIST when a continue token expired."""
        items: list[dict[str, Any]] = []
        params = {**_selector(scope), "limit": str(self.page_size)}
        while True:
            try:
                body = await self._page(kind, scope, params)
            except WatchGone as exc:
                if "continue" not in params:
                    raise
                log.info("%s: the continue token expired; listing %s again in full", exc, kind)
                body = await self._page(kind, scope, _selector(scope))
                return _listing(body, [])
            token = str((body.get("metadata") or {}).get("continue") or "")
            if not token:
                return _listing(body, items)
            items.extend(dict(item) for item in body.get("items") or ())
            params["continue"] = token

    async def _page(
        self, kind: ResourceKind, scope: Scope, params: dict[str, str]
    ) -> dict[str, Any]:
        try:
            resp = await self.http.get(kind.path(scope.namespace), params=params)
        except httpx.HTTPError as exc:
            raise WatchFailed(f"list {kind}: {exc}") from exc
        return _checked(resp, kind, "list")

    async def watch(
        self, kind: ResourceKind, scope: Scope, *, resource_version: str
    ) -> AsyncGenerator[WatchEvent, None]:
        params = {
            **_selector(scope),
            "watch": "true",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(self.watch_seconds),
        }
        if resource_version:
            params["resourceVersion"] = resource_version
        try:
            async with self.http.stream("GET", kind.path(scope.namespace), params=params) as resp:
                if resp.status_code != 200:
                    await resp.aread()
                    _checked(resp, kind, "watch")
                async for line in resp.aiter_lines():
                    if line.strip():
                        yield parse_event(line, kind)
        except httpx.HTTPError as exc:
            raise WatchFailed(f"watch {kind}: {exc}") from exc


def parse_event(line: str, kind: ResourceKind) -> WatchEvent:
    """One line of a watch stream; ERROR events raise (`WatchGone` for code 410)."""
    try:
        raw = json.loads(line)
        kind_of_event, obj = str(raw["type"]), dict(raw["object"])
    except (ValueError, KeyError, TypeError) as exc:
        raise WatchFailed(f"watch {kind}: unreadable event {line[:120]!r}") from exc
    if kind_of_event == "ERROR":
        raise _status_error(obj, kind, "watch")
    try:
        return WatchEvent(type=EventType(kind_of_event), object=obj)
    except ValueError as exc:
        raise WatchFailed(f"watch {kind}: unknown event type {kind_of_event!r}") from exc


def _listing(last: dict[str, Any], before: list[dict[str, Any]]) -> Listing:
    """The objects of the pages `before` plus the `last` page's, and the last page's
    resourceVersion (the one to watch from)."""
    items = (*before, *(dict(item) for item in last.get("items") or ()))
    version = str((last.get("metadata") or {}).get("resourceVersion") or "")
    return Listing(items=items, resource_version=version)


def _selector(scope: Scope) -> dict[str, str]:
    return {"labelSelector": scope.label_selector} if scope.label_selector else {}


def _checked(resp: httpx.Response, kind: ResourceKind, verb: str) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code == 410 or resp.status_code >= 300:
        status = body if isinstance(body, dict) else {}
        raise _status_error({"code": resp.status_code, **status}, kind, verb)
    if not isinstance(body, dict):
        raise WatchFailed(
            f"{verb} {kind}: the server answered {type(body).__name__}, not an object"
        )
    return body


def _status_error(status: Mapping[str, Any], kind: ResourceKind, verb: str) -> WatchError:
    code = int(status.get("code") or 0)
    message = str(status.get("message") or status.get("reason") or "no message")
    if code == 410:
        return WatchGone(f"{verb} {kind}: 410 Gone ({message}); listing again")
    return WatchFailed(f"{verb} {kind}: {code} {message}")
