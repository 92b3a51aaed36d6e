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
from conveyor.server.auth import Auth, Principal, Role
from conveyor.server.limits import BodyLimits


@dataclass(slots=True, kw_only=True)
class ServerState:
    service: CIService
    auth: Auth
    webhooks: Webhooks | None = None  # GitHub webhook rules and per-repository secrets
    limits: BodyLimits = field(default_factory=BodyLimits)
    reconciler: Any = None  # a conveyor.reconcile.loop.Loop when the server runs one
    requests: dict[str, int] = field(default_factory=dict)


def state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.cv
    return state


def need(role: Role) -> Callable[[Request], Principal]:
    """Dependency: the caller's principal, with at least `role`."""

    def check(request: Request) -> Principal:
        principal = state_of(request).auth.from_header(request.headers.get("authorization", ""))
        if principal is None:
            raise HTTPException(
                401, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
            )
        if not principal.can(role):
            raise HTTPException(403, f"the {principal.role} role cannot do this (needs {role})")
        return principal

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
