"""The web UI's link to the reconciler, which runs in its own process under `conveyor up`
(`conveyor reconcile --listen`): its HTTP endpoint (`conveyor.app.reconcilerhttp`) with
the bearer token from the file the server was given (`--refresh-token-file`).

`app_statuses(state)` is what the board and the application list read; `app_detail`,
`app_object`, `app_history` and `history_diff` are the application pages' views, and
`act` sends Sync, Refresh, Rollback and Revert (`app.reconcilerhttp` documents them all).
When the server knows no reconciler, the UI says so instead of showing an empty list as
if there were no applications (`ReconcilerUnknown`); an unreachable one raises
`ReconcilerUnreachable` with the address and what to check, and a refusal (no such app
or object: 404; the action refused: 409) raises its subclass `ReconcilerRefused` with
the reconciler's reason.
"""

from __future__ import annotations

import functools
import ssl
import urllib.parse
from pathlib import Path
from typing import Any

import httpx

from conveyor.server.state import ServerState

TIMEOUT = 10.0
#: Seconds an action (sync, rollback …) may take: the reconciler answers once it is done.
ACTION_TIMEOUT = 300.0


class ReconcilerUnknown(Exception):
    """The server was started without a reconciler to ask (no --refresh-url)."""


class ReconcilerUnreachable(Exception):
    """The reconciler did not answer, or refused: the message says where and why."""


class ReconcilerRefused(ReconcilerUnreachable):
    """The reconciler answered with a refusal: `status` (404, 409 …) and its `reason`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"the reconciler refused ({status}): {reason}")
        self.status = status
        self.reason = reason


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every call: httpx builds a new one per client otherwise (30 ms
    of certificate loading on each page, even for the plain-HTTP loopback reconciler)."""
    return ssl.create_default_context()


def base_url(state: ServerState) -> str:
    if not state.reconciler_url:
        raise ReconcilerUnknown(
            "this server knows no reconciler: start it with --refresh-url "
            "http://HOST:PORT/refresh (as `conveyor up` does) to see applications here"
        )
    return state.reconciler_url.rstrip("/")


def _headers(state: ServerState) -> dict[str, str]:
    if not state.reconciler_token_file:
        return {}
    try:
        token = Path(state.reconciler_token_file).read_text().strip()
    except OSError as exc:
        raise ReconcilerUnreachable(
            f"cannot read the reconciler's token {state.reconciler_token_file}: {exc.strerror}"
        ) from exc
    return {"Authorization": f"Bearer {token}"}


async def call(state: ServerState, method: str, path: str, **params: str) -> Any:
    """One request to the reconciler; its JSON answer."""
    return await request(state, method, path, params, timeout=TIMEOUT)


async def request(
    state: ServerState, method: str, path: str, params: dict[str, str], *, timeout: float
) -> Any:
    """`call` with its own timeout (a sync answers once its waves are done)."""
    url = base_url(state) + path
    try:
        async with httpx.AsyncClient(
            timeout=timeout, headers=_headers(state), verify=_tls()
        ) as client:
            reply = await client.request(method, url, params=params or None)
    except httpx.HTTPError as exc:
        raise ReconcilerUnreachable(
            f"the reconciler at {base_url(state)} did not answer ({type(exc).__name__}); "
            "is `conveyor up` (or `conveyor reconcile --listen`) running?"
        ) from exc
    if reply.status_code >= 400:
        try:
            detail = reply.json().get("error", reply.text)
        except ValueError:
            detail = reply.text.strip()
        raise ReconcilerRefused(reply.status_code, str(detail))
    return reply.json()


async def app_statuses(state: ServerState) -> dict[str, dict[str, Any]]:
    """Every application's status by name (the format of `conveyor app get --json`)."""
    statuses: dict[str, dict[str, Any]] = await call(state, "GET", "/apps")
    return statuses


def quote(name: str) -> str:
    """An application's name as one path segment."""
    return urllib.parse.quote(name, safe="")


def _app(name: str) -> str:
    return "/apps/" + quote(name)


async def app_detail(state: ServerState, name: str) -> dict[str, Any]:
    """`{"status": …, "resources": [rows of app.resourcetree]}`."""
    detail: dict[str, Any] = await call(state, "GET", _app(name))
    return detail


async def app_object(state: ServerState, name: str, ref: str) -> dict[str, Any]:
    """One object's manifests (`live`, `desired`, `compared`) and `diff`, Secrets redacted."""
    view: dict[str, Any] = await call(state, "GET", _app(name) + "/object", ref=ref)
    return view


async def app_history(state: ServerState, name: str) -> list[dict[str, Any]]:
    """The sync history entries, newest first."""
    found: dict[str, Any] = await call(state, "GET", _app(name) + "/history")
    entries: list[dict[str, Any]] = found["entries"]
    return entries


async def history_diff(state: ServerState, name: str, old: int, new: int) -> dict[str, Any]:
    """The objects that differ between two history entries (`app.historydiff`)."""
    params = {"from": str(old), "to": str(new)}
    path = _app(name) + "/history/diff"  # renders two revisions: more than a read's time
    diff: dict[str, Any] = await request(state, "GET", path, params, timeout=ACTION_TIMEOUT)
    return diff


#: What the UI's buttons may ask the reconciler to do (its POST /apps/APP/ACTION).
ACTIONS = ("sync", "refresh", "rollback", "revert")


async def act(state: ServerState, name: str, action: str, **params: str) -> dict[str, Any]:
    """Run `action` in the reconciler; the app's status once done."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    path = f"{_app(name)}/{action}"
    status: dict[str, Any] = await request(state, "POST", path, params, timeout=ACTION_TIMEOUT)
    return status
