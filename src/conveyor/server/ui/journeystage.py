"""One environment of a commit's journey: its promotions of the commit, the reviews its
runs needed there, and the verdict: does the environment's application run the commit
now, is it on its way, was it replaced by a later promotion, does it wait for a review?

Called by `journey` for each stage of each config repository.
"""

from __future__ import annotations

from dataclasses import dataclass

from conveyor.promote.config import Stage
from conveyor.server.ui import configread
from conveyor.server.ui.boardmodel import AppState, Row
from conveyor.server.ui.configread import ConfigRepo, Promotion


@dataclass(frozen=True, slots=True, kw_only=True)
class Approval:
    run_id: int
    environment: str
    state: str  # pending | approved | rejected
    by: str
    comment: str
    requested: float
    decided: float | None

    @classmethod
    def of(cls, row: Row, run_id: int) -> Approval:
        return cls(
            run_id=run_id,
            environment=str(row["environment"]),
            state=str(row["state"]),
            by=str(row.get("decided_by") or ""),
            comment=str(row.get("comment") or ""),
            requested=float(row.get("requested") or 0.0),
            decided=row.get("decided"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """Where the commit stands in the environment: a status word for the badge (colour
    plus text) and a sentence."""

    status: str  # the badge's kind: success, in_progress, waiting, skipped, queued, failure
    label: str
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StageStep:
    environment: str
    rule: str
    promotions: tuple[Promotion, ...]  # of this commit into this environment, newest first
    approvals: tuple[Approval, ...]
    app: AppState | None
    current: Promotion | None  # the promotion the environment is at now
    verdict: Verdict


def stage_step(
    repo: ConfigRepo,
    stage: Stage,
    *,
    app: AppState | None,
    sha: str,
    promotions: list[Promotion],
    approvals: list[Approval],
) -> StageStep:
    mine = tuple(p for p in promotions if p.environment == stage.name)
    reviews = tuple(a for a in approvals if a.environment == stage.name)
    revision = app.revision if app else "HEAD"
    current = configread.current_promotion(repo, stage, revision) if revision else None
    return StageStep(
        environment=stage.name,
        rule=str(stage.rule),
        promotions=mine,
        approvals=reviews,
        app=app,
        current=current,
        verdict=_verdict(repo, app, sha=sha, mine=mine, reviews=reviews, current=current),
    )


def _verdict(
    repo: ConfigRepo,
    app: AppState | None,
    *,
    sha: str,
    mine: tuple[Promotion, ...],
    reviews: tuple[Approval, ...],
    current: Promotion | None,
) -> Verdict:
    if not mine:
        return _not_promoted(reviews)
    if current is not None and current.source_commit == sha:
        return _at_it(app)
    deployed = app is None or configread.contains(repo, mine[0].commit, app.revision)
    if current is not None and deployed:
        other = current.source_commit[:7] or current.commit[:7]
        return Verdict(
            status="skipped", label="replaced", detail=f"a later promotion ({other}) replaced it"
        )
    if app is None:
        return Verdict(
            status="unknown", label="promoted", detail="application state is unavailable"
        )
    at = app.revision[:7] or "no revision yet"
    return Verdict(status="queued", label="not deployed yet", detail=f"{app.name} is still at {at}")


def _not_promoted(reviews: tuple[Approval, ...]) -> Verdict:
    last = reviews[-1] if reviews else None
    if last is not None and last.state == "pending":
        return Verdict(
            status="waiting", label="waits for approval", detail="a reviewer must approve it"
        )
    if last is not None and last.state == "rejected":
        detail = f"rejected by {last.by}" + (f": {last.comment}" if last.comment else "")
        return Verdict(status="failure", label="rejected", detail=detail)
    return Verdict(
        status="skipped", label="not promoted", detail="no promotion of this commit here"
    )


def _at_it(app: AppState | None) -> Verdict:
    if app is None:
        return Verdict(
            status="unknown",
            label="declared",
            detail="the config repo names it; application state is unavailable",
        )
    state = f"{app.sync}, {app.health}"
    if app.sync == "Synced" and app.health == "Healthy":
        return Verdict(status="success", label="running", detail=f"{app.name} runs it: {state}")
    if app.health == "Degraded":
        return Verdict(status="failure", label="degraded", detail=f"{app.name}: {state}")
    return Verdict(status="in_progress", label="deploying", detail=f"{app.name}: {state}")
