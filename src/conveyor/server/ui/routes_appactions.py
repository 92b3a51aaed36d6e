"""The Applications pages' buttons (issue 15): Sync, Refresh, Rollback and Revert, each a
CSRF-checked form POST for the write role, sent to the running reconciler (`applink.act`,
its `POST /apps/APP/ACTION`) in the name of the signed-in user (`by=ui:NAME`, shown in
the sync history). Success redirects (303) to the app's page, which says what was done;
a refusal (409: no earlier revision to roll back to, nothing to revert …) or an
unreachable reconciler is a page with the reason (`apptrouble`). Included by
`routes_apps`'s router.
"""

from __future__ import annotations

import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from conveyor.server.auth import Role
from conveyor.server.state import state_of
from conveyor.server.ui import applink
from conveyor.server.ui.apptrouble import app_url, trouble
from conveyor.server.ui.guard import Seen, actor

router = APIRouter(include_in_schema=False)
Actor = Annotated[Seen, Depends(actor(Role.WRITE))]


async def _act(request: Request, seen: Seen, name: str, action: str) -> Response:
    form = await request.form()
    params = {"by": f"ui:{seen.principal.name}"}
    entry = str(form.get("id") or "")
    if action in ("rollback", "revert") and entry:
        params["id"] = entry
    if action == "sync":
        params["prune"] = "true" if form.get("prune") else "false"
    try:
        status = await applink.act(state_of(request), name, action, **params)
    except (applink.ReconcilerUnreachable, applink.ReconcilerUnknown) as exc:
        return trouble(request, seen, exc, back=app_url(name))
    done = {"done": action}
    if status.get("revertCommit"):
        done["commit"] = str(status["revertCommit"])
    return RedirectResponse(f"{app_url(name)}?{urllib.parse.urlencode(done)}", status_code=303)


@router.post("/apps/{name}/sync", response_class=HTMLResponse)
async def sync(request: Request, name: str, seen: Actor) -> Response:
    return await _act(request, seen, name, "sync")


@router.post("/apps/{name}/refresh", response_class=HTMLResponse)
async def refresh(request: Request, name: str, seen: Actor) -> Response:
    return await _act(request, seen, name, "refresh")


@router.post("/apps/{name}/rollback", response_class=HTMLResponse)
async def rollback(request: Request, name: str, seen: Actor) -> Response:
    return await _act(request, seen, name, "rollback")


@router.post("/apps/{name}/revert", response_class=HTMLResponse)
async def revert(request: Request, name: str, seen: Actor) -> Response:
    return await _act(request, seen, name, "revert")
