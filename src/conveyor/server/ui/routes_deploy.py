"""The Deployments pages (issue 15): reviews waiting with Approve / Reject (and a comment)
for those who may decide, recent decisions, each repository's environments with their
latest deployment, and an environment's page (rules and history).

- `GET /deployments` (read): the lists; `?done=approved|rejected&run=&env=` says what the
  last decision did.
- `POST /deployments/decide` (write, CSRF): `CIService.decide`, which applies the rule
  (`ci.settings.may_review`); its refusals become HTML pages with the service's message
  (403 not a reviewer, 404 nothing pending, 409 already decided), success a 303 back.
- `GET /deployments/{owner}/{repo}/{env}` (read): protection rules, the reviews waiting for
  it and its deployments newest first; 404 for an environment with neither rules nor
  deployments.
"""

from __future__ import annotations

import urllib.parse
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from conveyor.ci.errors import CIError, Conflict, Forbidden, NotFound
from conveyor.server.auth import Role
from conveyor.server.state import state_of
from conveyor.server.ui import deploy_rows
from conveyor.server.ui.guard import Seen, actor, viewer
from conveyor.server.ui.pages import page

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Seen, Depends(viewer(Role.READ))]
Actor = Annotated[Seen, Depends(actor(Role.WRITE))]
DECISIONS = {"approve": True, "reject": False}
MAX_COMMENT = 2000
ERROR_CODES: dict[type[CIError], int] = {Forbidden: 403, NotFound: 404, Conflict: 409}


@router.get("/deployments", response_class=HTMLResponse)
def deployments(
    request: Request, seen: Viewer, done: str = "", run: str = "", env: str = ""
) -> HTMLResponse:
    """`done`, `run`, `env`: what the last decision did (from `decide`'s redirect)."""
    service = state_of(request).service
    reviews = deploy_rows.waiting_reviews(service.store, seen.principal)
    repos = deploy_rows.known_repos(service.repos(), reviews)
    return page(
        request,
        seen,
        "deployments.html",
        nav="deployments",
        reviews=reviews,
        decisions=deploy_rows.recent_decisions(service.store),
        repos=[(repo, deploy_rows.environments(service.store, repo)) for repo in repos],
        done=done if done in ("approved", "rejected") and run.isdigit() else "",
        done_run=run,
        done_env=env,
    )


@router.post("/deployments/decide")
def decide(
    request: Request,
    seen: Actor,
    *,
    run_id: Annotated[str, Form()] = "",
    environment: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
) -> Response:
    problem = _check_decision(run_id, environment, decision, comment)
    if problem:
        return _refused(request, seen, 400, "Cannot decide", problem)
    try:
        state_of(request).service.decide(
            int(run_id),
            environment,
            user=seen.principal.name,
            admin=seen.can_admin,
            approve=DECISIONS[decision],
            comment=comment.strip(),
        )
    except CIError as exc:
        return _refused(request, seen, ERROR_CODES.get(type(exc), 400), "Not decided", str(exc))
    done = "approved" if DECISIONS[decision] else "rejected"
    query = urllib.parse.urlencode({"done": done, "run": run_id, "env": environment})
    return RedirectResponse(f"/deployments?{query}", status_code=303)


def _check_decision(run_id: str, environment: str, decision: str, comment: str) -> str:
    """What is wrong with a decision form, "" when nothing."""
    if not run_id.isdigit():
        return f"run_id must be a run number, not {run_id!r}: use the form on /deployments"
    if not environment:
        return "the form names no environment: use the form on /deployments"
    if decision not in DECISIONS:
        return f"decision must be approve or reject, not {decision!r}"
    if len(comment) > MAX_COMMENT:
        return f"the comment is {len(comment)} characters long; keep it under {MAX_COMMENT}"
    return ""


def _refused(request: Request, seen: Seen, status: int, title: str, message: str) -> HTMLResponse:
    return page(
        request,
        seen,
        "error.html",
        status=status,
        nav="deployments",
        title=title,
        message=message,
        back="/deployments",
    )


@router.get("/deployments/{owner}/{repo}/{env}", response_class=HTMLResponse)
def environment(request: Request, seen: Viewer, owner: str, repo: str, env: str) -> HTMLResponse:
    store = state_of(request).service.store
    full = f"{owner}/{repo}"
    found = deploy_rows.environment(store, full, env)
    if found is None:
        message = f"{full} has no environment {env!r}: no protection rules, no deployment yet"
        return _refused(request, seen, 404, "No such environment", message)
    reviews = [
        r
        for r in deploy_rows.waiting_reviews(store, seen.principal)
        if r.repo == full and r.environment == env
    ]
    return page(request, seen, "environment.html", nav="deployments", env=found, reviews=reviews)
