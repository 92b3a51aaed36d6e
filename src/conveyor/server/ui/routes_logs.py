"""The job page: status, steps and the log, with search, downloads and live lines (issue 15).

    GET /runs/{run_id}/jobs/{job}                the page: the last `PAGE` lines, or the
        ?from=N  ?line=N#LN  ?q=text&after=N     page from line N, the page holding line N,
                                                 the lines containing `text` (paged)
    GET /runs/{run_id}/jobs/{job}/log.txt        the job's whole log, streamed
    GET /runs/{run_id}/jobs/{job}/stream?after=N new lines as Server-Sent Events
    GET /runs/{run_id}/log.txt                   the whole run's log, streamed

`{job}` is the job's name as the store keys its log lines (URL-quoted by the links of the
run page). Read access (`viewer(Role.READ)`) for all. The page is complete without
JavaScript (a "reload" link while the job runs); `static/log.js` follows the stream.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from conveyor.ci.service import CIService
from conveyor.server.auth import Role
from conveyor.server.state import state_of
from conveyor.server.ui import logpage, logsteps, logstream, logtext
from conveyor.server.ui.guard import Seen, viewer
from conveyor.server.ui.pages import page
from conveyor.store.ci_logs import LogWindow

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Seen, Depends(viewer(Role.READ))]
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def job_url(run_id: int, job: str) -> str:
    """The job page's path (the job's name quoted, `/` included)."""
    return f"/runs/{run_id}/jobs/{quote(job, safe='')}"


def _missing(request: Request, seen: Seen, what: str, back: str) -> HTMLResponse:
    return page(request, seen, "error.html", status=404, title="Not found", message=what,
                back=back)  # fmt: skip


def _attachment(name: str) -> dict[str, str]:
    return {
        "Content-Disposition": f'attachment; filename="{_UNSAFE.sub("_", name)}.txt"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }


@router.get("/runs/{run_id}/log.txt")
def run_download(request: Request, run_id: int, seen: Viewer) -> Response:
    """Every line of the run, `[job] text`, masked, read and sent `CHUNK` lines at a time."""
    service = state_of(request).service
    if service.store.run(run_id) is None:
        return _missing(request, seen, f"There is no run {run_id}.", "/runs")
    chunks = logstream.text_chunks(service, run_id, None, lambda x: f"[{x.job}] {x.text}")
    return StreamingResponse(
        chunks, media_type="text/plain; charset=utf-8", headers=_attachment(f"run-{run_id}")
    )


@router.get("/runs/{run_id}/jobs/{job:path}/log.txt")
def job_download(request: Request, run_id: int, job: str, seen: Viewer) -> Response:
    """The job's whole log as text (masked), streamed from the store in chunks."""
    service = state_of(request).service
    if service.store.run(run_id) is None:
        return _missing(request, seen, f"There is no run {run_id}.", "/runs")
    chunks = logstream.text_chunks(service, run_id, job, lambda x: str(x.text))
    name = f"run-{run_id}-{job}"
    return StreamingResponse(
        chunks, media_type="text/plain; charset=utf-8", headers=_attachment(name)
    )


@router.get("/runs/{run_id}/jobs/{job:path}/stream")
def job_stream(
    request: Request, run_id: int, job: str, seen: Viewer, after: Annotated[int, Query(ge=0)] = 0
) -> Response:
    """The job's lines after line `after` (or the `Last-Event-ID`) as they are written."""
    service = state_of(request).service
    if service.store.run(run_id) is None:
        return Response(f"no run {run_id}\n", status_code=404, media_type="text/plain")
    resume = request.headers.get("last-event-id", "")
    start = int(resume) if resume.isdigit() else after
    return StreamingResponse(
        logstream.events(request, service, run_id, job, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/runs/{run_id}/jobs/{job:path}", response_class=HTMLResponse)
def job_page(
    request: Request,
    run_id: int,
    job: str,
    seen: Viewer,
    *,
    start: Annotated[int | None, Query(alias="from", ge=1)] = None,
    line: Annotated[int | None, Query(ge=1)] = None,
    q: Annotated[str, Query(max_length=200)] = "",
    after: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    """The job's status, steps and one page of its log, or its search hits with `q`."""
    service = state_of(request).service
    run = service.store.run(run_id)
    if run is None:
        return _missing(request, seen, f"There is no run {run_id}.", "/runs")
    state = logpage.job_state(service, run_id, job, run)
    if line is not None:
        start = logpage.page_start(line)
    shown = logpage.log_slice(service, run_id, job, start)
    if not state.known and not shown.total:
        return _missing(request, seen, f"Run {run_id} has no job named {job!r}.",
                        f"/runs/{run_id}")  # fmt: skip
    return page(request, seen, "job.html", nav="runs", **_context(
        service, run, job, state, shown, q=q.strip(), after=after, target=line or 0))  # fmt: skip


def _context(
    service: CIService, run: Mapping[str, Any], job: str, state: logpage.JobState,
    shown: logpage.LogSlice,
    *, q: str, after: int, target: int,
) -> dict[str, Any]:  # fmt: skip
    run_id = int(run["id"])
    mask = service.masker.mask
    starts = service.store.log_lines(
        run_id, LogWindow(job=job, starts=logsteps.MARKERS, limit=2000)
    )
    markers = logsteps.from_markers(starts, state.running)
    hits = logpage.search(service, run_id, job, q, after) if q else []
    return {
        "run": run,
        "job": job,
        "url": job_url(run_id, job),
        "state": state,
        "steps": logsteps.merged(state.steps, markers),
        "jobs": [j["name"] for j in service.store.jobs(run_id)],
        "job_url": job_url,
        "log": shown,
        "page_size": logpage.PAGE,
        "blocks": logtext.blocks(logtext.rows(shown.lines, mask)),
        "target": target,
        "q": q,
        "hits": [(h.number, logtext.search_text(h.text, mask)) for h in hits[: logpage.HITS]],
        "more_hits": hits[logpage.HITS - 1].number if len(hits) > logpage.HITS else 0,
    }
