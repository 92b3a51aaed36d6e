"""The home page: the pipeline board (issue 15)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from conveyor.server.auth import Role
from conveyor.server.state import state_of
from conveyor.server.ui.guard import Seen, viewer
from conveyor.server.ui.pages import page

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Seen, Depends(viewer(Role.READ))]


@router.get("/", response_class=HTMLResponse)
def board(request: Request, seen: Viewer) -> HTMLResponse:
    store = state_of(request).service.store
    repos = [(repo, store.runs(repo=repo, limit=5)) for repo in state_of(request).service.repos()]
    return page(request, seen, "board.html", nav="board", repos=repos)
