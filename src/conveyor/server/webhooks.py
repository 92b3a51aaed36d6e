"""GitHub webhooks at `/hooks/github`, and each repository's webhook secret (admin only).

The body is capped and must carry `X-Hub-Signature-256` before it is read
(`server.limits`); it is parsed only to learn which repository's secret signs it, and
nothing else happens before `ci.webhooks.Webhooks.verify` accepts the signature (401
otherwise, also for a signature that is not ASCII). Then `X-GitHub-Delivery` (required)
makes a replay a no-op, and push, pull_request, pull_request_target and workflow_dispatch
deliveries become runs (`Webhooks.deliver`: clone URL, commit and fork rules).
`PUT /api/v1/repos/{owner}/{repo}/hooks/secret` sets a repository's own secret (write-only:
the API never shows it), `DELETE` returns the repository to the global secret.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from conveyor.ci.events import github_event
from conveyor.ci.webhooks import Webhooks
from conveyor.server.auth import Principal, Role
from conveyor.server.state import need, state_of

router = APIRouter()
log = logging.getLogger(__name__)
Admin = Annotated[Principal, Depends(need(Role.ADMIN))]


class SecretBody(BaseModel):
    value: str


def _webhooks(request: Request) -> Webhooks:
    hooks = state_of(request).webhooks
    if hooks is None:
        raise HTTPException(404, "this server takes no GitHub webhooks")
    return hooks


@router.post("/hooks/github")
async def github(request: Request) -> dict[str, Any]:
    """A GitHub webhook delivery, verified by HMAC-SHA256 (X-Hub-Signature-256) with the
    repository's webhook secret, else the server's."""
    hooks = _webhooks(request)
    body = await request.body()
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    repo = payload.get("repository") if isinstance(payload, dict) else None
    full_name = str(repo.get("full_name", "")) if isinstance(repo, dict) else ""
    if not hooks.verify(full_name, body, request.headers.get("x-hub-signature-256", "")):
        raise HTTPException(401, "webhook signature does not match")
    if not isinstance(payload, dict):
        raise HTTPException(400, "webhook body is not a JSON object")
    name = request.headers.get("x-github-event", "")
    delivery = request.headers.get("x-github-delivery", "").strip()
    if not delivery:
        raise HTTPException(400, "missing X-GitHub-Delivery: GitHub sends one with each delivery")
    event = github_event(name, payload)
    if event is None:
        return {"ignored": name}
    return await hooks.deliver(event, payload, delivery)


@router.put("/api/v1/repos/{owner}/{repo}/hooks/secret", status_code=204)
def put_hook_secret(request: Request, owner: str, repo: str, body: SecretBody, _: Admin) -> None:
    """The repository's own webhook secret (deliveries for it no longer accept the global)."""
    _webhooks(request).put_secret(f"{owner}/{repo}", body.value)


@router.delete("/api/v1/repos/{owner}/{repo}/hooks/secret", status_code=204)
def delete_hook_secret(request: Request, owner: str, repo: str, _: Admin) -> None:
    if not _webhooks(request).delete_secret(f"{owner}/{repo}"):
        raise HTTPException(404, f"{owner}/{repo} has no webhook secret of its own")
