"""Live log lines as Server-Sent Events, and whole logs as text downloads (issue 15).

Called by `routes_logs`. `events()` polls the store every `POLL` seconds in a worker thread
(the service has no in-process notice of new lines; a read of nothing new is one index
probe) and sends each batch of at most `BATCH` lines as one `lines` event: its data is the
rows' escaped HTML (`logtext`), its `id` the number of the last line sent, so that an
EventSource that reconnects resumes with `Last-Event-ID`. A comment every `HEARTBEAT`
seconds keeps proxies from closing a quiet stream. When the job has ended and every line
is sent, a `status` event tells its conclusion and the stream ends; it also ends as soon
as the client goes away. `text_chunks()` reads a log `CHUNK` lines at a time for a
streamed download.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from fastapi import Request

from conveyor.ci.service import CIService
from conveyor.server.ui.logpage import job_state
from conveyor.server.ui.logtext import Grouper
from conveyor.server.ui.pages import fragment
from conveyor.store.ci_logs import LogWindow

POLL = 0.3
BATCH = 500
HEARTBEAT = 15.0
CHUNK = 5000
_BREAK = re.compile(r"\r\n|\r|\n")


def sse(event: str, data: str, ident: int | None = None) -> str:
    """One event; every line of `data` on a `data:` line of its own."""
    head = f"id: {ident}\n" if ident is not None else ""
    body = "".join(f"data: {part}\n" for part in _BREAK.split(data))
    return f"{head}event: {event}\n{body}\n"


async def events(
    request: Request, service: CIService, run_id: int, job: str, after: int
) -> AsyncIterator[str]:
    """The stream of the job's lines after line `after` (see the module docstring)."""
    grouper = Grouper(mask=service.masker.mask)
    run = await asyncio.to_thread(service.store.run, run_id) or {}
    quiet_since = time.monotonic()
    yield "retry: 2000\n\n"
    while not await request.is_disconnected():
        state = await asyncio.to_thread(job_state, service, run_id, job, run)
        window = LogWindow(job=job, after=after, limit=BATCH)
        lines = await asyncio.to_thread(service.store.log_lines, run_id, window)
        if lines:
            after = lines[-1].number
            rows = [row for row in map(grouper.feed, lines) if row is not None]
            yield sse("lines", fragment("log_rows.html", rows=rows), after)
            quiet_since = time.monotonic()
            await asyncio.sleep(0.05 if len(lines) == BATCH else POLL)
            continue
        if not state.running:
            data = {"status": state.status, "conclusion": state.conclusion, "next": after}
            yield sse("status", json.dumps(data), after)
            return
        if time.monotonic() - quiet_since >= HEARTBEAT:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        await asyncio.sleep(POLL)


def text_chunks(
    service: CIService, run_id: int, job: str | None, line: Callable[[Any], str]
) -> Iterator[bytes]:
    """The log (one job's, or the run's with `job` None) `CHUNK` lines at a time, each line
    shaped by `line`, masked again with the service's masker (lines are stored masked; this
    also hides a secret registered after they were written)."""
    mask = service.masker.mask
    after = 0
    while True:
        lines = service.store.log_lines(run_id, LogWindow(job=job, after=after, limit=CHUNK))
        if not lines:
            return
        # one masking pass over the chunk: a value found in a line is found in the chunk
        yield mask("".join(line(x) + "\n" for x in lines)).encode()
        after = lines[-1].number
