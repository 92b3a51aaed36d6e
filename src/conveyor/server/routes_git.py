"""Git smart-HTTP hosting at `/git/<owner>/<repo>.git` (webhooks: `server.webhooks`).

Git: every request needs a token (read role, or a runner whose scope covers the repository,
to fetch; write role to push; git sends it as basic auth); `githttp.classify` decides push
or fetch from the decoded request and hands git only the `service` it checked; git gets
`REMOTE_USER` (which turns receive-pack on) only for a write token; `githttp.backend` runs
`git http-backend`. A push's events are what git reports of it (issue 18): the repository's
`post-receive` hook writes git's `<old> <new> <ref>` lines to the push spool
(`ci.pushspool`) before git answers, and `CIService.pushes.take` queues them, each ref update
once, before the client hears back (or, if the database is unavailable, as soon as the
service's intake can: the spool keeps them).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response

from conveyor.ci.pushspool import install_hook
from conveyor.ci.service import CIService
from conveyor.core.errors import ConveyorError
from conveyor.server.auth import Role
from conveyor.server.githttp import GitRequestError, backend, classify
from conveyor.server.state import state_of

router = APIRouter()
#: An owner or repository name: no `..`, no leading dot (Starlette decodes `%2E%2E`).
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
log = logging.getLogger(__name__)


@router.api_route("/git/{owner}/{repo}/{rest:path}", methods=["GET", "POST"])
async def git(request: Request, owner: str, repo: str, rest: str) -> Response:
    """Smart HTTP for a hosted repository (clone/fetch: read role; push: write role)."""
    state = state_of(request)
    principal = state.auth.from_header(request.headers.get("authorization", ""))
    if not (_NAME.fullmatch(owner) and _NAME.fullmatch(repo)):
        raise HTTPException(404, "no such repository")
    path = f"/{owner}/{repo.removesuffix('.git')}.git/{rest}"  # decoded by Starlette
    try:
        git_request = classify(path, request.url.query)
    except GitRequestError as exc:
        raise HTTPException(400, str(exc)) from exc
    pushing = git_request.pushing
    needed = Role.WRITE if pushing else Role.READ
    full = f"{owner}/{repo.removesuffix('.git')}"
    allowed = principal is not None and (
        principal.can(needed) or (not pushing and state.auth.may_clone(principal, full))
    )  # a runner clones only the repositories of its scope (issue 12)
    if principal is None or not allowed:
        code = 401 if principal is None else 403
        return Response(
            "authentication required\n",
            status_code=code,
            headers={"WWW-Authenticate": 'Basic realm="conveyor"'},
        )
    git_dir = state.service.repo_path(full)
    if not git_dir.exists():
        raise HTTPException(404, f"no repository {full}")
    body = await request.body()
    writer = principal.can(Role.WRITE)
    call = functools.partial(
        backend,
        state.service.config.git_root,
        method=request.method,
        path=path,
        query=git_request.query,
        body=body,
        # http-backend allows receive-pack whenever REMOTE_USER is set: only for writers
        user=principal.name if writer else "",
        headers=dict(request.headers),
    )
    if pushing and request.method == "POST" and writer:
        reply = await _receive(state.service, git_dir, full, principal.name, call)
    else:
        reply = await asyncio.to_thread(call)
    status, headers, payload = reply
    return Response(payload, status_code=status, headers=dict(headers))


Reply = tuple[int, list[tuple[str, str]], bytes]


async def _receive(
    service: CIService, git_dir: Path, full: str, pusher: str, call: Callable[..., Reply]
) -> Reply:
    """A push: git's hook spools the refs it updated, which are then queued, each once.

    Queued before the client hears back; if that fails now (the database is away), the
    spool keeps the push and the service's intake queues it as soon as it can.
    """
    await asyncio.to_thread(install_hook, git_dir)  # also repositories from before issue 18
    push_id = service.pushes.spool.new_id()
    env = service.pushes.receiving(push_id, repo=full, pusher=pusher)
    try:
        return await asyncio.to_thread(call, env=env)
    finally:
        try:
            await service.pushes.take(push_id)
        except ConveyorError as exc:
            log.warning("push %s to %s not queued yet (%s); it will be", push_id, full, exc)
