"""What the Deployments pages show, read from the CI store (issue 15): the reviews that wait,
the recent decisions, each repository's environments with their latest deployment, and one
environment's rules and history.

Called by `routes_deploy`. Who may decide a review is `conveyor.ci.settings.may_review`,
the rule `CIService.decide` enforces, so a page never offers a button the service refuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from conveyor.ci.model import ApprovalState
from conveyor.ci.settings import may_review
from conveyor.server.auth import Principal, Role
from conveyor.store.ci_store import CIStore

RECENT_DECISIONS = 20


@dataclass(frozen=True, slots=True, kw_only=True)
class Review:
    """A deployment waiting for its environment's reviewers."""

    run_id: int
    repo: str  # "" when the run is no longer stored
    workflow: str
    environment: str
    ref: str
    sha: str
    actor: str
    requested: float
    reviewers: tuple[str, ...]
    may_decide: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    run_id: int
    repo: str
    environment: str
    state: str
    by: str
    comment: str
    decided: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Environment:
    """An environment of a repository: its protection rules (None: none set) and its
    deployments newest first."""

    repo: str
    name: str
    rules: dict[str, Any] | None
    deployments: tuple[dict[str, Any], ...]

    @property
    def latest(self) -> dict[str, Any] | None:
        return self.deployments[0] if self.deployments else None


def branch(ref: str) -> str:
    """`refs/heads/main` → `main`; a tag keeps its `refs/tags/` prefix (it is no branch)."""
    return ref.removeprefix("refs/heads/")


def waiting_reviews(store: CIStore, who: Principal) -> list[Review]:
    """Pending approvals, oldest first, each saying whether `who` may decide it."""
    out = []
    for approval in store.config.approvals(state=ApprovalState.PENDING):
        run = store.run(int(approval["run_id"])) or {}
        repo = str(run.get("repo", ""))
        rules = store.config.environment(repo, approval["environment"]) if repo else None
        reviewers = tuple(rules["reviewers"]) if rules else ()
        allowed = may_review(reviewers, who.name, admin=who.can(Role.ADMIN))
        out.append(
            Review(
                run_id=int(approval["run_id"]),
                repo=repo,
                workflow=str(run.get("workflow_name", "")),
                environment=str(approval["environment"]),
                ref=branch(str(run.get("ref", ""))),
                sha=str(run.get("sha", "")),
                actor=str(run.get("actor", "")),
                requested=float(approval["requested"]),
                reviewers=reviewers,
                may_decide=bool(repo) and who.can(Role.WRITE) and allowed,
            )
        )
    return out


def recent_decisions(store: CIStore, *, limit: int = RECENT_DECISIONS) -> list[Decision]:
    """Approvals and rejections a person made (not those approved by rules alone),
    newest first."""
    decided = [
        row
        for state in (ApprovalState.APPROVED, ApprovalState.REJECTED)
        for row in store.config.approvals(state=state)
        if row["decided"] is not None and row["decided_by"]
    ]
    decided.sort(key=lambda row: float(row["decided"]), reverse=True)
    return [_decision(store, row) for row in decided[:limit]]


def _decision(store: CIStore, row: dict[str, Any]) -> Decision:
    run = store.run(int(row["run_id"])) or {}
    return Decision(
        run_id=int(row["run_id"]),
        repo=str(run.get("repo", "")),
        environment=str(row["environment"]),
        state=str(row["state"]),
        by=str(row["decided_by"]),
        comment=str(row["comment"]),
        decided=float(row["decided"]),
    )


def known_repos(hosted: Iterable[str], reviews: Iterable[Review]) -> list[str]:
    """The hosted repositories and those of waiting reviews (a repository built from
    GitHub webhooks is not hosted here)."""
    return sorted(set(hosted) | {r.repo for r in reviews if r.repo})


def environments(store: CIStore, repo: str) -> list[Environment]:
    """Every environment of `repo` that has protection rules or deployments, by name."""
    rules = {row["name"]: row for row in store.config.environments(repo)}
    history: dict[str, list[dict[str, Any]]] = {}
    for row in store.config.deployments(repo):  # newest first
        history.setdefault(str(row["environment"]), []).append(row)
    return [
        Environment(
            repo=repo, name=name, rules=rules.get(name), deployments=tuple(history.get(name, ()))
        )
        for name in sorted(rules.keys() | history.keys())
    ]


def environment(store: CIStore, repo: str, name: str) -> Environment | None:
    """One environment, None when it has neither rules nor deployments."""
    rules = store.config.environment(repo, name)
    history = tuple(store.config.deployments(repo, environment=name))
    if rules is None and not history:
        return None
    return Environment(repo=repo, name=name, rules=rules, deployments=history)
