"""The runs list's filters (issue 18), as GitHub's `GET /repos/{owner}/{repo}/actions/runs`
offers them: repository, branch (`head_branch`), event, actor and status-or-conclusion.
Used by `CIStore.runs` and `CIStore.count_runs`, so a page and its total agree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select

from conveyor.store.ci_schema import runs


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFilter:
    """GitHub's filters of the runs list; empty fields do not filter. `status` matches a
    status (queued, in_progress …) or a conclusion (success, failure …), as GitHub's does."""

    branch: str = ""
    event: str = ""
    actor: str = ""
    status: str = ""


CONCLUSIONS = ("success", "failure", "cancelled", "skipped", "neutral", "timed_out")


def filtered(
    query: Select[Any], repo: str | None, status: Sequence[str], where: RunFilter | None
) -> Select[Any]:
    if repo:
        query = query.where(runs.c.repo == repo)
    if status:
        query = query.where(runs.c.status.in_(list(status)))
    if where is None:
        return query
    for column, value in ((runs.c.branch, where.branch), (runs.c.event, where.event)):
        if value:
            query = query.where(column == value)
    if where.actor:
        query = query.where(runs.c.actor == where.actor)
    if where.status in CONCLUSIONS:
        query = query.where(runs.c.conclusion == where.status)
    elif where.status:
        query = query.where(runs.c.status == where.status)
    return query
