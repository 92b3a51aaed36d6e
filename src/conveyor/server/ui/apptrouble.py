"""The Applications pages' answer when the reconciler cannot give one: the server knows
no reconciler (503), cannot reach it or is not accepted by it (502), or the reconciler
refused (its 400 / 404 / 409, with its reason). Each page says what happened and what to
do, never a traceback. Called by `routes_apps` and `routes_appactions`.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from conveyor.server.ui import applink
from conveyor.server.ui.guard import Seen
from conveyor.server.ui.pages import page


def trouble(request: Request, seen: Seen, exc: Exception, *, back: str) -> HTMLResponse:
    """The page for a reconciler the server does not know, cannot reach, or that refused."""
    if isinstance(exc, applink.ReconcilerUnknown):
        status, title = 503, "No reconciler configured"
        hint = "Start the platform with `conveyor up`, or give `conveyor server` --refresh-url."
    elif isinstance(exc, applink.ReconcilerRefused) and exc.status in (400, 404, 409):
        status = exc.status
        title = {400: "Bad request", 404: "Not found", 409: "Refused by the reconciler"}[status]
        hint = "Nothing was changed." if status == 409 else "Check the name and try again."
        return _page(request, seen, status, title=title, message=exc.reason, hint=hint, back=back)
    elif isinstance(exc, applink.ReconcilerRefused) and exc.status == 401:
        status, title = 502, "The reconciler refused this server's token"
        hint = (
            "Give `conveyor server` --refresh-token-file naming the reconciler's token file "
            "(`conveyor up` does)."
        )
    else:
        status, title = 502, "Reconciler unreachable"
        hint = "Check that the reconciler runs (`conveyor up` or `conveyor reconcile --listen`)."
    return _page(request, seen, status, title=title, message=str(exc), hint=hint, back=back)


def _page(request: Request, seen: Seen, status: int, **shown: str) -> HTMLResponse:
    return page(request, seen, "app_trouble.html", status=status, nav="apps", **shown)


def app_url(name: str) -> str:
    """The app page's path."""
    return "/apps/" + applink.quote(name)
