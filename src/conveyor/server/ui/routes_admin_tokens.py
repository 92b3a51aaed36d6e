"""Admin → Tokens (issue 15; admin only): the list, create, revoke, as the REST routes of
`conveyor.server.routes_access` do, with the same audit entries (`token.create`,
`token.revoke`).

- `GET /admin/tokens`: name, role, created, expires, created by (never a token or a
  digest) and the form to create one.
- `POST /admin/tokens` (CSRF): name, role (read, write, admin), optional expiry in days;
  the answer shows the new token once (never cached); 400 with the form on bad input, 409
  when the name is taken.
- `GET /admin/tokens/revoke?name=`: the confirmation form (it warns when the token is the
  one this session signed in with: sessions follow their token, so that signs you out).
- `POST /admin/tokens/revoke` (CSRF): revokes and goes back to the list, or to /login when
  it was your own token.
"""

from __future__ import annotations

import math
import time
import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from conveyor.server.auth import Role
from conveyor.server.sessions import COOKIE
from conveyor.server.state import audit, state_of
from conveyor.server.ui.guard import Seen, actor, viewer
from conveyor.server.ui.pages import page
from conveyor.store.errors import NameTaken

router = APIRouter(include_in_schema=False)
Admin = Annotated[Seen, Depends(viewer(Role.ADMIN))]
AdminActor = Annotated[Seen, Depends(actor(Role.ADMIN))]
ROLES = (Role.READ, Role.WRITE, Role.ADMIN)
MAX_NAME = 100
DAY = 86400.0


@router.get("/admin/tokens", response_class=HTMLResponse)
def tokens(request: Request, seen: Admin, revoked: str = "") -> HTMLResponse:
    return _list(request, seen, revoked=revoked)


def _list(
    request: Request,
    seen: Seen,
    *,
    revoked: str = "",
    error: str = "",
    status: int = 200,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    rows = state_of(request).auth.store.access.tokens()
    return page(
        request,
        seen,
        "admin_tokens.html",
        status=status,
        nav="admin",
        tokens=rows,
        now=time.time(),
        roles=[str(r) for r in ROLES],
        revoked=revoked,
        error=error,
        form=form or {"name": "", "role": "read", "expires_days": ""},
    )


@router.post("/admin/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    seen: AdminActor,
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "",
    expires_days: Annotated[str, Form()] = "",
) -> HTMLResponse:
    form = {"name": name, "role": role, "expires_days": expires_days}
    name = name.strip()
    problem = check_token_form(name, role, expires_days)
    if problem:
        return _list(request, seen, error=problem, status=400, form=form)
    expires_in = float(expires_days) * DAY if expires_days.strip() else None
    try:
        token = state_of(request).auth.issue(
            name, Role(role), expires_in=expires_in, by=seen.principal.name
        )
    except NameTaken as exc:
        return _list(request, seen, error=str(exc), status=409, form=form)
    audit(request, seen.principal, "token.create", name, {"role": role, "expires_in": expires_in})
    return page(
        request, seen, "admin_token_new.html", nav="admin", name=name, role=role, token=token
    )


def check_token_form(name: str, role: str, expires_days: str) -> str:
    """What is wrong with the token form, "" when nothing."""
    if not name or len(name) > MAX_NAME:
        return f"a token needs a name of 1 to {MAX_NAME} characters"
    if any(c.isspace() or c == "," for c in name):
        return "a token's name is what reviewers are listed by: no spaces or commas in it"
    if role not in ROLES:
        return f"the role must be one of {', '.join(ROLES)}, not {role!r}"
    if expires_days.strip():
        try:
            days = float(expires_days)
        except ValueError:
            return f"expiry must be a number of days, not {expires_days!r} (empty: never)"
        if not math.isfinite(days) or days <= 0:
            return "expiry must be a positive number of days (empty: never)"
    return ""


@router.get("/admin/tokens/revoke", response_class=HTMLResponse)
def confirm_revoke(request: Request, seen: Admin, name: str = "") -> HTMLResponse:
    known = {row["name"]: row for row in state_of(request).auth.store.access.tokens()}
    if name not in known:
        return _list(request, seen, error=f"there is no token named {name!r}", status=404)
    own = name == seen.principal.name
    return page(request, seen, "admin_token_revoke.html", nav="admin", token=known[name], own=own)


@router.post("/admin/tokens/revoke")
def revoke_token(request: Request, seen: AdminActor, name: Annotated[str, Form()] = "") -> Response:
    if not state_of(request).auth.store.access.revoke_token(name):
        return _list(request, seen, error=f"there is no token named {name!r}", status=404)
    audit(request, seen.principal, "token.revoke", name)
    if name == seen.principal.name:  # this session followed its token out
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response
    query = urllib.parse.urlencode({"revoked": name})
    return RedirectResponse(f"/admin/tokens?{query}", status_code=303)
