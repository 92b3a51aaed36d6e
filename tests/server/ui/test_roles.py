"""Every UI route and action, for each role (issue 15): the test finds the routes itself
(`conveyor.server.app.route_entries`), so routes added later are covered without a change.

A UI route is one outside the API, Git, webhooks, health, metrics, OpenAPI and static
files. Each declares its role through the guard's dependencies (`guard.viewer(role)` for a
page, `guard.actor(role)` for a form's POST: both carry `.role`); only the sign-in form is
open. Then, on a real server with a seeded store (a hosted repository, a run waiting for
the review of an environment, a token):
- pages: no session → 303 to /login; a role below the route's → 403; at or above it the
  guard lets the request through (no 401/403, no redirect to /login);
- actions: no session → refused (401 before the body is read, or 303 to /login); below the
  route's role → 403 even with this session's CSRF token; a missing or forged CSRF token,
  or another site's Origin, → 403 even for an admin; at or above the role, with the
  session's CSRF token → not refused.
Path parameters are filled from the seeded store by name (any other value where the route
answers 404 serves too: only the guard's outcome matters here).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from conveyor.server.app import route_entries
from conveyor.server.auth import RANK, Role
from tests.server.ui.conftest import UI, SignedIn
from tests.server.ui.deploy_seed import protect, waiting_run

NOT_UI = ("/api", "/git", "/hooks", "/healthz", "/metrics", "/openapi.json", "/docs", "/static")
OPEN = {("GET", "/login"), ("POST", "/login")}
ROLES = (Role.READ, Role.WRITE, Role.ADMIN)
PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


@dataclass(frozen=True)
class UIRoute:
    method: str
    path: str
    role: Role

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.role})"


def is_ui(path: str) -> bool:
    return not any(path == p or path.startswith(p + "/") for p in NOT_UI)


def declared_roles(dependant: Any) -> set[Role]:
    """The `.role` of every guard dependency under `dependant`, however deep."""
    roles: set[Role] = set()
    for dep in dependant.dependencies:
        role = getattr(dep.call, "role", None)
        if role is not None:
            roles.add(Role(role))
        roles |= declared_roles(dep)
    return roles


def ui_routes(app: FastAPI) -> tuple[list[UIRoute], list[str]]:
    """The UI's routes with their role, and the problems (no role, several roles)."""
    out, problems = [], []
    for method, path, route in route_entries(app):
        if not is_ui(path) or (method, path) in OPEN:
            continue
        dependant = getattr(route, "dependant", None)
        roles = declared_roles(dependant) if dependant is not None else set()
        if len(roles) != 1:
            problems.append(f"{method} {path} declares {sorted(roles) or 'no role'}")
            continue
        out.append(UIRoute(method=method, path=path, role=roles.pop()))
    return out, problems


@dataclass
class Seeded:
    ui: UI
    values: dict[str, str]
    counter: Iterator[int]

    def url(self, route: UIRoute) -> str:
        return PARAM.sub(lambda m: self.values.get(m.group(1), self.values["run_id"]), route.path)

    def session(self, role: Role) -> SignedIn:
        """A new session (an action may end it: sign out, revoke)."""
        return self.ui.sign_in(role, f"{role}-{next(self.counter)}")


@pytest.fixture
def seeded(ui: UI, tmp_path: Path) -> Seeded:
    protect(ui.state.service, reviewers=["alice"])
    run_id = waiting_run(ui.state.service, tmp_path)
    ui.state.auth.issue("alice", Role.WRITE)
    values = {"run_id": str(run_id), "id": str(run_id), "owner": "acme", "repo": "app",
              "env": "production", "environment": "production", "name": "alice"}  # fmt: skip
    return Seeded(ui=ui, values=values, counter=iter(range(10_000)))


def below(route: UIRoute) -> list[Role]:
    return [r for r in ROLES if RANK[r] < RANK[route.role]]


def at_or_above(route: UIRoute) -> list[Role]:
    return [r for r in ROLES if RANK[r] >= RANK[route.role]]


def status_of(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """The answer's status and headers only (a page may stream: its body is not read)."""
    with client.stream(method, url, **kwargs) as reply:
        return reply


def to_login(reply: httpx.Response) -> bool:
    return reply.status_code == 303 and reply.headers.get("location", "").startswith("/login")


def test_every_ui_route_declares_a_role(ui: UI) -> None:
    routes, problems = ui_routes(ui.app)
    assert not problems, problems
    known = {(r.method, r.path) for r in routes}
    for expected in (("GET", "/"), ("GET", "/deployments"), ("POST", "/deployments/decide"),
                     ("GET", "/admin/tokens"), ("POST", "/logout")):  # fmt: skip
        assert expected in known, expected  # the enumeration sees the UI's routes
    roles = {(r.method, r.path): r.role for r in routes}
    assert roles[("GET", "/admin")] is Role.ADMIN
    assert roles[("POST", "/deployments/decide")] is Role.WRITE


def test_admin_routes_need_admin_and_actions_need_write(ui: UI) -> None:
    """The roles' meaning (README): read sees, write acts, admin administers. Holds for
    routes added later too."""
    for route in ui_routes(ui.app)[0]:
        if route.path == "/admin" or route.path.startswith("/admin/"):
            assert route.role is Role.ADMIN, route
        elif route.method != "GET" and route.path != "/logout":
            assert RANK[route.role] >= RANK[Role.WRITE], route


def test_pages_admit_their_role_and_above_only(seeded: Seeded) -> None:
    routes = [r for r in ui_routes(seeded.ui.app)[0] if r.method == "GET"]
    assert routes
    sessions = {role: seeded.session(role) for role in ROLES}
    wrong = []
    for route in routes:
        url = seeded.url(route)
        if not to_login(status_of(seeded.ui.client(), "GET", url)):
            wrong.append(f"{route}: no session was not sent to /login")
        for role in below(route):
            if status_of(sessions[role].client, "GET", url).status_code != 403:
                wrong.append(f"{route}: {role} was not refused")
        for role in at_or_above(route):
            reply = status_of(sessions[role].client, "GET", url)
            if reply.status_code in (401, 403) or to_login(reply):
                wrong.append(f"{route}: {role} was refused ({reply.status_code})")
    assert not wrong, "\n".join(wrong)


def test_actions_admit_their_role_and_above_only(seeded: Seeded) -> None:
    routes = [r for r in ui_routes(seeded.ui.app)[0] if r.method != "GET"]
    assert routes
    wrong = []
    for route in routes:
        url = seeded.url(route)
        anonymous = status_of(seeded.ui.client(), route.method, url, data={"csrf": "x"})
        if anonymous.status_code != 401 and not to_login(anonymous):
            wrong.append(f"{route}: no session got {anonymous.status_code}")
        for role in ROLES:
            user = seeded.session(role)
            reply = status_of(user.client, route.method, url, data={"csrf": user.csrf})
            refused = reply.status_code in (401, 403)  # (/logout itself goes to /login)
            if refused != (role in below(route)) or (refused and reply.status_code != 403):
                wrong.append(f"{route}: {role} got {reply.status_code}")
    assert not wrong, "\n".join(wrong)


def test_actions_refuse_a_missing_or_forged_csrf_or_foreign_origin_even_for_admin(
    seeded: Seeded,
) -> None:
    routes = [r for r in ui_routes(seeded.ui.app)[0] if r.method != "GET"]
    wrong = []
    for route in routes:
        url = seeded.url(route)
        admin = seeded.session(Role.ADMIN)
        attempts = {
            "missing": {"data": {}},
            "forged": {"data": {"csrf": admin.csrf[:-2] + "xx"}},
            "foreign origin": {
                "data": {"csrf": admin.csrf},
                "headers": {"origin": "https://evil.test"},
            },
        }
        for what, kwargs in attempts.items():
            reply = status_of(admin.client, route.method, url, **kwargs)
            if reply.status_code != 403:
                wrong.append(f"{route}: {what} CSRF got {reply.status_code}")
        if admin.get("/deployments").status_code != 200:
            wrong.append(f"{route}: a refused form still acted (the session ended)")
    assert not wrong, "\n".join(wrong)
