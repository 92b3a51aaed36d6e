"""A sharded replica's endpoint answering for every app: requests about an app another
replica owns are forwarded to that replica.

Replicas run behind one Kubernetes Service (`conveyor reconcile --shard-lease … --listen`),
so a request lands on any of them. The app's owner is computed as `reconcile.membership`
computes it (rendezvous hashing of the app's shard key over the live members), and its
endpoint is the URL written on its Lease (`--shard-advertise`):

* `GET /apps/APP[/VIEW]`, `POST /apps/APP/ACTION` and `POST /refresh/APP` are answered by
  the owner: forwarded with the same bearer token and the header `X-Conveyor-Forwarded`; a
  forwarded request is never forwarded again (two replicas that disagree about the owner
  during a handover answer 503, and the caller retries);
* `POST /refresh?repo=URL` is triggered here and sent on to every other member (each
  triggers the apps it owns);
* `GET /apps` needs no forwarding: `reconcilerhttp` answers the apps this replica owns
  from its run state and the others from the shared store, where each owner writes the
  status after each reconcile.

Used by `app.reconcilerhttp.route`; built by `app.cmd_reconcile._loop` when sharded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse

import httpx

from conveyor.reconcile.membership import Membership
from conveyor.reconcile.reconciler import Reconciler

log = logging.getLogger(__name__)

FORWARDED = "x-conveyor-forwarded"
Reply = tuple[str, str, bytes]  # status line, content type, body (as reconcilerhttp's)
#: A forwarded action answers once done (a sync waits for its waves), as the UI's does.
FORWARD_TIMEOUT = httpx.Timeout(600.0, connect=5.0)
FAN_OUT_TIMEOUT = httpx.Timeout(5.0)


def app_of(path: str) -> str | None:
    """The app a request is about: `/apps/APP…` or `/refresh/APP` (None: no single app)."""
    where = path.partition("?")[0]
    for prefix in ("/apps/", "/refresh/"):
        if where.startswith(prefix):
            name = where.removeprefix(prefix).split("/")[0]
            return urllib.parse.unquote(name) or None
    return None


def _json(status: str, body: dict[str, str]) -> Reply:
    return status, "application/json", json.dumps(body).encode()


class Router:
    """Which replica answers for an app, and the forwarding of requests to it."""

    def __init__(self, shard: Membership, reconciler: Reconciler, token: str) -> None:
        self.shard, self.reconciler, self.token = shard, reconciler, token
        self._pending: set[asyncio.Task[None]] = set()

    async def elsewhere(self, method: str, path: str, headers: dict[str, str]) -> Reply | None:
        """The owner's reply when another replica owns the app `path` is about; None when
        this replica answers (it owns the app, or the request is about no known app)."""
        name = app_of(path)
        if name is None or name not in self.reconciler.apps:
            return None
        owner = self.shard.owner(self.reconciler.ownership.key(name))
        if owner == self.shard.identity:
            return None
        if owner is None or headers.get(FORWARDED):
            return _json(
                "503 Service Unavailable",
                {
                    "error": f"no reconciler replica owns {name} right now (shard handover); "
                    "retry in a few seconds"
                },
            )
        endpoint = self.shard.endpoint(owner)
        if not endpoint:
            return _json(
                "503 Service Unavailable",
                {
                    "error": f"replica {owner} owns {name} but its Lease names no endpoint: "
                    "start every replica with --shard-advertise"
                },
            )
        return await self.forward(endpoint, method, path)

    async def forward(self, endpoint: str, method: str, path: str) -> Reply:
        """`method path` on the replica at `endpoint`; its reply, or 502 naming it."""
        try:
            async with httpx.AsyncClient(timeout=FORWARD_TIMEOUT) as client:
                reply = await client.request(method, endpoint + path, headers=self._headers())
        except httpx.HTTPError as exc:
            return _json(
                "502 Bad Gateway",
                {
                    "error": f"the replica that owns this app ({endpoint}) did not answer: "
                    f"{type(exc).__name__}; retry, it is handed over if it stays down"
                },
            )
        kind = reply.headers.get("content-type", "application/json")
        return f"{reply.status_code} {reply.reason_phrase}", kind, reply.content

    def fan_out(self, path: str) -> None:
        """POST `path` to every other live member, in the background (best effort: a
        member that misses it catches up at its interval)."""
        endpoints = [
            self.shard.endpoint(m) for m in self.shard.members() if m != self.shard.identity
        ]
        for endpoint in filter(None, endpoints):
            task = asyncio.get_running_loop().create_task(self._post(endpoint, path))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _post(self, endpoint: str, path: str) -> None:
        try:
            async with httpx.AsyncClient(timeout=FAN_OUT_TIMEOUT) as client:
                reply = await client.post(endpoint + path, headers=self._headers())
            problem = "" if reply.is_success else f"HTTP {reply.status_code}"
        except httpx.HTTPError as exc:
            problem = type(exc).__name__
        if problem:
            log.warning(
                "refresh not passed on to %s: %s; it catches up at its interval", endpoint, problem
            )

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", FORWARDED: self.shard.identity}
