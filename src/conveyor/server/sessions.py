"""Web UI sessions: an API token exchanged for a session cookie (issue 15).

`POST /login` (conveyor.server.ui.routes_session) calls `Sessions.open(token)`; every UI
request finds its principal with `Sessions.find(cookie)`. A session keeps the token's
digest, never the token, and asks the store on each request whether the token is still
valid, with the role the store holds now: revoking or expiring the token signs its sessions
out at once, and a role change applies at the next click. Sessions live in the server's
memory (a restart signs everyone out), end after `lifetime` seconds, and carry their own
CSRF token, which every form of the session posts back (`conveyor.server.ui.guard`).
Runner credentials cannot sign in: they serve the runner protocol only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

from conveyor.server.auth import Auth, Principal, Role, digest

COOKIE = "conveyor_session"
LIFETIME = 12 * 3600.0
MAX_SESSIONS = 10_000  # the oldest session is dropped beyond this


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    token_digest: str
    csrf: str
    created: float


class Sessions:
    """Open, find and close sessions (see the module docstring)."""

    def __init__(self, auth: Auth, *, lifetime: float = LIFETIME) -> None:
        self.auth = auth
        self.lifetime = lifetime
        self._open: OrderedDict[str, Session] = OrderedDict()  # sha256(cookie) -> session

    def open(self, token: str) -> tuple[str, Principal] | None:
        """A new session for a valid, non-runner token: (cookie value, principal)."""
        principal = self.auth.check(token.strip())
        if principal is None or principal.role is Role.RUNNER:
            return None
        cookie = secrets.token_urlsafe(32)
        session = Session(
            token_digest=digest(token.strip()), csrf=secrets.token_urlsafe(32), created=time.time()
        )
        self._open[_key(cookie)] = session
        while len(self._open) > MAX_SESSIONS:
            self._open.popitem(last=False)
        return cookie, principal

    def find(self, cookie: str) -> tuple[Principal, Session] | None:
        """The session's principal, as the store sees its token now; None when the cookie is
        unknown, the session is older than its lifetime, or its token is gone."""
        if not cookie:
            return None
        key = _key(cookie)
        session = self._open.get(key)
        if session is None:
            return None
        if time.time() - session.created > self.lifetime:
            del self._open[key]
            return None
        principal = self.auth.check_digest(session.token_digest)
        if principal is None:
            del self._open[key]
            return None
        return principal, session

    def close(self, cookie: str) -> None:
        self._open.pop(_key(cookie), None)


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of a posted CSRF token with the session's."""
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def _key(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()
