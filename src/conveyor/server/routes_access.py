"""Who may call the server (issue 12), admin only: tokens (create with an optional expiry,
list, revoke by name), runner registrations (a name, fixed labels and a scope; the answer
carries the runner's credential once) and the audit log. Every change is audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from conveyor.ci.runnerscope import check_registration
from conveyor.server.auth import Principal, Role
from conveyor.server.pagination import PageParams
from conveyor.server.state import audit, need, state_of

router = APIRouter(prefix="/api/v1")
Admin = Annotated[Principal, Depends(need(Role.ADMIN))]


class TokenBody(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="unique: reviewers use it")
    role: Role
    expires_in: float | None = Field(None, gt=0, description="seconds until it expires")


class RunnerBody(BaseModel):
    name: str
    labels: list[str] = Field(description="the labels jobs are matched against, fixed")
    scope: str = Field(description="org:<owner> or repo:<owner>/<name>")


@router.post("/tokens")
def create_token(request: Request, body: TokenBody, who: Admin) -> dict[str, Any]:
    """A new token (shown once) with a role: read, write or admin. Runners are registered
    with `POST /runners` instead. 409 when the name is taken."""
    if body.role is Role.RUNNER:
        raise HTTPException(400, "runner credentials come from POST /api/v1/runners")
    token = state_of(request).auth.issue(
        body.name, body.role, expires_in=body.expires_in, by=who.name
    )
    detail = {"role": str(body.role), "expires_in": body.expires_in}
    audit(request, who, "token.create", body.name, detail)
    return {"name": body.name, "role": str(body.role), "token": token}


@router.get("/tokens")
def list_tokens(request: Request, _: Admin, page: PageParams) -> list[dict[str, Any]]:
    """Name, role, created and expires (null: never) of every token; never the token."""
    return page.slice(state_of(request).auth.store.access.tokens())


@router.delete("/tokens/{name}", status_code=204)
def revoke_token(request: Request, name: str, who: Admin) -> None:
    """Revoke every token named `name` (a runner's credential and registration too)."""
    if not state_of(request).auth.store.access.revoke_token(name):
        raise HTTPException(404, f"no token named {name!r}")
    audit(request, who, "token.revoke", name)


@router.post("/runners")
def register_runner(request: Request, body: RunnerBody, who: Admin) -> dict[str, Any]:
    """Register a remote runner; its credential (for `conveyor runner --token`) is shown
    once. It takes only jobs of repositories in `scope` whose `runs-on` it has labels for."""
    check_registration(body.name, body.labels, body.scope)
    token = state_of(request).auth.register_runner(
        body.name, labels=body.labels, scope=body.scope, by=who.name
    )
    detail = {"labels": body.labels, "scope": body.scope}
    audit(request, who, "runner.register", body.name, detail)
    return {"name": body.name, "labels": body.labels, "scope": body.scope, "token": token}


@router.get("/runners/registered")
def registered_runners(request: Request, _: Admin, page: PageParams) -> list[dict[str, Any]]:
    """Registered remote runners: name, labels, scope, when and by whom."""
    return page.slice(state_of(request).auth.store.access.runner_registrations())


@router.delete("/runners/{name}", status_code=204)
def remove_runner(request: Request, name: str, who: Admin) -> None:
    """Remove a registered runner: its credential stops working at once."""
    store = state_of(request).auth.store
    if store.access.runner_registration(name) is None:
        raise HTTPException(404, f"no registered runner {name!r}")
    store.access.revoke_token(name)
    audit(request, who, "runner.remove", name)


@router.get("/audit")
def audit_log(request: Request, _: Admin, page: PageParams, after: int = 0) -> list[dict[str, Any]]:
    """Changes to protection rules, secrets, variables, tokens and runners, oldest first:
    id, at (epoch s), actor, action, target, detail (never a secret value); `?after=<id>`
    keeps the newer ones; paged (`per_page`, `page`, `Link`)."""
    store = state_of(request).auth.store
    rows = store.access.audit(after=after, limit=page.per_page, offset=page.offset)
    return page.answer(rows, store.access.count_audit(after=after))
