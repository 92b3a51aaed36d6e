"""Recorded API-server traffic for the watch tests, served by a small real HTTP server.

kmock's KubernetesEmulator streams watches but gives objects no resourceVersion, ignores
the `resourceVersion` a watch starts from (it replays every object as ADDED), sends no
BOOKMARK events and never answers `410 Gone`. Those behaviours are tested here against
responses written by hand in the wire format the Kubernetes API documentation gives
("API concepts": efficient detection of changes, watch bookmarks, 410 Gone): LIST bodies
(`kind: ConfigMapList`, `metadata.resourceVersion`, items without `apiVersion`/`kind`),
newline-delimited watch events, ERROR events and HTTP errors carrying a `Status`. This is
recorded traffic, not a real API server: nothing here was captured from a cluster.

A test queues, in order, what the server answers to each LIST (`answer_list`) and to each
WATCH (`open_watch` returns a `Stream` the test writes lines to and closes, or
`refuse_watch` answers an HTTP error). Every request is recorded in `requests`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from conveyor.clients.kube_watch import ResourceKind, Scope

CM = "/api/v1/namespaces/shop/configmaps"
CONFIGMAPS = ResourceKind(group="", version="v1", kind="ConfigMap", plural="configmaps")
SHOP = Scope(namespace="shop")


async def until(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for `check` to hold (state read from the recording server or the informer)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def configmap(name: str, version: str, *, data: str = "v", app: str = "shop") -> dict[str, Any]:
    """A ConfigMap as the API server shows it in watch events (with apiVersion/kind)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": f"uid-{name}",
            "resourceVersion": version,
            "creationTimestamp": "2026-12-06T10:00:00Z",
            "labels": {"conveyor.dev/app": app},
        },
        "data": {"key": data},
    }


def list_body(version: str, *objects: dict[str, Any]) -> dict[str, Any]:
    """A LIST answer: its items carry neither apiVersion nor kind (the list does)."""
    items = [{k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in objects]
    return {
        "kind": "ConfigMapList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": version},
        "items": items,
    }


def event(kind: str, obj: dict[str, Any]) -> str:
    return json.dumps({"type": kind, "object": obj})


def bookmark(version: str) -> str:
    return event(
        "BOOKMARK",
        {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"resourceVersion": version}},
    )


def expired(version: str, current: str) -> dict[str, Any]:
    """The `Status` a server sends when a watch starts from a compacted resourceVersion."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"too old resource version: {version} ({current})",
        "reason": "Expired",
        "code": 410,
    }


@dataclass
class Stream:
    """One watch response being written: `send` lines, `close` to end it."""

    lines: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)

    def send(self, *lines: str) -> None:
        for line in lines:
            self.lines.put_nowait(line)

    def close(self) -> None:
        self.lines.put_nowait(None)


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]

    @property
    def watch(self) -> bool:
        return self.query.get("watch") == "true"


class RecordedApiServer:
    """Serves queued LIST and WATCH answers on 127.0.0.1 over real HTTP."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._lists: deque[tuple[int, dict[str, Any]]] = deque()
        self._watches: deque[Stream | tuple[int, dict[str, Any]]] = deque()
        self._runner: web.AppRunner | None = None
        self.url = ""
        self._streams: list[Stream] = []
        self._closing = False

    def answer_list(self, body: dict[str, Any], status: int = 200) -> None:
        self._lists.append((status, body))

    def open_watch(self) -> Stream:
        stream = Stream()
        self._streams.append(stream)
        self._watches.append(stream)
        return stream

    def _idle(self) -> Stream:
        """Nothing queued: the watch stays open with no events, as an idle one does."""
        stream = Stream()
        self._streams.append(stream)
        return stream

    def refuse_watch(self, status: int, body: dict[str, Any]) -> None:
        self._watches.append((status, body))

    def watches(self) -> list[Request]:
        return [r for r in self.requests if r.watch]

    def lists(self) -> list[Request]:
        return [r for r in self.requests if not r.watch]

    async def __aenter__(self) -> RecordedApiServer:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._serve)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        for stream in self._streams:
            stream.close()
        assert self._runner is not None
        await self._runner.cleanup()

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        if self._closing:
            return web.json_response({"code": 503}, status=503)
        seen = Request(path=request.path, query=dict(request.query))
        self.requests.append(seen)
        if not seen.watch:
            status, body = self._lists.popleft() if self._lists else (500, {"code": 500})
            return web.json_response(body, status=status)
        item = self._watches.popleft() if self._watches else self._idle()
        if not isinstance(item, Stream):
            return web.json_response(item[1], status=item[0])
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        while (line := await item.lines.get()) is not None:
            await response.write(line.encode() + b"\n")
        return response
