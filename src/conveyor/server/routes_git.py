"""Git smart-HTTP hosting at `/git/<owner>/<repo>.git` (webhooks: `server.webhooks`).

Git: every request needs a token (read role, or a runner whose scope covers the repository,
to fetch; write role to push; git sends it as basic auth); `githttp.classify` decides push
or fetch from the decoded request and hands git only the `service` it checked; git gets
`REMOTE_USER` (which turns receive-pack on) only for a write token; `githttp.backend` runs
`git http-backend`. After an accepted push the refs before and after are compared and each
updated ref becomes `CIService.handle_push`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response

from conveyor.server.auth import Role
from conveyor.server.githttp import GitRequestError, backend, classify
from conveyor.server.state import state_of

router = APIRouter()
#: An owner or repository name: no `..`, no leading dot (Starlette decodes `%2E%2E`).
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
log = logging.getLogger(__name__)


def _refs(git_dir: Path) -> dict[str, str]:
    done = subprocess.run(
        ["git", "--git-dir", str(git_dir), "for-each-ref", "--format=%(refname) %(objectname)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)


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
    before = await asyncio.to_thread(_refs, git_dir) if pushing and request.method == "POST" else {}
    status, headers, payload = await asyncio.to_thread(
        backend,
        state.service.config.git_root,
        method=request.method,
        path=path,
        query=git_request.query,
        body=body,
        # http-backend allows receive-pack whenever REMOTE_USER is set: only for writers
        user=principal.name if principal.can(Role.WRITE) else "",
        headers=dict(request.headers),
    )
    if pushing and request.method == "POST" and status == 200:
        after = await asyncio.to_thread(_refs, git_dir)
        for ref, sha in sorted(after.items()):
            if before.get(ref) != sha:
                await state.service.handle_push(
                    full,
                    ref=ref,
                    before=before.get(ref, "0" * 40),
                    after=sha,
                    pusher=principal.name,
                )
    return Response(payload, status_code=status, headers=dict(headers))
