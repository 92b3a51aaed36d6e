"""The Applications pages (issue 15): the list, an app's page (status, resource tree,
conditions, events, promotions), one object's manifests and side-by-side diff, and the
sync history with the diff between any two entries.

Everything comes from the running reconciler through `applink` (the server never imports
the reconciler); its buttons are `routes_appactions`. A reconciler the server does not
know, cannot reach, or that refuses answers with a page that says which and what to do
(`apptrouble`), never a traceback.
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from conveyor.server.auth import Role
from conveyor.server.state import state_of
from conveyor.server.ui import (
    applink,
    apptree,
    promotions,
    routes_appactions,
    sidebyside,
    treehtml,
)
from conveyor.server.ui.apptrouble import app_url, trouble
from conveyor.server.ui.guard import Seen, viewer
from conveyor.server.ui.pages import page

router = APIRouter(include_in_schema=False)
router.include_router(routes_appactions.router)  # the pages' buttons
Viewer = Annotated[Seen, Depends(viewer(Role.READ))]
SHA = re.compile(r"[0-9a-f]{40}")

#: What a finished action's redirect (`?done=ACTION`) says above the app's status.
DONE = {
    "sync": "Sync finished.",
    "refresh": "Refreshed from Git.",
    "rollback": "Rolled back. Auto-sync is paused until the next Sync.",
    "revert": "Revert committed to the config repo; the reconciler deploys it.",
}


@router.get("/apps", response_class=HTMLResponse)
async def apps(request: Request, seen: Viewer) -> HTMLResponse:
    try:
        statuses = await applink.app_statuses(state_of(request))
    except (applink.ReconcilerUnreachable, applink.ReconcilerUnknown) as exc:
        return trouble(request, seen, exc, back="/")
    rows = [apptree.summary(s) for s in statuses.values()]
    return page(request, seen, "apps.html", nav="apps", apps=rows, app_url=app_url)


@router.get("/apps/{name}", response_class=HTMLResponse)
async def app_page(request: Request, name: str, seen: Viewer) -> HTMLResponse:
    state = state_of(request)
    try:
        detail = await applink.app_detail(state, name)
    except (applink.ReconcilerUnreachable, applink.ReconcilerUnknown) as exc:
        return trouble(request, seen, exc, back="/apps")
    status, rows = detail["status"], detail["resources"]
    promoted = await asyncio.to_thread(promotions.of_app, state.service, status)
    done = request.query_params.get("done", "")
    commit = request.query_params.get("commit", "")
    return page(
        request,
        seen,
        "app.html",
        nav="apps",
        app=status,
        url=app_url(name),
        roots=bool(rows),
        tree=treehtml.render(apptree.tree(rows), app_url=app_url(name)),
        counts=apptree.counts(rows),
        attention=apptree.attention(status),
        events=apptree.events(status),
        promotions=promoted,
        done=DONE.get(done, ""),
        commit=commit if SHA.fullmatch(commit) else "",
        quote=applink.quote,
    )


@router.get("/apps/{name}/objects", response_class=HTMLResponse)
async def object_page(request: Request, name: str, ref: str, seen: Viewer) -> HTMLResponse:
    try:
        view = await applink.app_object(state_of(request), name, ref)
    except (applink.ReconcilerUnreachable, applink.ReconcilerUnknown) as exc:
        return trouble(request, seen, exc, back=app_url(name))
    compared = view["compared"]
    return page(
        request,
        seen,
        "app_object.html",
        nav="apps",
        name=name,
        url=app_url(name),
        view=view,
        table=sidebyside.rows(compared["live"], compared["desired"]),
    )


@router.get("/apps/{name}/history", response_class=HTMLResponse)
async def history_page(request: Request, name: str, seen: Viewer) -> HTMLResponse:
    state = state_of(request)
    query = request.query_params
    picked = (query.get("from", ""), query.get("to", ""))
    problem = ""
    try:
        entries = await applink.app_history(state, name)
        diff = None
        if any(picked):
            if all(p.isdigit() for p in picked):
                diff = await applink.history_diff(state, name, int(picked[0]), int(picked[1]))
            else:
                problem = "Pick two entries of the list to compare."
    except (applink.ReconcilerUnreachable, applink.ReconcilerUnknown) as exc:
        return trouble(request, seen, exc, back=app_url(name))
    objects = [
        (o, sidebyside.rows(o["before"], o["after"])) for o in (diff or {}).get("objects", [])
    ]
    return page(
        request,
        seen,
        "app_history.html",
        nav="apps",
        name=name,
        url=app_url(name),
        entries=entries,
        picked=picked,
        diff=diff,
        objects=objects,
        problem=problem,
    )
