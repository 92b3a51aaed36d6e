"""The pipeline board's data (`GET /`): per repository its latest runs; per environment,
in promotion order, the image it runs, the commit that image was built from and who
promoted it, its application's sync and health, and what waits for approval there.

Environments are the stages of each hosted config repository (`configread`); a stage's
application is the one whose source is that stage's path in that repository
(`boardmodel.serves`), whatever its name. Without any config repository the applications
themselves are the environments, in the reconciler's order. The image is read from the
config repo at the revision the application is synced to; when the reconciler is unknown
or unreachable it is read at the branch tip and labelled as declared, not running.

`build(service, statuses, problem)` is called by `routes_board` in a worker thread (it
runs a few `git` processes); `statuses` is `None` when the reconciler could not be asked
and `problem` then says why.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.ci.service import CIService
from conveyor.clients.errors import GitError
from conveyor.clients.git import Git
from conveyor.promote.config import Stage
from conveyor.server.ui import configread
from conveyor.server.ui.boardmodel import (
    AppState,
    RunLine,
    Waiting,
    app_state,
    run_line,
    serves,
    waiting,
)
from conveyor.server.ui.configread import ConfigRepo, Promotion

Statuses = Mapping[str, Mapping[str, Any]]
RUNS_PER_REPO = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvView:
    name: str
    rule: str  # automatic | approval; '' for an environment that is only an application
    app: AppState | None
    images: tuple[str, ...]
    images_from: str  # where `images` was read, in words
    promotion: Promotion | None  # the promotion the environment is at
    source_repo: str  # the repository `promotion.source_commit` belongs to ('' unknown)
    pending: tuple[Waiting, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Pipeline:
    config_repo: str  # '' when the environments are the applications alone
    problem: str
    environments: tuple[EnvView, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RepoRuns:
    repo: str
    runs: tuple[RunLine, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Board:
    repos: tuple[RepoRuns, ...]
    pipelines: tuple[Pipeline, ...]
    apps_problem: str  # why application state is unavailable ('' when it is shown)
    other_waiting: tuple[Waiting, ...]  # pending reviews of environments no pipeline has
    other_apps: tuple[AppState, ...]  # applications that deploy no stage shown


def build(service: CIService, statuses: Statuses | None, problem: str = "") -> Board:
    now = time.time()
    names = service.repos()
    configs = [c for n in names if (c := configread.find_config(n, service.repo_path(n)))]
    pending = _pending(service)
    finder = SourceFinder(service, [n for n in names if n not in {c.name for c in configs}])
    pipelines = [_pipeline(c, statuses, pending, finder) for c in configs]
    if not configs and statuses:
        pipelines = [_apps_only(statuses, pending)]
    shown = {e.name for p in pipelines for e in p.environments}
    claimed = {e.app.name for p in pipelines for e in p.environments if e.app}
    return Board(
        repos=tuple(_repo_runs(service, n, now) for n in names),
        pipelines=tuple(pipelines),
        apps_problem=problem,
        other_waiting=tuple(w for w in pending if w.environment not in shown),
        other_apps=tuple(app_state(n, d) for n, d in (statuses or {}).items() if n not in claimed),
    )


def _repo_runs(service: CIService, repo: str, now: float) -> RepoRuns:
    rows = service.store.runs(repo=repo, limit=RUNS_PER_REPO)
    return RepoRuns(repo=repo, runs=tuple(run_line(r, now) for r in rows))


def _pending(service: CIService) -> list[Waiting]:
    store = service.store
    pending = store.config.approvals(state="pending")
    return [waiting(a, store.run(int(a["run_id"]))) for a in pending]


def _pipeline(
    repo: ConfigRepo, statuses: Statuses | None, pending: list[Waiting], finder: SourceFinder
) -> Pipeline:
    if repo.config is None:
        return Pipeline(config_repo=repo.name, problem=repo.problem, environments=())
    try:
        envs = [_stage_view(repo, s, statuses, pending, finder) for s in repo.config.stages]
    except GitError as exc:
        return Pipeline(config_repo=repo.name, problem=str(exc), environments=())
    return Pipeline(config_repo=repo.name, problem="", environments=tuple(envs))


def _stage_view(
    repo: ConfigRepo,
    stage: Stage,
    statuses: Statuses | None,
    pending: list[Waiting],
    finder: SourceFinder,
) -> EnvView:
    app = stage_app(repo, stage, statuses)
    revision, where = _revision(repo, app)
    images = app.images if app and app.images else ()
    images = images or configread.images_at(repo, stage, revision)
    promotion = configread.current_promotion(repo, stage, revision) if revision else None
    return EnvView(
        name=stage.name,
        rule=str(stage.rule),
        app=app,
        images=images,
        images_from=where,
        promotion=promotion,
        source_repo=finder.repo_of(promotion),
        pending=tuple(w for w in pending if w.environment == stage.name),
    )


def stage_app(repo: ConfigRepo, stage: Stage, statuses: Statuses | None) -> AppState | None:
    """The application that deploys `stage` of `repo`, by its source; None when none does
    (or application state is unavailable)."""
    for name, doc in (statuses or {}).items():
        if serves(doc, repo.name, stage):
            return app_state(name, doc)
    return None


def _revision(repo: ConfigRepo, app: AppState | None) -> tuple[str, str]:
    if app is None:
        return "HEAD", f"declared at the tip of {repo.name} (no application reports it)"
    if not app.revision:
        return "", f"unknown: {app.name} has not fetched {repo.name} yet"
    return app.revision, f"at {app.revision[:7]}, the revision {app.name} is synced to"


def _apps_only(statuses: Statuses, pending: list[Waiting]) -> Pipeline:
    envs = []
    for name, doc in statuses.items():
        app = app_state(name, doc)
        envs.append(
            EnvView(
                name=name,
                rule="",
                app=app,
                images=app.images,
                images_from="reported by the reconciler",
                promotion=None,
                source_repo="",
                pending=tuple(w for w in pending if w.environment == name),
            )
        )
    return Pipeline(config_repo="", problem="", environments=tuple(envs))


class SourceFinder:
    """Which hosted repository a promoted commit belongs to: the repository the promotion's
    `Conveyor-Run` URL names, else the first hosted repository that has the commit
    (answers cached for one board)."""

    def __init__(self, service: CIService, candidates: list[str]) -> None:
        self.service = service
        self.candidates = candidates
        self._seen: dict[str, str] = {}

    def repo_of(self, promotion: Promotion | None) -> str:
        if promotion is None or not promotion.source_commit:
            return ""
        if promotion.source_repo:
            return promotion.source_repo
        sha = promotion.source_commit
        if sha not in self._seen:
            self._seen[sha] = next((r for r in self.candidates if self._has(r, sha)), "")
        return self._seen[sha]

    def _has(self, repo: str, sha: str) -> bool:
        if not configread.is_sha(sha):
            return False
        try:
            return Git(self.service.repo_path(repo)).commit_of(sha) is not None
        except GitError:
            return False
