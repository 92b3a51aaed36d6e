"""The sign-in contract (issue 15): `GET /login` shows a form with a field named `token`
posting to `/login`; success sets an HttpOnly, SameSite=Strict session cookie and redirects
to `/`; `GET /` without a session redirects to `/login`. Sessions follow their token."""

from __future__ import annotations

import re

import httpx

from conveyor.server.auth import Role
from tests.server.ui.conftest import LOGIN_CSRF, UI


def test_home_without_a_session_redirects_to_login(ui: UI) -> None:
    reply = ui.client().get("/")
    assert reply.status_code == 303
    assert reply.headers["location"].startswith("/login")


def test_login_form_posts_a_token_field_to_login(ui: UI) -> None:
    html = ui.client().get("/login").text
    form = re.search(r'<form method="post" action="/login">(.*?)</form>', html, re.S)
    assert form is not None
    assert 'name="token"' in form.group(1)


def test_a_valid_token_sets_a_strict_httponly_cookie_and_goes_home(ui: UI) -> None:
    token = ui.state.auth.issue("alice", Role.READ)
    client = ui.client()
    csrf = LOGIN_CSRF.search(client.get("/login").text)
    assert csrf
    reply = client.post("/login", data={"token": token, "csrf": csrf.group(1)})
    assert reply.status_code == 303 and reply.headers["location"] == "/"
    cookie = reply.headers["set-cookie"]
    assert "conveyor_session=" in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # no TLS here
    assert token not in cookie
    assert client.get("/").status_code == 200


def test_a_bad_token_shows_the_form_again_with_the_reason(ui: UI) -> None:
    client = ui.client()
    csrf = LOGIN_CSRF.search(client.get("/login").text)
    assert csrf
    reply = client.post("/login", data={"token": "cvy_nope", "csrf": csrf.group(1)})
    assert reply.status_code == 401
    assert "not valid" in reply.text
    assert "conveyor_session" not in reply.headers.get("set-cookie", "")


def test_a_runner_credential_cannot_sign_in(ui: UI) -> None:
    credential = ui.state.auth.register_runner("r1", labels=["x"], scope="org:demo", by="t")
    client = ui.client()
    csrf = LOGIN_CSRF.search(client.get("/login").text)
    assert csrf
    reply = client.post("/login", data={"token": credential, "csrf": csrf.group(1)})
    assert reply.status_code == 401


def test_sign_in_without_the_forms_csrf_value_is_refused(ui: UI) -> None:
    token = ui.state.auth.issue("mallory-victim", Role.ADMIN)
    reply = ui.client().post("/login", data={"token": token, "csrf": "forged"})
    assert reply.status_code == 403
    assert "conveyor_session" not in reply.headers.get("set-cookie", "")


def test_next_goes_only_to_a_local_path(ui: UI) -> None:
    token = ui.state.auth.issue("bob", Role.READ)
    for target, expected in (("/runs?repo=a", "/runs?repo=a"), ("//evil.test/x", "/"),
                             ("https://evil.test/", "/"), ("/\\evil.test", "/")):  # fmt: skip
        client = ui.client()
        csrf = LOGIN_CSRF.search(client.get("/login").text)
        assert csrf
        reply = client.post("/login", data={"token": token, "csrf": csrf.group(1), "next": target})
        assert reply.headers["location"] == expected, target


def test_revoking_the_token_ends_its_sessions(ui: UI) -> None:
    user = ui.sign_in(Role.WRITE, "carol")
    assert user.client.get("/").status_code == 200
    ui.state.auth.store.access.revoke_token("carol")
    assert user.client.get("/").status_code == 303


def test_sign_out_needs_the_csrf_token_and_ends_the_session(ui: UI) -> None:
    user = ui.sign_in(Role.READ)
    forged = user.client.post("/logout", data={"csrf": "x"})
    assert forged.status_code == 403
    assert user.client.get("/").status_code == 200
    assert user.post("/logout").status_code == 303
    assert user.client.get("/").status_code == 303


def test_a_form_from_another_origin_is_refused(ui: UI) -> None:
    user = ui.sign_in(Role.READ)
    reply = user.client.post(
        "/logout",
        data={"csrf": user.csrf},
        headers={"Origin": "https://evil.test"},
    )
    assert reply.status_code == 403


def test_pages_carry_a_strict_csp_and_refuse_framing(ui: UI) -> None:
    reply = ui.client().get("/login")
    csp = reply.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["x-content-type-options"] == "nosniff"


def test_under_tls_the_session_cookie_is_secure(ui: UI) -> None:
    ui.state.secure_cookies = True  # what `build` sets when --tls-cert is given
    token = ui.state.auth.issue("tls-user", Role.READ)
    client = ui.client()
    page = client.get("/login")
    assert "Secure" in page.headers["set-cookie"]  # the form's CSRF cookie too
    csrf = LOGIN_CSRF.search(page.text)
    assert csrf
    # a client keeps a Secure cookie from plain HTTP to itself: send it as a browser on TLS would
    reply = httpx.post(
        f"{ui.url}/login",
        data={"token": token, "csrf": csrf.group(1)},
        headers={"Cookie": f"conveyor_login={csrf.group(1)}"},
    )
    assert reply.status_code == 303
    assert "Secure" in reply.headers["set-cookie"]
