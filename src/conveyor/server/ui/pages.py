"""Rendering pages: one Jinja2 environment (autoescaping on, undefined names are errors)
and `page()`, which every UI route returns through.

Every template extends `base.html` and gets `me` (the principal), `csrf` (the session's
form token), `can_write`/`can_admin`, `nav` (the active section) and what the route gives.
Values from users and jobs (log lines, step and branch names, commit messages) reach HTML
only through autoescaping or the escaping renderers of `conveyor.server.ui.text`; nothing
is marked safe that did not pass through one of them.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from conveyor.server.ui.guard import Seen

ENV = Environment(
    loader=PackageLoader("conveyor.server.ui", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def when(epoch: float | int | str | None) -> str:
    """An epoch (seconds) as UTC time; '' for none."""
    if epoch in (None, "", 0):
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(epoch)))


def ago(epoch: float | int | str | None) -> str:
    """'12 s ago', '3 min ago', '2 h ago', '4 d ago'."""
    if epoch in (None, "", 0):
        return ""
    seconds = max(0.0, time.time() - float(epoch))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{int(seconds // size)} {unit} ago"
    return f"{int(seconds)} s ago"


def duration(seconds: float | int | None) -> str:
    """1.2 s, 3 min 4 s, 1 h 2 min."""
    if seconds is None:
        return ""
    value = float(seconds)
    if value < 60:
        return f"{value:.1f} s"
    if value < 3600:
        return f"{int(value // 60)} min {int(value % 60)} s"
    return f"{int(value // 3600)} h {int(value % 3600 // 60)} min"


def short(sha: str | None, size: int = 7) -> str:
    return (sha or "")[:size]


ENV.filters.update(when=when, ago=ago, duration=duration, short=short)


def page(
    request: Request, seen: Seen | None, template: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """The rendered template as an HTML response (never cached: pages carry live state)."""
    context.setdefault("nav", "")
    html = ENV.get_template(template).render(
        request=request,
        me=seen.principal if seen else None,
        csrf=seen.csrf if seen else "",
        can_write=bool(seen and seen.can_write),
        can_admin=bool(seen and seen.can_admin),
        **context,
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def fragment(template: str, **context: Any) -> str:
    """A template rendered alone (an htmx swap, an SSE event's HTML)."""
    return ENV.get_template(template).render(**context)
