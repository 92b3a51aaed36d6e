"""The HTTP endpoint of a `conveyor reconcile --listen ADDRESS` daemon.

- `GET /healthz`: liveness, the only route without the daemon's bearer token.
- `GET /metrics`: Prometheus text.
- `GET /apps`: every application's status (what `conveyor app get --json` shows), as a
  JSON object by name: the web UI's board and application list read it. A sharded
  replica answers the apps it owns from its run state and the others from the store,
  as their owners last wrote them.
- `POST /refresh/APP` and `POST /refresh?repo=URL`: queue a reconcile at once (what the
  server's push hook calls, with the token from `--refresh-token-file`; answers 202
  before the work).
- `GET /apps/APP`, `GET /apps/APP/object?ref=…`, `GET /apps/APP/history`,
  `GET /apps/APP/history/diff?from=ID&to=ID`: the read views of `app.reconcilerviews`
  (status and resource tree, one object's manifests and diff with Secrets redacted, sync
  history, the diff between two history entries) for the web UI's application pages.
- `POST /apps/APP/sync?revision=R&prune=true|false`, `POST /apps/APP/refresh`,
  `POST /apps/APP/rollback?id=N`, `POST /apps/APP/revert?id=N`: what `conveyor app` and
  the web UI send to a running daemon (`app.daemonlink`, `server.ui.applink`); they run
  in the daemon's own reconciler (per-app locks keep them from overlapping its loop) and
  answer the app's status as JSON once done (a revert adds `revertCommit`: the commit
  it pushed to the config repo, which this reconciler then deploys), or `{"error": …}`
  with 404 (no such app) / 409 (refused). `by=WHO` names who asked, in the history.

Every connection has `READ_TIMEOUT` seconds for its request head and at most
`MAX_HEAD_BYTES` / `MAX_HEADERS` of it (408 / 431 otherwise), and `WRITE_TIMEOUT` to take
its reply (issue 12, finding 16). Built by `app.cmd_reconcile._loop` with the token
`daemonlink.publish` records. Sharded (`--shard-lease`), a request about an app another
replica owns is forwarded to it, and a refresh by repository is passed on to every
replica (`app.shardroute`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import urllib.parse
from typing import Any

from conveyor.app import reconcilerviews, shardroute
from conveyor.reconcile.errors import ReconcileError
from conveyor.reconcile.loop import Loop
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.rollback import revert, rollback

Reply = tuple[str, str, bytes]  # status line, content type, body
TEXT = "text/plain; version=0.0.4"
JSON = "application/json"


#: Seconds a client has for its request line and headers, however slowly it sends them
#: (a client trickling bytes is cut off at this deadline, not kept alive by each byte).
READ_TIMEOUT = 10.0
#: Seconds to hand a reply to a client that does not read it.
WRITE_TIMEOUT = 10.0
#: Bytes of request line plus headers, and the number of header lines (else 431).
MAX_HEAD_BYTES = 16 * 1024
MAX_HEADERS = 64


class _HeadTooLarge(Exception):
    pass


async def _read_head(reader: asyncio.StreamReader) -> tuple[list[str], dict[str, str]]:
    """The request line's words and the headers; `_HeadTooLarge` past the limits."""
    try:
        request = (await reader.readline()).decode("latin-1").split()
        size, headers = 0, dict[str, str]()
        while line := (await reader.readline()).strip():
            size += len(line)
            if size > MAX_HEAD_BYTES or len(headers) >= MAX_HEADERS:
                raise _HeadTooLarge
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
    except ValueError as exc:  # one line longer than the reader's limit
        raise _HeadTooLarge from exc
    return request, headers


async def listen(
    loop: Loop,
    address: str,
    token: str,
    *,
    read_timeout: float = READ_TIMEOUT,
    router: shardroute.Router | None = None,
) -> tuple[asyncio.Server, str]:
    """Serve on `address` (HOST:PORT, port 0 picks one); the server and its base URL.

    Each connection gets `read_timeout` seconds in all for its head and at most
    `MAX_HEAD_BYTES` / `MAX_HEADERS` of it (431 beyond; issue 12, finding 16), so slow or
    bloated clients cannot hold the daemon's memory or connections."""
    host, _, port = address.rpartition(":")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                async with asyncio.timeout(read_timeout):
                    request, headers = await _read_head(reader)
            except TimeoutError:
                await _reply(writer, ("408 Request Timeout", TEXT, b"request head too slow\n"))
                return
            except _HeadTooLarge:
                await _reply(
                    writer,
                    ("431 Request Header Fields Too Large", TEXT, b"request head too large\n"),
                )
                await _discard(reader, writer)
                return
            method, path = request[:2] if len(request) >= 2 else ("", "")
            await _reply(writer, await route(loop, method, path, headers, token, router=router))
        except (ConnectionError, TimeoutError):
            pass  # the client went away or stopped reading: nothing left to tell it
        finally:
            writer.close()

    server = await asyncio.start_server(
        handle, host or "127.0.0.1", int(port), limit=MAX_HEAD_BYTES
    )
    bound_host, bound_port = server.sockets[0].getsockname()[:2]
    return server, f"http://{bound_host}:{bound_port}"


async def route(
    loop: Loop,
    method: str,
    path: str,
    headers: dict[str, str],
    token: str,
    *,
    router: shardroute.Router | None = None,
) -> Reply:
    reconciler = loop.reconciler
    if method == "GET" and path == "/healthz":
        return "200 OK", TEXT, b"ok\n"
    given = headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), token.encode()):
        return _json("401 Unauthorized", {"error": "a valid bearer token is required"})
    if router is not None and (forwarded := await router.elsewhere(method, path, headers)):
        return forwarded
    if method == "GET" and path == "/metrics":
        return "200 OK", TEXT, reconciler.env.metrics.render().encode()
    if method == "GET" and path == "/apps":
        return _json("200 OK", _statuses(reconciler))
    if method == "POST" and path.startswith("/refresh/"):
        name = urllib.parse.unquote(path.removeprefix("/refresh/"))
        if name not in reconciler.apps:
            return "404 Not Found", TEXT, f"no application named {name!r}\n".encode()
        loop.trigger(name)
        return "202 Accepted", TEXT, b"refresh queued\n"
    if method == "POST" and path.startswith("/refresh?"):
        for repo in urllib.parse.parse_qs(path.partition("?")[2]).get("repo", []):
            loop.trigger_repo(repo)
        if router is not None and not headers.get(shardroute.FORWARDED):
            router.fan_out(path)  # the other replicas trigger the apps they own
        return "202 Accepted", TEXT, b"refresh queued\n"
    if method == "GET" and path.startswith("/apps/"):
        status, body = await reconcilerviews.answer(reconciler, path)
        return _json(status, body)
    if method == "POST" and path.startswith("/apps/"):
        return await _command(reconciler, path)
    return (
        "404 Not Found",
        TEXT,
        b"GET /healthz, GET /metrics, GET /apps, GET /apps/APP[/VIEW], POST /refresh/APP, "
        b"POST /refresh?repo=URL, POST /apps/APP/ACTION\n",
    )


def _statuses(reconciler: Reconciler) -> dict[str, Any]:
    """Each known app's status: from the run state for the apps this process owns (all,
    unless sharded), from the store for the others (their owners write it after each
    reconcile; an app never reconciled has none and is left out)."""
    out: dict[str, Any] = {}
    names = sorted(reconciler.apps)
    owned = set(reconciler.owned())
    stored = reconciler.env.store.all_statuses() if owned != set(names) else {}
    for name in names:
        if name not in owned:
            if name in stored:
                out[name] = stored[name]
            continue
        try:
            out[name] = reconciler.status(name)
        except KeyError:
            continue
    return out


async def _command(reconciler: Reconciler, path: str) -> Reply:
    where, _, query = path.partition("?")
    parts = where.removeprefix("/apps/").split("/")
    params = {k: v[-1] for k, v in urllib.parse.parse_qs(query).items()}
    if len(parts) != 2:
        return _json("404 Not Found", {"error": f"no such command: {where}"})
    name, action = urllib.parse.unquote(parts[0]), parts[1]
    by = params.get("by") or "cli"
    try:
        history = _history_id(params.get("id", ""))
        if action == "sync":
            prune = {"true": True, "false": False}.get(params.get("prune", ""))
            status = await reconciler.sync(
                name, revision=params.get("revision") or None, by=by, prune=prune
            )
        elif action == "refresh":
            reconciler.runtime(name)
            await reconciler.reconcile_apps([name])
            status = reconciler.status(name)
        elif action == "rollback":
            status = await rollback(reconciler, name, history, by=by)
        elif action == "revert":
            sha = await revert(reconciler, name, history)
            status = {**reconciler.status(name), "revertCommit": sha}
        else:
            return _json("404 Not Found", {"error": f"no such command: {action}"})
    except KeyError as exc:
        return _json("404 Not Found", {"error": str(exc.args[0])})
    except (ReconcileError, ValueError) as exc:
        return _json("409 Conflict", {"error": str(exc)})
    return _json("200 OK", status)


def _history_id(given: str) -> int | None:
    """`?id=N`: a history entry (None: the previous good one); 409 for anything else."""
    if not given:
        return None
    if not given.isdigit():
        raise ReconcileError(f"id must be a history entry number, not {given!r}")
    return int(given)


async def _reply(writer: asyncio.StreamWriter, reply: Reply) -> None:
    status, kind, body = reply
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    async with asyncio.timeout(WRITE_TIMEOUT):
        await writer.drain()


async def _discard(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read away (1 s, 1 MiB at most) what the client still sends after a refusal: closing
    with unread data resets the connection, and the client would lose the 431."""
    writer.write_eof()
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(1.0):
            left = 1 << 20
            while left > 0 and (chunk := await reader.read(65536)):
                left -= len(chunk)


def _json(status: str, body: dict[str, Any]) -> Reply:
    return status, JSON, json.dumps(body).encode()
