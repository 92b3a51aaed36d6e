"""The Admin section's index and the audit log (issue 15; admin only, as in the API).

- `GET /admin`: what the section holds (tokens, runners, environment protection rules, the
  audit log), with counts and links to the pages (`routes_admin_tokens`,
  `routes_admin_runners`, `routes_admin_envs`).
- `GET /admin/audit?page=N`: the audit log newest first, `PER_PAGE` rows a page. The store
  reads it oldest first (`CIAccessStore.audit`), so a page is the matching slice from the
  end, reversed. `detail` is JSON the routes wrote without secret values; it is shown as
  escaped text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from conveyor.ci.runnerlist import runner_list
from conveyor.server.auth import Role
from conveyor.server.state import state_of
from conveyor.server.ui.guard import Seen, viewer
from conveyor.server.ui.pages import page
from conveyor.store.ci_access_store import CIAccessStore

router = APIRouter(include_in_schema=False)
Admin = Annotated[Seen, Depends(viewer(Role.ADMIN))]
PER_PAGE = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditPage:
    rows: list[dict[str, Any]]  # newest first, `detail` as JSON text
    number: int
    pages: int
    total: int


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, seen: Admin) -> HTMLResponse:
    service = state_of(request).service
    store = service.store
    runners = runner_list(store, timeout=service.config.heartbeat_timeout)
    counts = {
        "tokens": len(store.access.tokens()),
        "registered": len(store.access.runner_registrations()),
        "online": sum(1 for r in runners if r["status"] == "online"),
        "environments": sum(len(store.config.environments(repo)) for repo in service.repos()),
        "audit": store.access.count_audit(),
    }
    return page(request, seen, "admin.html", nav="admin", counts=counts)


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_log(
    request: Request, seen: Admin, number: Annotated[str, Query(alias="page")] = "1"
) -> HTMLResponse:
    """`?page=N` (1: the newest rows; past the last page: the last)."""
    wanted = int(number) if number.isdigit() else 1
    found = newest_first(state_of(request).auth.store.access, wanted)
    return page(request, seen, "admin_audit.html", nav="admin", audit=found)


def newest_first(access: CIAccessStore, number: int, per_page: int = PER_PAGE) -> AuditPage:
    """Page `number` (from 1) of the audit log, newest row first."""
    total = access.count_audit()
    pages = max(1, -(-total // per_page))
    number = min(max(1, number), pages)
    end = total - (number - 1) * per_page  # rows before this index (oldest first)
    start = max(0, end - per_page)
    rows = access.audit(limit=end - start, offset=start) if end > 0 else []
    shown = [{**row, "detail": _detail(row["detail"])} for row in reversed(rows)]
    return AuditPage(rows=shown, number=number, pages=pages, total=total)


def _detail(detail: Any) -> str:
    if not detail:
        return ""
    return json.dumps(detail, sort_keys=True, ensure_ascii=False)
