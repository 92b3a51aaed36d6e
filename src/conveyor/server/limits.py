"""Request bodies: authenticate before reading them, and cap them per route class (issue 12 §6).

An ASGI middleware around the FastAPI app (installed by `conveyor.server.app.create_app`).
FastAPI reads and parses a body before it resolves a route's dependencies, so the bearer
check in `state.need` alone came too late: a 300 MB unauthenticated POST was read into
memory before its 401. Here, for every request that carries a body:

1. Authentication first: every route but `/healthz`, `/login` and
   `/hooks/github[/<owner>/<repo>]` needs a valid token or a web UI session cookie (the role
   and, for a form, its CSRF token are still checked by the route); without one the answer
   is 401 and the body is never read. The sign-in form's body is capped at `LOGIN_BODY`.
   A webhook delivery must at least carry an `X-Hub-Signature-256` header; the route
   computes the HMAC as the body streams in and keeps at most 1 MiB of it in memory until
   the signature matches (`server.webhooks`).
2. A cap per route class (`BodyLimits`): a declared `Content-Length` above it is answered
   413 at once; the bytes actually received are counted as they stream in (chunked bodies
   and lying lengths included), and the read that crosses the cap fails with 413.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser

from conveyor.server.auth import Auth
from conveyor.server.sessions import COOKIE, Sessions

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MiB = 1024 * 1024


class BodyClass(StrEnum):
    """Route classes with a body cap of their own."""

    API = "api"  # JSON of the REST API and the runner protocol
    LOGS = "logs"  # a runner's log batches and job reports (steps, summary, outputs)
    ARTIFACTS = "artifacts"  # a runner's artifact uploads (tar.gz)
    GIT = "git"  # git pushes over smart HTTP
    WEBHOOK = "webhook"  # GitHub deliveries (GitHub sends at most 25 MB)


@dataclass(frozen=True, slots=True, kw_only=True)
class BodyLimits:
    """The largest body, in bytes, each route class accepts."""

    api: int = 1 * MiB
    logs: int = 8 * MiB
    artifacts: int = 256 * MiB
    git: int = 256 * MiB
    webhook: int = 25 * MiB

    def of(self, kind: BodyClass) -> int:
        limit: int = getattr(self, str(kind))
        return limit

    @classmethod
    def parse(cls, specs: tuple[str, ...] | list[str]) -> BodyLimits:
        """`CLASS=SIZE` items (`api=2M`, `git=1G`, `logs=512K`, plain bytes)."""
        limits = cls()
        known = {f.name for f in fields(cls)}
        for spec in specs:
            name, _, size = spec.partition("=")
            if name not in known:
                choices = ", ".join(sorted(known))
                raise ValueError(f"unknown body class {name!r} in {spec!r}: use one of {choices}")
            limits = replace(limits, **{name: parse_size(size)})
        return limits


_SIZE = re.compile(r"^\s*(\d+)\s*([KMG]?)i?B?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"not a size: {text!r} (bytes, or a number with K, M or G)")
    unit = {"": 1, "K": 1024, "M": MiB, "G": 1024 * MiB}[match.group(2).upper()]
    return int(match.group(1)) * unit


_RUNNER_RUN = re.compile(r"^/api/v1/runner/runs/[^/]+/(logs|jobs|complete|artifacts/)")
OPEN_PATHS = ("/healthz",)
LOGIN_PATH = "/login"
LOGIN_BODY = 16 * 1024  # a token and a CSRF field: anything larger is not a sign-in
WEBHOOK_PATHS = ("/hooks/github", "/hooks/github/")  # the path, and the per-repository prefix


def is_webhook(path: str) -> bool:
    return path == WEBHOOK_PATHS[0] or path.startswith(WEBHOOK_PATHS[1])


def body_class(path: str) -> BodyClass:
    if path.startswith("/git/"):
        return BodyClass.GIT
    if is_webhook(path):
        return BodyClass.WEBHOOK
    match = _RUNNER_RUN.match(path)
    if match is not None:
        return BodyClass.ARTIFACTS if match.group(1) == "artifacts/" else BodyClass.LOGS
    return BodyClass.API


Refusal = tuple[int, str, dict[str, str]]  # status, message, extra headers


class BodyGuard:
    """The middleware (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, *, auth: Auth, limits: BodyLimits, sessions: Sessions | None = None
    ) -> None:
        self.app = app
        self.auth = auth
        self.limits = limits
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = await self._refusal(path, headers)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        kind = body_class(path)
        limit = LOGIN_BODY if path == LOGIN_PATH else self.limits.of(kind)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, _too_large(kind, limit), {})
            return
        await self.app(scope, _counted(receive, kind, limit), send)

    async def _refusal(self, path: str, headers: dict[str, str]) -> Refusal | None:
        if path in OPEN_PATHS or path == LOGIN_PATH:
            return None
        cookie = cookie_parser(headers.get("cookie", "")).get(COOKIE, "")
        sessions = self.sessions
        if cookie and sessions is not None:
            found = await asyncio.to_thread(sessions.find, cookie)
            if found is not None:
                return None
        if is_webhook(path):
            if headers.get("x-hub-signature-256", "").startswith("sha256="):
                return None
            return 401, "missing webhook signature", {}
        # the token lookup is a database query (PostgreSQL: a round trip): off the event loop
        known = await asyncio.to_thread(self.auth.from_header, headers.get("authorization", ""))
        if known is not None:
            return None
        challenge = 'Basic realm="conveyor"' if path.startswith("/git/") else "Bearer"
        return 401, "a bearer token is required", {"WWW-Authenticate": challenge}


def _too_large(kind: BodyClass, limit: int) -> str:
    return (
        f"the request body is larger than {limit} bytes, the limit for {kind} requests; "
        f"send less, or raise it with `conveyor server --body-limit {kind}=SIZE`"
    )


def _counted(receive: Receive, kind: BodyClass, limit: int) -> Receive:
    seen = 0

    async def counting() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # raised inside the route's body read: Starlette answers it (413 + detail)
                raise HTTPException(413, _too_large(kind, limit))
        return message

    return counting


async def _answer(send: Send, status: int, text: str, headers: dict[str, str]) -> None:
    body = json.dumps({"detail": text}).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *((k.lower().encode(), v.encode()) for k, v in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
