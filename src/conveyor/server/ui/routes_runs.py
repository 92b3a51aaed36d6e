"""The Runs pages of the web UI (issue 15): the runs list with GitHub's filters, the run
page (header, job graph, annotations, summaries, artifacts), its live part for htmx, an
artifact download under the session, and the Re-run / Cancel forms.

Reads go through the same store queries as the REST routes (`server.routes_runs`); actions
call the same `CIService` methods (`rerun`, `cancel`). Pages need the read role, the forms
the write role (`guard.actor`: CSRF and origin checked too). The job page with steps and
logs (`/runs/{id}/jobs/{job}`) is another module's.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from conveyor.ci.errors import CIError, Conflict, NotFound
from conveyor.server.auth import Role
from conveyor.server.state import state_of
from conveyor.server.ui import runpage
from conveyor.server.ui.guard import Seen, actor, viewer
from conveyor.server.ui.pages import fragment, page
from conveyor.store.ci_filters import CONCLUSIONS, RunFilter

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Seen, Depends(viewer(Role.READ))]
Actor = Annotated[Seen, Depends(actor(Role.WRITE))]

PER_PAGE = 25
STATUSES = ("queued", "in_progress", "waiting", "pending", "completed", *CONCLUSIONS)
FILTERS = ("repo", "branch", "event", "status", "actor")


@router.get("/runs", response_class=HTMLResponse)
def runs_list(
    request: Request,
    seen: Viewer,
    *,
    repo: str = "",
    branch: str = "",
    event: str = "",
    status: str = "",
    actor: str = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Runs newest first, `PER_PAGE` a page, narrowed by the form's filters."""
    service = state_of(request).service
    where = RunFilter(branch=branch, event=event, status=status, actor=actor)
    offset = (page_no - 1) * PER_PAGE
    rows = service.store.runs(repo=repo or None, where=where, limit=PER_PAGE, offset=offset)
    total = service.store.count_runs(repo=repo or None, where=where)
    chosen = {"repo": repo, "branch": branch, "event": event, "status": status, "actor": actor}
    return page(
        request,
        seen,
        "runs.html",
        nav="runs",
        runs=rows,
        total=total,
        chosen=chosen,
        repos=service.repos(),
        statuses=STATUSES,
        now=time.time(),
        prev_href=_page_href(chosen, page_no - 1) if page_no > 1 else "",
        next_href=_page_href(chosen, page_no + 1) if offset + len(rows) < total else "",
        page_no=page_no,
        pages=max(1, -(-total // PER_PAGE)),
    )


def _page_href(chosen: dict[str, str], number: int) -> str:
    query = {k: v for k, v in chosen.items() if v}
    return "/runs?" + urllib.parse.urlencode({**query, "page": number})


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: int, seen: Viewer) -> HTMLResponse:
    """The run: header, actions, graph, annotations, summaries, artifacts."""
    try:
        data = runpage.load(state_of(request).service, run_id)
    except NotFound as exc:
        return _refused(request, seen, 404, "No such run", str(exc))
    return page(request, seen, "run.html", nav="runs", view=data)


@router.get("/runs/{run_id}/live", response_class=HTMLResponse)
def run_live(request: Request, run_id: int, seen: Viewer) -> HTMLResponse:
    """The run page's changing part alone (polled by htmx every 2 s while the run is not
    completed; the answer of a completed run no longer asks to be polled)."""
    try:
        data = runpage.load(state_of(request).service, run_id)
    except NotFound as exc:
        return HTMLResponse(Markup('<p class="error">%s</p>') % str(exc), status_code=404)
    html = fragment("run_live.html", view=data, csrf=seen.csrf, can_write=seen.can_write)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/runs/{run_id}/artifacts/{name}", response_model=None)
def artifact(request: Request, run_id: int, name: str, seen: Viewer) -> Response:
    """One artifact (a tar.gz of its files), downloaded with the session's cookie."""
    service = state_of(request).service
    path = service.artifact_path(run_id, name)
    if service.store.run(run_id) is None or not path.is_file():
        message = f"run {run_id} has no artifact {name!r}; the run page lists those it has"
        return _refused(request, seen, 404, "No such artifact", message, back=f"/runs/{run_id}")
    return FileResponse(path, media_type="application/gzip", filename=path.name)


@router.post("/runs/{run_id}/rerun", response_model=None)
def rerun(
    request: Request, run_id: int, seen: Actor, failed_only: Annotated[str, Form()] = ""
) -> Response:
    """Re-run all jobs, or (`failed_only`) the failed ones and their dependants; goes to
    the new run."""
    try:
        new_id = state_of(request).service.rerun(run_id, failed_only=failed_only == "true")
    except CIError as exc:
        return _action_refused(request, seen, run_id, exc)
    return RedirectResponse(f"/runs/{new_id}", status_code=303)


@router.post("/runs/{run_id}/cancel", response_model=None)
def cancel(request: Request, run_id: int, seen: Actor) -> Response:
    """Cancel as the REST route does (`always()` jobs still run); back to the run."""
    reason = f"cancelled by {seen.principal.name}"
    try:
        state_of(request).service.cancel(run_id, reason=reason)
    except CIError as exc:
        return _action_refused(request, seen, run_id, exc)
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


def _action_refused(request: Request, seen: Seen, run_id: int, exc: CIError) -> HTMLResponse:
    code = {NotFound: 404, Conflict: 409}.get(type(exc), 400)
    return _refused(request, seen, code, "Not done", str(exc), back=f"/runs/{run_id}")


def _refused(
    request: Request, seen: Seen, code: int, title: str, message: str, *, back: str = "/runs"
) -> HTMLResponse:
    return page(
        request,
        seen,
        "error.html",
        status=code,
        nav="runs",
        title=title,
        message=message,
        back=back,
    )
