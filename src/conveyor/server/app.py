"""The FastAPI application: routes, the web UI, error mapping, /healthz, /metrics, OpenAPI docs.

`create_app(state)` is called by `conveyor.server.main.build`. Everything except
`/healthz` needs a bearer token: the OpenAPI document (`/openapi.json`) and the docs page
(`/docs`) included. CI errors map to HTTP codes (NotFound 404, Forbidden 403, Conflict
409, other CIError 400; a token or runner name in use 409); messages never carry secret values.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from conveyor.ci.errors import CIError, Conflict, Forbidden, NotFound
from conveyor.server import (
    routes_access,
    routes_config,
    routes_git,
    routes_runner,
    routes_runs,
    webhooks,
)
from conveyor.server.auth import Principal, Role
from conveyor.server.limits import BodyGuard
from conveyor.server.metrics import render_metrics
from conveyor.server.state import NotSignedIn, RoleTooWeak, ServerState, need, state_of
from conveyor.server.ui import STATIC_DIR, guard, pages
from conveyor.server.ui import routers as ui_routers
from conveyor.server.ui.headers import SecurityHeaders
from conveyor.store.errors import NameTaken

Reader = Annotated[Principal, Depends(need(Role.READ))]


def create_app(state: ServerState) -> FastAPI:
    app = FastAPI(title="Conveyor", version="1", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.cv = state
    # authenticate, then count: no body is read before its token (issue 12 §6)
    app.add_middleware(BodyGuard, auth=state.auth, limits=state.limits, sessions=state.sessions)
    app.add_middleware(SecurityHeaders)
    for module in (routes_runs, routes_access, routes_config, routes_runner, routes_git, webhooks):
        app.include_router(module.router)
    for router in ui_routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")

    @app.exception_handler(NotSignedIn)
    async def sign_in_first(request: Request, _: NotSignedIn) -> RedirectResponse:
        return RedirectResponse(guard.login_url(request), status_code=303)

    @app.exception_handler(RoleTooWeak)
    async def role_too_weak(request: Request, exc: RoleTooWeak) -> HTMLResponse:
        seen = guard.signed_in(request)
        return pages.page(
            request, seen, "error.html", status=403, title="Not allowed", message=str(exc), back=""
        )

    @app.exception_handler(guard.CsrfRejected)
    async def csrf_rejected(request: Request, exc: guard.CsrfRejected) -> HTMLResponse:
        seen = guard.signed_in(request)
        return pages.page(
            request, seen, "error.html", status=403, title="Form refused", message=str(exc), back=""
        )

    @app.exception_handler(CIError)
    async def ci_error(_: Request, exc: CIError) -> JSONResponse:
        code = {NotFound: 404, Forbidden: 403, Conflict: 409}.get(type(exc), 400)
        return JSONResponse({"detail": str(exc)}, status_code=code)

    @app.exception_handler(NameTaken)
    async def name_taken(_: Request, exc: NameTaken) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.get("/healthz", response_class=PlainTextResponse)
    def healthz() -> str:
        """Liveness (no token needed)."""
        return "ok\n"

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics(request: Request, _: Reader) -> str:
        """Prometheus text format: runs by status, events, approvals."""
        return render_metrics(state_of(request))

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(_: Reader) -> dict[str, Any]:
        return app.openapi()

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs(_: Reader) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Conveyor API")

    return app


def route_entries(app: FastAPI) -> list[tuple[str, str, Any]]:
    """Every (method, full path, route object) the app serves, through included routers
    (HEAD and OPTIONS left out; a mount counts as GET): what tests enumerate."""
    out: list[tuple[str, str, Any]] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                context = getattr(route, "include_context", None)
                walk(list(inner.routes), prefix + str(getattr(context, "prefix", "") or ""))
                continue
            path = getattr(route, "path", None)
            if path is None:
                continue
            methods = getattr(route, "methods", None) or {"GET"}
            out.extend((m, prefix + path, route) for m in sorted(methods - {"HEAD", "OPTIONS"}))

    walk(list(app.routes), "")
    return out


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, through included routers (tests enumerate it)."""
    return [(method, path) for method, path, _ in route_entries(app)]
