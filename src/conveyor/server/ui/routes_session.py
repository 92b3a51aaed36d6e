"""Signing in and out of the web UI: the form contract other tools rely on (issue 15).

- `GET /login`: a form with a field named `token` that posts to `/login` (and a `csrf`
  field, matched against a short-lived cookie the page sets: login CSRF).
- `POST /login`: a valid API token (not a runner's) becomes a session cookie
  (`HttpOnly`, `SameSite=Strict`, `Secure` under TLS) and a 303 to `next` (a local path) or
  `/`; an invalid one gets the form again with 401 and says why.
- `POST /logout`: ends the session (CSRF-checked) and goes back to `/login`.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from conveyor.server.auth import Role
from conveyor.server.sessions import COOKIE, same_secret
from conveyor.server.state import state_of
from conveyor.server.ui.guard import CsrfRejected, Seen, actor, local_next, signed_in
from conveyor.server.ui.pages import page

router = APIRouter(include_in_schema=False)
LOGIN_COOKIE = "conveyor_login"  # the sign-in form's CSRF value, for 10 minutes


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    if signed_in(request) is not None:
        return RedirectResponse(local_next(next), status_code=303)
    return _form(request, next=local_next(next), error="", status=200)


def _form(request: Request, *, next: str, error: str, status: int) -> Response:
    nonce = secrets.token_urlsafe(24)
    response = page(
        request, None, "login.html", status=status, next=next, error=error, login_csrf=nonce
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=600,
        httponly=True,
        samesite="strict",
        secure=state_of(request).secure_cookies,
        path="/login",
    )
    return response


@router.post("/login")
def login(
    request: Request,
    token: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.headers.get('host')}":
        raise CsrfRejected(f"a sign-in from {origin} is not accepted here")
    if not same_secret(csrf, request.cookies.get(LOGIN_COOKIE, "")):
        return _form(
            request,
            next=local_next(next),
            error="The sign-in form expired. Paste your token again.",
            status=403,
        )
    state = state_of(request)
    opened = state.ui_sessions.open(token)
    if opened is None:
        return _form(
            request,
            next=local_next(next),
            error=(
                "That token is not valid: it is unknown, revoked, expired or a runner's. "
                "Use an API token (the admin token is in <data>/admin-token)."
            ),
            status=401,
        )
    cookie, _ = opened
    response = RedirectResponse(local_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(state.ui_sessions.lifetime),
        httponly=True,
        samesite="strict",
        secure=state.secure_cookies,
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, _: Annotated[Seen, Depends(actor(Role.READ))]) -> Response:
    state_of(request).ui_sessions.close(request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
