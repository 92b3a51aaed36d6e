"""Signed GitHub webhook deliveries for the attack tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx

from tests.server.conftest import Server

GLOBAL_SECRET = "hook-secret"  # what tests/server's fixture sets as CONVEYOR_WEBHOOK_SECRET


def deliver(
    server: Server,
    event: str,
    payload: dict[str, Any],
    *,
    secret: str = GLOBAL_SECRET,
    delivery: str | None = None,
    signature: bytes | None = None,
    path: str = "/hooks/github",
) -> httpx.Response:
    body = json.dumps(payload).encode()
    signed = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers: dict[str, str | bytes] = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature if signature is not None else signed,
        "Content-Type": "application/json",
    }
    return httpx.post(f"{server.url}{path}", content=body, headers=headers, timeout=60)


def push_payload(
    repo: str, sha: str, *, ref: str = "refs/heads/main", url: str = ""
) -> dict[str, Any]:
    return {
        "ref": ref,
        "before": "0" * 40,
        "after": sha,
        "repository": {"full_name": repo, "clone_url": url or f"https://github.com/{repo}.git"},
        "sender": {"login": "octocat"},
    }
