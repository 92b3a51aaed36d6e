"""Finding 13 (issue 12): tokens are revoked by name, may expire, and their names are
unique (a name is the identity reviewers are listed by)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.gitutil import git
from tests.server.conftest import Server


def _token(server: Server, name: str, role: str = "write", **extra: object) -> str:
    reply = server.api("POST", "/api/v1/tokens", json={"name": name, "role": role, **extra})
    reply.raise_for_status()
    return str(reply.json()["token"])


def test_a_revoked_token_is_refused_everywhere(server: Server, tmp_path: Path) -> None:
    server.api("POST", "/api/v1/repos", json={"name": "acme/app"}).raise_for_status()
    token = _token(server, "leaver")
    assert server.api("GET", "/api/v1/runs", token=token).status_code == 200
    assert server.api("DELETE", "/api/v1/tokens/leaver", token=token).status_code == 403
    assert server.api("DELETE", "/api/v1/tokens/leaver").status_code == 204
    assert server.api("GET", "/api/v1/runs", token=token).status_code == 401
    clone = ["-c", f"http.extraHeader=Authorization: Bearer {token}", "clone", "-q"]
    with pytest.raises(subprocess.CalledProcessError):
        git(tmp_path, *clone, f"{server.url}/git/acme/app.git", "x")
    assert server.api("DELETE", "/api/v1/tokens/leaver").status_code == 404
    assert "leaver" not in {t["name"] for t in server.api("GET", "/api/v1/tokens").json()}


def test_an_expired_token_is_refused(server: Server) -> None:
    token = _token(server, "temp", "read", expires_in=1.5)
    assert server.api("GET", "/api/v1/runs", token=token).status_code == 200
    listed = {t["name"]: t for t in server.api("GET", "/api/v1/tokens").json()}
    assert listed["temp"]["expires"] > time.time() and listed["admin"]["expires"] is None
    time.sleep(1.7)
    assert server.api("GET", "/api/v1/runs", token=token).status_code == 401


def test_token_and_runner_names_are_unique(server: Server) -> None:
    _token(server, "alice")
    duplicate = server.api("POST", "/api/v1/tokens", json={"name": "alice", "role": "admin"})
    assert duplicate.status_code == 409 and "alice" in duplicate.json()["detail"]
    as_runner = {"name": "alice", "labels": ["self-hosted"], "scope": "org:acme"}
    assert server.api("POST", "/api/v1/runners", json=as_runner).status_code == 409
    names = [t["name"] for t in server.api("GET", "/api/v1/tokens").json()]
    assert names.count("alice") == 1
    # a revoked runner's credential stops at once
    token = server.register_runner("box", "self-hosted")
    assert server.api("GET", "/api/v1/runner/me", token=token).json()["name"] == "box"
    assert server.api("DELETE", "/api/v1/runners/box").status_code == 204
    assert server.api("GET", "/api/v1/runner/me", token=token).status_code == 401
