"""The home page, the pipeline board (`GET /`, its htmx body `GET /board/body` refreshed
every few seconds), and a commit's journey (`GET /commits/{owner}/{repo}/{sha}`).

Both ask the reconciler for the applications' statuses (`applink.app_statuses`); when it
is unknown or unreachable they still show CI and say why application state is missing.
The data is gathered in a worker thread (`boarddata.build`, `journey.build`: store reads
and a few `git` processes on the hosted repositories).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from conveyor.server.auth import Role
from conveyor.server.state import ServerState, state_of
from conveyor.server.ui import applink, boarddata, journey
from conveyor.server.ui.boarddata import Statuses
from conveyor.server.ui.guard import Seen, viewer
from conveyor.server.ui.pages import fragment, page

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Seen, Depends(viewer(Role.READ))]
#: Seconds between the board's refreshes (htmx `every`).
REFRESH_SECONDS = 3


async def statuses(state: ServerState) -> tuple[Statuses | None, str]:
    """The applications' statuses, or None and the reason they are unavailable."""
    try:
        return await applink.app_statuses(state), ""
    except (applink.ReconcilerUnknown, applink.ReconcilerUnreachable) as exc:
        return None, str(exc)


async def _board(request: Request) -> boarddata.Board:
    state = state_of(request)
    found, problem = await statuses(state)
    return await run_in_threadpool(boarddata.build, state.service, found, problem)


@router.get("/", response_class=HTMLResponse)
async def board(request: Request, seen: Viewer) -> HTMLResponse:
    data = await _board(request)
    return page(request, seen, "board.html", nav="board", board=data, every=REFRESH_SECONDS)


@router.get("/board/body", response_class=HTMLResponse)
async def board_body(request: Request, seen: Viewer) -> HTMLResponse:
    data = await _board(request)
    html = fragment("board_body.html", board=data)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/commits/{owner}/{name}/{sha}", response_class=HTMLResponse)
async def commit_journey(
    request: Request, seen: Viewer, owner: str, name: str, sha: str
) -> HTMLResponse:
    state = state_of(request)
    found, problem = await statuses(state)
    repo = f"{owner}/{name}"
    try:
        data = await run_in_threadpool(journey.build, state.service, repo, sha, found, problem)
    except journey.JourneyNotFound as exc:
        shown = {"title": "No such commit", "message": str(exc), "back": "/"}
        return page(request, seen, "error.html", status=404, **shown)
    return page(request, seen, "journey.html", nav="board", journey=data)
