"""Git smart-HTTP hosting at `/git/<owner>/<repo>.git` (webhooks: `server.webhooks`).

Git: every request needs a token (read role to fetch, write role to push; git sends it as
basic auth); `githttp.backend` runs `git http-backend`. After an accepted push the refs
before and after are compared and each updated ref becomes `CIService.handle_push`.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request, Response

from conveyor.server.auth import Role
from conveyor.server.githttp import backend
from conveyor.server.state import state_of

router = APIRouter()
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
    query = request.url.query
    pushing = "git-receive-pack" in query or rest.endswith("git-receive-pack")
    needed = Role.WRITE if pushing else Role.READ
    if principal is None or not principal.can(needed):
        code = 401 if principal is None else 403
        return Response(
            "authentication required\n",
            status_code=code,
            headers={"WWW-Authenticate": 'Basic realm="conveyor"'},
        )
    full = f"{owner}/{repo.removesuffix('.git')}"
    git_dir = state.service.repo_path(full)
    if not git_dir.exists():
        raise HTTPException(404, f"no repository {full}")
    body = await request.body()
    before = await asyncio.to_thread(_refs, git_dir) if pushing and request.method == "POST" else {}
    status, headers, payload = await asyncio.to_thread(
        backend,
        state.service.config.git_root,
        method=request.method,
        path=f"/{owner}/{repo.removesuffix('.git')}.git/{rest}",
        query=query,
        body=body,
        user=principal.name,
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
