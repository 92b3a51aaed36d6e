"""Notifications (issue 17; read role): the newest notification deliveries, from the CI
server's database and, when the server runs the reconciler in-process (`--apps`), from the
reconciler's too: trigger, what it was about, destination, state, attempts, the last
HTTP status or SMTP reply and the last error. Rows hold no secret (`store.notify_store`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from conveyor.server.auth import Role
from conveyor.server.state import ServerState, state_of
from conveyor.server.ui.guard import Seen, viewer
from conveyor.server.ui.pages import page
from conveyor.store.notify_store import AttemptRecord, DeliveryRecord, DeliveryStore

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Seen, Depends(viewer(Role.READ))]
LIMIT = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryView:
    delivery: DeliveryRecord
    attempts: tuple[AttemptRecord, ...]  # every attempt, first first


@router.get("/notifications", response_class=HTMLResponse)
def notifications(request: Request, seen: Viewer) -> HTMLResponse:
    state = state_of(request)
    return page(
        request,
        seen,
        "notifications.html",
        nav="notifications",
        deliveries=recent_deliveries(state),
        configured=state.notifier is not None,
        limit=LIMIT,
    )


def recent_deliveries(state: ServerState) -> list[DeliveryView]:
    """The newest deliveries of every store this server can see, newest first, each with
    its attempts."""
    stores: list[DeliveryStore] = [state.service.store.deliveries]
    reconciler_store = _reconciler_store(state.reconciler)
    if reconciler_store is not None:
        stores.append(reconciler_store)
    seen: dict[tuple[int, float, str], DeliveryView] = {}
    for store in stores:  # one database file may hold both: the same rows once
        for row in store.recent(LIMIT):
            tried = tuple(store.attempts(row.id)) if row.attempts else ()
            seen[(row.id, row.created, row.destination)] = DeliveryView(
                delivery=row, attempts=tried
            )
    views = sorted(seen.values(), key=lambda v: (v.delivery.created, v.delivery.id), reverse=True)
    return views[:LIMIT]


def _reconciler_store(loop: Any) -> DeliveryStore | None:
    """The in-process reconciler's deliveries (`reconcile.loop.Loop`), if it runs here."""
    store = getattr(getattr(getattr(loop, "reconciler", None), "env", None), "store", None)
    found = getattr(store, "deliveries", None)
    return found if isinstance(found, DeliveryStore) else None
