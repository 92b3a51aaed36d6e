"""Security: every route needs a token, roles are enforced, secrets never leak."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from conveyor.server.app import route_table
from conveyor.server.main import ServerConfig, build
from tests.server.conftest import Server, push_workflows

SECRET = "s3cr3t-Value-42"
ENV_SECRET = "pr0d-Only-Value-77"


def _routes(tmp_path: Path) -> list[tuple[str, str]]:
    app, state = build(ServerConfig(data_dir=tmp_path / "enumerate"))
    state.service.store.close()
    return [(m, re.sub(r"\{[^}:]+(:path)?\}", "x", p)) for m, p in route_table(app)]


def _expected(method: str, path: str) -> int:
    """/healthz is open, the sign-in form too; a UI page sends the browser to /login; a UI
    form POST without a session is refused before its body is read; the rest is 401."""
    if path == "/healthz" or (method, path) == ("GET", "/login"):
        return 200
    if path == "/login":
        return 403  # a sign-in with no form CSRF value
    if path.startswith(("/api/", "/git/", "/hooks/", "/metrics", "/openapi", "/docs")):
        return 401
    if path == "/static":
        return 307  # the assets' directory: public CSS and JavaScript, no data
    return 303 if method == "GET" else 401


def test_every_route_but_healthz_needs_a_token(server: Server, tmp_path: Path) -> None:
    routes = _routes(tmp_path)
    assert len(routes) > 30
    for method, path in routes:
        reply = httpx.request(method, f"{server.url}{path}", json={})
        expected = _expected(method, path)
        assert reply.status_code == expected, (method, path, reply.status_code)
        bad = httpx.request(
            method, f"{server.url}{path}", json={}, headers={"Authorization": "Bearer nope"}
        )
        assert bad.status_code == expected, (method, path, bad.status_code)


def test_read_role_cannot_approve_or_write_secrets(server: Server) -> None:
    token = server.api("POST", "/api/v1/tokens", json={"name": "viewer", "role": "read"}).json()
    read = token["token"]
    assert server.api("GET", "/api/v1/runs", token=read).status_code == 200
    for method, path, body in [
        ("PUT", "/api/v1/repos/acme/app/secrets/TOKEN", {"value": "x"}),
        ("PUT", "/api/v1/orgs/acme/secrets/TOKEN", {"value": "x"}),
        ("PUT", "/api/v1/repos/acme/app/environments/production/secrets/T", {"value": "x"}),
        ("PUT", "/api/v1/repos/acme/app/environments/production", {"reviewers": []}),
        ("POST", "/api/v1/runs/1/approve", {"environment": "production"}),
        ("POST", "/api/v1/runs/1/reject", {"environment": "production"}),
        ("POST", "/api/v1/runs/1/cancel", {}),
        ("POST", "/api/v1/tokens", {"name": "x", "role": "admin"}),
        ("POST", "/api/v1/runner/poll", {"runner": "r", "labels": []}),
    ]:
        assert server.api(method, path, token=read, json=body).status_code == 403, path


def test_secrets_never_appear_in_responses_or_logs(server: Server, tmp_path: Path) -> None:
    server.api("POST", "/api/v1/repos", json={"name": "acme/app"}).raise_for_status()
    put = server.api("PUT", "/api/v1/repos/acme/app/secrets/TOKEN", json={"value": SECRET})
    assert put.status_code == 204
    server.api("PUT", "/api/v1/orgs/acme/secrets/ORG_TOKEN", json={"value": SECRET + "o"})
    server.api(
        "PUT",
        "/api/v1/repos/acme/app/environments/production/secrets/PROD",
        json={"value": ENV_SECRET},
    )
    workflow = """on: push
jobs:
  leak:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - run: echo "token=${{ secrets.TOKEN }} org=${{ secrets.ORG_TOKEN }} prod=${{ secrets.PROD }}"
      - run: echo "::error::failing with ${{ secrets.TOKEN }}"; exit 1
"""
    push_workflows(server, tmp_path, "acme/app", {".github/workflows/leak.yml": workflow})
    run = server.wait_run(server.runs("acme/app")[0]["id"])
    assert run["conclusion"] == "failure"
    logs = server.api("GET", f"/api/v1/runs/{run['id']}/logs").text
    assert "token=***" in logs and "prod=***" in logs
    listing = server.api("GET", "/api/v1/repos/acme/app/secrets").json()
    assert [s["name"] for s in listing] == ["TOKEN"]
    texts = [logs, server.log.read_text()]
    for method, path in _routes(tmp_path):
        if method == "GET" and not path.startswith("/git/"):
            concrete = path.replace("/repos/x/x", "/repos/acme/app").replace(
                "/orgs/x", "/orgs/acme"
            )
            concrete = concrete.replace("/runs/x", f"/runs/{run['id']}").replace(
                "/x", "/production"
            )
            texts.append(server.api("GET", concrete).text)
    for path in (
        "/api/v1/runs",
        f"/api/v1/runs/{run['id']}",
        "/api/v1/repos/acme/app/secrets",
        "/api/v1/orgs/acme/secrets",
        "/api/v1/repos/acme/app/environments/production/secrets",
        "/metrics",
        "/openapi.json",
    ):
        texts.append(server.api("GET", path).text)
    db = (server.data / "conveyor.db").read_bytes()
    for text in texts:
        assert SECRET not in text and ENV_SECRET not in text
    assert SECRET.encode() not in db and ENV_SECRET.encode() not in db
    key = server.data / "secret.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert (server.data / "admin-token").stat().st_mode & 0o777 == 0o600
