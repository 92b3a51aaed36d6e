"""Finding 5 (issue 12): environment protection rules are admin-only, as on GitHub, and
every change to them, to secrets and to tokens lands in an audit log admins can read (who,
what, target, when; never a secret value)."""

from __future__ import annotations

import time

from tests.server.conftest import Server

SECRET = "audit-must-not-see-this-0042"


def test_a_write_token_cannot_change_protection_rules(server: Server) -> None:
    server.api("POST", "/api/v1/repos", json={"name": "acme/app"}).raise_for_status()
    base = "/api/v1/repos/acme/app/environments/production"
    rules = {"reviewers": ["alice"], "branches": ["main"], "wait_timer": 0}
    assert server.api("PUT", base, json=rules).status_code == 204
    write = server.api("POST", "/api/v1/tokens", json={"name": "dev", "role": "write"}).json()
    for change in ({"reviewers": ["dev"]}, {"reviewers": []}, {"branches": ["*"]}):
        reply = server.api("PUT", base, token=write["token"], json={**rules, **change})
        assert reply.status_code == 403, change
    (env,) = server.api("GET", "/api/v1/repos/acme/app/environments").json()
    assert (env["reviewers"], env["branches"]) == (["alice"], ["main"])


def test_changes_to_rules_secrets_and_tokens_are_audited(server: Server) -> None:
    started = time.time()
    server.api("POST", "/api/v1/repos", json={"name": "acme/app"}).raise_for_status()
    write = server.api("POST", "/api/v1/tokens", json={"name": "dev", "role": "write"}).json()
    rules = {"reviewers": ["alice"], "branches": ["main"]}
    server.api("PUT", "/api/v1/repos/acme/app/environments/production", json=rules)
    secret = "/api/v1/repos/acme/app/environments/production/secrets/KEY"
    server.api("PUT", secret, token=write["token"], json={"value": SECRET}).raise_for_status()
    server.api("DELETE", "/api/v1/tokens/dev").raise_for_status()

    assert server.api("GET", "/api/v1/audit", token=write["token"]).status_code == 401
    reply = server.api("GET", "/api/v1/audit")
    assert SECRET not in reply.text
    seen = [(r["actor"], r["action"], r["target"]) for r in reply.json()]
    assert seen == [
        ("admin", "token.create", "dev"),
        ("admin", "environment.put", "acme/app:production"),
        ("dev", "secret.put", "env:acme/app:production/KEY"),
        ("admin", "token.revoke", "dev"),
    ]
    env_row = reply.json()[1]
    assert env_row["detail"]["reviewers"] == ["alice"] and env_row["at"] >= started
    reader = server.api("POST", "/api/v1/tokens", json={"name": "ro", "role": "read"}).json()
    assert server.api("GET", "/api/v1/audit", token=reader["token"]).status_code == 403
