"""GitHub webhooks at `/hooks/github` (the server's secret) and
`/hooks/github/{owner}/{repo}` (the repository's own secret, else the server's), and each
repository's webhook secret (admin only).

The body is capped and must carry `X-Hub-Signature-256` before it is read
(`server.limits`); it streams through the HMAC into a spool that keeps at most 1 MiB in
memory, and nothing is parsed before the signature matches (401 otherwise, also for a
signature that is not ASCII): an unauthenticated sender cannot make the server hold its
body. Then the payload must be about the URL's repository (a delivery at `/hooks/github`
about a repository with its own secret is refused), `X-GitHub-Delivery` (required) makes a
replay a no-op, and push, pull_request, pull_request_target and workflow_dispatch
deliveries become runs (`ci.webhooks.Webhooks.deliver`: clone URL, commit and fork rules).
`PUT /api/v1/repos/{owner}/{repo}/hooks/secret` sets a repository's own secret (write-only:
the API never shows it), `DELETE` returns the repository to the global secret.
"""

from __future__ import annotations

import json
import tempfile
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel

from conveyor.ci.events import github_event
from conveyor.ci.webhooks import Webhooks
from conveyor.server.auth import Principal, Role
from conveyor.server.state import need, state_of

router = APIRouter()
Admin = Annotated[Principal, Depends(need(Role.ADMIN))]
IN_MEMORY = 1024 * 1024  # of a body not yet verified; the rest waits in a temporary file


class SecretBody(BaseModel):
    value: str


def _webhooks(request: Request) -> Webhooks:
    hooks = state_of(request).webhooks
    if hooks is None:
        raise HTTPException(404, "this server takes no GitHub webhooks")
    return hooks


@router.post("/hooks/github")
async def github(request: Request) -> dict[str, Any]:
    """A GitHub webhook delivery signed with the server's webhook secret."""
    return await _delivery(request, None)


@router.post("/hooks/github/{owner}/{repo}")
async def github_repo(request: Request, owner: str, repo: str) -> dict[str, Any]:
    """A delivery for one repository, signed with its own secret (else the server's)."""
    return await _delivery(request, f"{owner}/{repo}")


async def _delivery(request: Request, repo: str | None) -> dict[str, Any]:
    hooks = _webhooks(request)
    signer = hooks.signer(repo)
    if signer is None:
        raise HTTPException(401, "no webhook secret is configured for this URL")
    with tempfile.SpooledTemporaryFile(max_size=IN_MEMORY) as spool:
        async for piece in request.stream():
            signer.update(piece)
            spool.write(piece)
        if not signer.matches(request.headers.get("x-hub-signature-256", "")):
            raise HTTPException(401, "webhook signature does not match")
        spool.seek(0)
        body = spool.read()
    payload = _json_object(body)
    about = str((payload.get("repository") or {}).get("full_name", ""))
    if repo is not None and about.lower() != repo.lower():
        raise HTTPException(400, f"a delivery about {about!r} at the URL of {repo}")
    if repo is None and hooks.has_own_secret(about):
        raise HTTPException(
            401, f"{about} has its own webhook secret: deliver to /hooks/github/{about}"
        )
    name = request.headers.get("x-github-event", "")
    delivery = request.headers.get("x-github-delivery", "").strip()
    if not delivery:
        raise HTTPException(400, "missing X-GitHub-Delivery: GitHub sends one with each delivery")
    event = github_event(name, payload)
    if event is None:
        return {"ignored": name}
    traceparent = request.headers.get("traceparent", "")  # W3C Trace Context (issue 17)
    return await hooks.deliver(event, payload, delivery, traceparent=traceparent)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise HTTPException(400, "webhook body is not JSON") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("repository") or {}, dict):
        raise HTTPException(400, "webhook body is not a JSON object with a repository")
    return payload


@router.put("/api/v1/repos/{owner}/{repo}/hooks/secret", status_code=204)
def put_hook_secret(request: Request, owner: str, repo: str, body: SecretBody, _: Admin) -> None:
    """The repository's own webhook secret: GitHub delivers to /hooks/github/{owner}/{repo}."""
    _webhooks(request).put_secret(f"{owner}/{repo}", body.value)


@router.delete("/api/v1/repos/{owner}/{repo}/hooks/secret", status_code=204)
def delete_hook_secret(request: Request, owner: str, repo: str, _: Admin) -> None:
    if not _webhooks(request).delete_secret(f"{owner}/{repo}"):
        raise HTTPException(404, f"{owner}/{repo} has no webhook secret of its own")
