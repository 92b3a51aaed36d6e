"""The web UI's link to the reconciler, which runs in its own process under `conveyor up`
(`conveyor reconcile --listen`): its HTTP endpoint (`conveyor.app.reconcilerhttp`) with
the bearer token from the file the server was given (`--refresh-token-file`).

`app_statuses(state)` is what the board and the application list read. When the server
knows no reconciler, the UI says so instead of showing an empty list as if there were no
applications (`ReconcilerUnknown`); an unreachable one raises `ReconcilerUnreachable`
with the address and what to check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from conveyor.server.state import ServerState

TIMEOUT = 10.0


class ReconcilerUnknown(Exception):
    """The server was started without a reconciler to ask (no --refresh-url)."""


class ReconcilerUnreachable(Exception):
    """The reconciler did not answer, or refused: the message says where and why."""


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
    url = base_url(state) + path
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, headers=_headers(state)) as client:
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
        raise ReconcilerUnreachable(f"the reconciler refused ({reply.status_code}): {detail}")
    return reply.json()


async def app_statuses(state: ServerState) -> dict[str, dict[str, Any]]:
    """Every application's status by name (the format of `conveyor app get --json`)."""
    statuses: dict[str, dict[str, Any]] = await call(state, "GET", "/apps")
    return statuses
