"""The values the board and the commit journey show: a run's line, an application's state
as the reconciler reports it, an approval that waits. Frozen; built from store rows and
from the reconciler's status documents (`conveyor.reconcile.status.summarize`, served by
the reconciler's `GET /apps` through `applink.app_statuses`).

Called by `boarddata` and `journey`; the templates read the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.promote.config import Stage

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunLine:
    id: int
    repo: str
    workflow: str
    status: str  # the conclusion once completed, else the status (queued, waiting …)
    event: str
    branch: str
    sha: str
    actor: str
    created: float
    duration: float | None  # seconds from start to finish (to now while running)
    attempt: int


def run_line(row: Row, now: float) -> RunLine:
    started, finished = row.get("started"), row.get("finished")
    duration = (finished or now) - started if started else None
    return RunLine(
        id=int(row["id"]),
        repo=str(row["repo"]),
        workflow=str(row.get("workflow_name") or row.get("workflow_path") or ""),
        status=str(row.get("conclusion") or row.get("status") or "unknown"),
        event=str(row.get("event") or ""),
        branch=str(row.get("branch") or str(row.get("ref") or "").removeprefix("refs/heads/")),
        sha=str(row.get("sha") or ""),
        actor=str(row.get("actor") or ""),
        created=float(row.get("created") or 0.0),
        duration=duration,
        attempt=int(row.get("attempt") or 1),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class AppState:
    """One application's sync and health, as the reconciler reported them."""

    name: str
    sync: str  # Synced | OutOfSync | Unknown
    health: str  # Healthy | Progressing | Degraded | Missing | Suspended | Unknown
    message: str  # why it is not Ready (the Ready condition), '' when Ready
    revision: str  # the config-repo commit it is synced to ('' before the first fetch)
    images: tuple[str, ...]  # the status's `images` when the reconciler reports them
    fetch_error: str


def app_state(name: str, doc: Mapping[str, Any]) -> AppState:
    sync = doc.get("sync") or {}
    health = doc.get("health") or {}
    conditions = [c for c in doc.get("conditions") or () if isinstance(c, dict)]
    ready: dict[str, Any] = next((c for c in conditions if c.get("type") == "Ready"), {})
    message = "" if ready.get("status") == "True" else str(ready.get("message") or "")
    return AppState(
        name=name,
        sync=str(sync.get("status") or "Unknown"),
        health=str(health.get("status") or "Unknown"),
        message=message or ("" if ready else str(health.get("message") or "")),
        revision=str(sync.get("revision") or doc.get("observedRevision") or ""),
        images=_images(doc.get("images")),
        fetch_error=str(doc.get("fetchError") or ""),
    )


def _images(value: Any) -> tuple[str, ...]:
    """`images` as a list of references, or of objects with an `image` field."""
    if not isinstance(value, list):
        return ()
    found = [v.get("image") if isinstance(v, dict) else v for v in value]
    return tuple(dict.fromkeys(str(v) for v in found if isinstance(v, str) and v))


def serves(doc: Mapping[str, Any], repo: str, stage: Stage) -> bool:
    """Whether the app's source (or one of its sources) is `stage` of hosted `repo`: its
    repoURL names the repository and its path is one of the stage's paths (or holds or
    lies within one)."""
    sources = [doc.get("source") or {}, *(doc.get("sources") or ())]
    return any(
        _names_repo(str(s.get("repoURL") or ""), repo)
        and any(_overlaps(str(s.get("path") or ""), p) for p in stage.paths)
        for s in sources
        if isinstance(s, dict)
    )


def _names_repo(url: str, repo: str) -> bool:
    tail = url.rstrip("/").removesuffix(".git")
    return tail == repo or tail.endswith("/" + repo)


def _overlaps(path: str, stage_path: str) -> bool:
    a, b = path.strip("/").removeprefix("./"), stage_path.strip("/")
    if not a or not b:
        return a == b
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


@dataclass(frozen=True, slots=True, kw_only=True)
class Waiting:
    """A pending review: a run's job waits for the environment's reviewers."""

    run_id: int
    environment: str
    requested: float
    repo: str
    sha: str
    workflow: str


def waiting(approval: Row, run: Row | None) -> Waiting:
    return Waiting(
        run_id=int(approval["run_id"]),
        environment=str(approval["environment"]),
        requested=float(approval.get("requested") or 0.0),
        repo=str(run["repo"]) if run else "",
        sha=str(run["sha"]) if run else "",
        workflow=str(run.get("workflow_name") or "") if run else "",
    )
