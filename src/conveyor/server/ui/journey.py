"""A commit's journey (`GET /commits/{owner}/{repo}/{sha}`): push → the runs of that
commit → the image they built → each environment in promotion order: when and by whom it
was promoted (the config-repo commit and its `Conveyor-*` trailers), whether a review was
needed and who gave it (with the comment), and whether the environment's application
runs it now.

`build(service, repo, sha, statuses, problem)` is called by `routes_board` in a worker
thread; it raises `JourneyNotFound` (a 404 page) for an unknown repository or commit.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from conveyor.ci.service import CIService
from conveyor.clients.git import Git
from conveyor.promote.imageref import try_parse
from conveyor.server.ui import configread
from conveyor.server.ui.boarddata import Statuses, stage_app
from conveyor.server.ui.boardmodel import Row, RunLine, run_line
from conveyor.server.ui.journeystage import Approval, StageStep, stage_step

#: The newest runs of the repository searched for the commit's runs, besides those its
#: commit statuses name (`ci.statuses`: the latest run of each workflow on the commit).
RUN_SCAN = 100
_STATUS_RUN = re.compile(r"/runs/(\d+)$")


class JourneyNotFound(Exception):
    """No such hosted repository, or no such commit in it: the message says which."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommitInfo:
    sha: str
    title: str
    body: str
    author: str
    at: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageSeen:
    image: str
    where: str  # "output image_tag of job build (run #3)", "promotion to dev"
    run_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Pipeline:
    config_repo: str
    problem: str
    stages: tuple[StageStep, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Journey:
    repo: str
    commit: CommitInfo
    runs: tuple[RunLine, ...]
    images: tuple[ImageSeen, ...]
    pipelines: tuple[Pipeline, ...]
    apps_problem: str


def build(
    service: CIService, repo: str, sha: str, statuses: Statuses | None, problem: str = ""
) -> Journey:
    commit = _commit(service, repo, sha)
    runs = _runs(service, repo, commit.sha)
    approvals = _approvals(service, runs)
    pipelines = [
        _pipeline(c, commit.sha, statuses, approvals)
        for n in service.repos()
        if (c := configread.find_config(n, service.repo_path(n)))
    ]
    promoted = [p for line in pipelines for s in line.stages for p in s.promotions]
    images = _run_images(service, runs) + [
        ImageSeen(image=p.image, where=f"promoted to {p.environment or '?'}", run_id=p.run_id)
        for p in reversed(promoted)
    ]
    return Journey(
        repo=repo,
        commit=commit,
        runs=tuple(runs),
        images=tuple(_unique(images)),
        pipelines=tuple(pipelines),
        apps_problem=problem,
    )


def _commit(service: CIService, repo: str, sha: str) -> CommitInfo:
    if repo not in service.repos():
        raise JourneyNotFound(f"no hosted repository {repo}")
    git = Git(service.repo_path(repo))
    full = git.commit_of(sha) if configread.is_sha(sha) else None
    if full is None:
        raise JourneyNotFound(
            f"{repo} has no commit {sha[:64]}: check the hash, or push the commit first"
        )
    [found] = git.log(full, max_count=1, with_changes=False)
    title, _, body = found.message.strip().partition("\n")
    return CommitInfo(
        sha=full,
        title=title,
        body=body.strip(),
        author=f"{found.author.name} <{found.author.email}>",
        at=datetime.fromisoformat(found.author.date).timestamp(),
    )


def _runs(service: CIService, repo: str, sha: str) -> list[RunLine]:
    """The commit's runs, oldest first: those its commit statuses link, the newest runs
    of the repository on it, and the earlier attempts each was re-run from."""
    store = service.store
    todo = [
        int(m[1])
        for s in store.statuses(repo, sha)
        if (m := _STATUS_RUN.search(str(s.get("target_url") or "")))
    ]
    todo += [int(r["id"]) for r in store.runs(repo=repo, limit=RUN_SCAN) if r.get("sha") == sha]
    found: dict[int, Row] = {}
    while todo:
        run_id = todo.pop()
        row = None if run_id in found else store.run(run_id)
        if row is not None and row.get("repo") == repo and row.get("sha") == sha:
            found[run_id] = row
            todo += [int(row["rerun_of"])] if row.get("rerun_of") else []
    now = time.time()
    return [run_line(found[i], now) for i in sorted(found)]


def _approvals(service: CIService, runs: list[RunLine]) -> list[Approval]:
    return [
        Approval.of(a, run.id)
        for run in runs
        for a in service.store.config.approvals(run_id=run.id)
    ]


def _pipeline(
    repo: configread.ConfigRepo,
    sha: str,
    statuses: Statuses | None,
    approvals: list[Approval],
) -> Pipeline:
    if repo.config is None:
        return Pipeline(config_repo=repo.name, problem=repo.problem, stages=())
    promotions = configread.promotions_of(repo, sha)
    steps = [
        stage_step(
            repo,
            stage,
            app=stage_app(repo, stage, statuses),
            sha=sha,
            promotions=promotions,
            approvals=approvals,
        )
        for stage in repo.config.stages
    ]
    return Pipeline(config_repo=repo.name, problem="", stages=tuple(steps))


def _run_images(service: CIService, runs: list[RunLine]) -> list[ImageSeen]:
    """Outputs of the runs' jobs (as runners completed them) named like an image that
    hold an image reference with a tag or digest."""
    found = []
    for run in runs:
        rows = [*service.store.units(run_id=run.id), *service.store.jobs(run.id)]
        for job in rows:
            outputs: dict[str, Any] = job.get("outputs") or {}
            for key, value in outputs.items():
                if "image" in key.lower() and _versioned(value):
                    where = f"output {key} of job {job['name']} (run #{run.id})"
                    found.append(ImageSeen(image=value, where=where, run_id=run.id))
    return found


def _versioned(value: Any) -> bool:
    ref = try_parse(value) if isinstance(value, str) else None
    return ref is not None and bool(ref.tag or ref.digest)


def _unique(images: list[ImageSeen]) -> list[ImageSeen]:
    seen: dict[str, ImageSeen] = {}
    for image in images:
        seen.setdefault(image.image, image)
    return list(seen.values())
