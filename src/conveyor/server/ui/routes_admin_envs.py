"""Admin → Environments (issue 15; admin only): protection rules per repository and
environment, edited as `PUT /api/v1/repos/{owner}/{repo}/environments/{env}` does
(`CIService.put_environment` plus the audit entry `environment.put` with the same detail).

- `GET /admin/environments[?repo=&name=]`: every hosted repository's environments with
  their rules, and the form to set one's rules (filled in for `repo`/`name`).
- `POST /admin/environments` (CSRF): repo (`owner/name`), environment, reviewers (token
  names separated by commas or spaces), wait timer (seconds), allowed branches (patterns,
  same separators; empty: any). 400 with the form and the reason on bad input, else a 303
  back to the form with "saved".
"""

from __future__ import annotations

import math
import re
import urllib.parse
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from conveyor.server.auth import Role
from conveyor.server.state import audit, state_of
from conveyor.server.ui.guard import Seen, actor, viewer
from conveyor.server.ui.pages import page

router = APIRouter(include_in_schema=False)
Admin = Annotated[Seen, Depends(viewer(Role.ADMIN))]
AdminActor = Annotated[Seen, Depends(actor(Role.ADMIN))]
REPO = re.compile(r"^[^/\s]+/[^/\s]+$")
SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class RulesForm:
    """The form's fields as typed (shown again when refused)."""

    repo: str = ""
    name: str = ""
    reviewers: str = ""
    wait_timer: str = "0"
    branches: str = ""


def names(text: str) -> list[str]:
    """Comma- or space-separated names, in order, each once."""
    return list(dict.fromkeys(part for part in SEPARATORS.split(text) if part))


@router.get("/admin/environments", response_class=HTMLResponse)
def environments(
    request: Request, seen: Admin, repo: str = "", name: str = "", saved: str = ""
) -> HTMLResponse:
    return _page(request, seen, form=_filled(request, repo, name), saved=bool(saved))


def _filled(request: Request, repo: str, name: str) -> RulesForm:
    rules = state_of(request).service.store.config.environment(repo, name) if repo else None
    if rules is None:
        return RulesForm(repo=repo, name=name)
    return RulesForm(
        repo=repo,
        name=name,
        reviewers=", ".join(rules["reviewers"]),
        wait_timer=f"{float(rules['wait_timer']):g}",
        branches=", ".join(rules["branches"]),
    )


def _page(
    request: Request,
    seen: Seen,
    *,
    form: RulesForm,
    saved: bool = False,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    service = state_of(request).service
    repos = service.repos()
    listed = [(repo, service.store.config.environments(repo)) for repo in repos]
    tokens = {str(row["name"]) for row in service.store.access.tokens()}
    unknown = [name for name in names(form.reviewers) if name not in tokens]
    return page(
        request,
        seen,
        "admin_environments.html",
        status=status,
        nav="admin",
        repos=repos,
        listed=listed,
        form=form,
        saved=saved,
        error=error,
        unknown=unknown,
    )


@router.post("/admin/environments")
def put_environment(
    request: Request,
    seen: AdminActor,
    *,
    repo: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    reviewers: Annotated[str, Form()] = "",
    wait_timer: Annotated[str, Form()] = "0",
    branches: Annotated[str, Form()] = "",
) -> Response:
    form = RulesForm(
        repo=repo.strip(),
        name=name.strip(),
        reviewers=reviewers,
        wait_timer=wait_timer,
        branches=branches,
    )
    problem = check_rules(form)
    if problem:
        return _page(request, seen, form=form, error=problem, status=400)
    rules = rules_of(form)
    state_of(request).service.put_environment(form.repo, form.name, **rules)
    audit(request, seen.principal, "environment.put", f"{form.repo}:{form.name}", rules)
    query = urllib.parse.urlencode({"repo": form.repo, "name": form.name, "saved": "1"})
    return RedirectResponse(f"/admin/environments?{query}#edit", status_code=303)


def check_rules(form: RulesForm) -> str:
    """What is wrong with the rules form, "" when nothing."""
    if not REPO.match(form.repo):
        return f"the repository must be owner/name, not {form.repo!r}"
    if not form.name or "/" in form.name:
        return "the environment needs a name, without '/' (as in a workflow's environment:)"
    try:
        seconds = float(form.wait_timer or "0")
    except ValueError:
        return f"the wait timer must be a number of seconds, not {form.wait_timer!r}"
    if not math.isfinite(seconds) or seconds < 0:
        return "the wait timer must be 0 or more seconds"
    return ""


def rules_of(form: RulesForm) -> dict[str, Any]:
    """The checked form as `put_environment`'s keywords (and the audit entry's detail, as
    the API writes it)."""
    return {
        "reviewers": names(form.reviewers),
        "wait_timer": float(form.wait_timer or "0"),
        "branches": names(form.branches),
    }
