"""Who may see and do what in the web UI: the API's rule (`state.authorize`) over a
session cookie instead of a bearer token.

Routes declare `Viewer = Annotated[Seen, Depends(viewer(Role.READ))]` for a page and
`Depends(actor(Role.WRITE))` for a form's POST; the latter also checks the form's CSRF
token against the session's and, when the browser sends one, that the `Origin` is this
server. Refusals are exceptions `conveyor.server.app` maps: `NotSignedIn` → 303 to
`/login?next=…`, `RoleTooWeak` and `CsrfRejected` → 403 pages.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request

from conveyor.server.auth import Principal, Role
from conveyor.server.sessions import COOKIE, same_secret
from conveyor.server.state import NotSignedIn, authorize, state_of


class CsrfRejected(Exception):
    """A form posted without this session's CSRF token, or from another origin."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Seen:
    """The signed-in principal and the CSRF token its forms carry."""

    principal: Principal
    csrf: str

    @property
    def can_write(self) -> bool:
        return self.principal.can(Role.WRITE)

    @property
    def can_admin(self) -> bool:
        return self.principal.can(Role.ADMIN)


def signed_in(request: Request) -> Seen | None:
    found = state_of(request).ui_sessions.find(request.cookies.get(COOKIE, ""))
    if found is None:
        return None
    principal, session = found
    return Seen(principal=principal, csrf=session.csrf)


def viewer(role: Role) -> Callable[[Request], Seen]:
    """Dependency for a page: the signed-in principal with at least `role`."""

    def check(request: Request) -> Seen:
        seen = signed_in(request)
        authorize(seen.principal if seen else None, role)
        assert seen is not None  # authorize raised otherwise
        return seen

    check.role = role  # type: ignore[attr-defined]  # read by the role-enumeration test
    return check


def actor(role: Role) -> Callable[[Request], Awaitable[Seen]]:
    """Dependency for a form's POST: `viewer(role)` plus the CSRF and origin checks."""

    async def check(request: Request) -> Seen:
        seen = viewer(role)(request)
        origin = request.headers.get("origin")
        if origin is not None and origin != _own_origin(request):
            raise CsrfRejected(f"a form from {origin} cannot act here")
        form = await request.form()
        given = form.get("csrf")
        if not isinstance(given, str) or not same_secret(given, seen.csrf):
            raise CsrfRejected("the form has no valid CSRF token: reload the page and try again")
        return seen

    check.role = role  # type: ignore[attr-defined]  # read by the role-enumeration test
    return check


def _own_origin(request: Request) -> str:
    host = request.headers.get("host", "")
    return f"{request.url.scheme}://{host}"


def local_next(target: str | None) -> str:
    """Where to go after signing in: a path on this server, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urllib.parse.urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?" + urllib.parse.urlencode({"next": here})


__all__ = ["CsrfRejected", "NotSignedIn", "Seen", "actor", "login_url", "signed_in", "viewer"]
