"""What the HTTP routes share: the CI service, auth, webhook rules, body limits, the reconciler.

Built once by `conveyor.server.main.build`; routes reach it through `request.app.state.cv`.
`need(role)` is the FastAPI dependency every protected route declares (401 without a valid
token, 403 when the role is too weak); `audit` writes the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request

from conveyor.ci.service import CIService
from conveyor.ci.webhooks import Webhooks
from conveyor.notify.notifier import Notifier
from conveyor.server.auth import Auth, Principal, Role
from conveyor.server.limits import BodyLimits
from conveyor.server.sessions import Sessions


@dataclass(slots=True, kw_only=True)
class ServerState:
    service: CIService
    auth: Auth
    webhooks: Webhooks | None = None  # GitHub webhook rules and per-repository secrets
    limits: BodyLimits = field(default_factory=BodyLimits)
    reconciler: Any = None  # a conveyor.reconcile.loop.Loop when the server runs one
    requests: dict[str, int] = field(default_factory=dict)
    sessions: Sessions | None = None  # web UI sign-ins (built from `auth` when not given)
    secure_cookies: bool = False  # the server speaks TLS: session cookies get `Secure`
    # a reconciler in its own process (`conveyor reconcile --listen`): its base URL and the
    # file holding its bearer token, for the UI's application pages and buttons
    reconciler_url: str = ""
    reconciler_token_file: str = ""
    notifier: Notifier | None = None  # issue 17: the CI service's notifications

    def __post_init__(self) -> None:
        if self.sessions is None:
            self.sessions = Sessions(self.auth)

    @property
    def ui_sessions(self) -> Sessions:
        assert self.sessions is not None  # set by __post_init__
        return self.sessions


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.cv
    return state


class NotSignedIn(Exception):
    """No valid credential: the API answers 401, the UI sends the browser to /login."""


class RoleTooWeak(Exception):
    """A valid credential whose role is below the route's: 403 in the API and the UI."""


def authorize(principal: Principal | None, role: Role) -> Principal:
    """The one authorization rule the API (bearer tokens, `need`) and the web UI (session
    cookies, `conveyor.server.ui.guard`) share: a principal, with at least `role`."""
    if principal is None:
        raise NotSignedIn("a bearer token is required")
    if not principal.can(role):
        raise RoleTooWeak(f"the {principal.role} role cannot do this (needs {role})")
    return principal


def need(role: Role) -> Callable[[Request], Principal]:
    """Dependency: the caller's principal (bearer token), with at least `role`."""

    def check(request: Request) -> Principal:
        principal = state_of(request).auth.from_header(request.headers.get("authorization", ""))
        try:
            return authorize(principal, role)
        except NotSignedIn as exc:
            raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc
        except RoleTooWeak as exc:
            raise HTTPException(403, str(exc)) from exc

    return check


def audit(
    request: Request,
    who: Principal,
    action: str,
    target: str,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Record a change of protection rules, secrets, variables, tokens or runners (issue
    12): who, what, on which target, when. `detail` never carries a secret value."""
    state_of(request).auth.store.access.add_audit(
        actor=who.name, action=action, target=target, detail=detail
    )
