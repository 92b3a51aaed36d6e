"""The web UI (issue 15): server-rendered pages over the same data and the same
authorization as the REST API.

`routers()` lists the UI's routers; `conveyor.server.app.create_app` includes them, mounts
`static/` at `/static` and maps the guard's refusals (`guard`) to a redirect to `/login` or
an HTML error page. Pages are Jinja2 templates (`pages`), every one works without
JavaScript; `static/ui.js` and the vendored htmx (copied from npm by `make`) add live
updates (SSE) and partial refreshes. Every response carries the security headers of
`headers`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from conveyor.server.ui import (
    routes_admin,
    routes_admin_envs,
    routes_admin_runners,
    routes_admin_tokens,
    routes_apps,
    routes_board,
    routes_deploy,
    routes_logs,
    routes_notifications,
    routes_runs,
    routes_session,
)

STATIC_DIR = Path(__file__).parent / "static"
#: The UI's route modules, each with a `router`, in the order they are matched.
ROUTE_MODULES = (
    routes_session,
    routes_board,
    routes_runs,
    routes_logs,
    routes_deploy,
    routes_apps,
    routes_admin,
    routes_admin_tokens,
    routes_admin_runners,
    routes_admin_envs,
    routes_notifications,
)


def routers() -> list[APIRouter]:
    return [module.router for module in ROUTE_MODULES]
