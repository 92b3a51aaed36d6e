"""The board's and the commit journey's reads of hosted config repositories, with the
server's own git access (the bare repositories `CIService.repo_path` names).

A hosted repository is a config repository when `promotion.yaml` sits at the root of its
default branch (`conveyor.promote.config`): its stages, in promotion order, are the
environments. What a stage runs is read from the files at a revision (the one the
environment's application is synced to, else the branch tip) with the promoter's own
reader (`promote.stages.running`); who put it there from the `Conveyor-*` trailers of the
promotion commits that touched the stage's paths (`promote.history`).

Called by `boarddata` and `journey`; every function is one or two `git` processes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from conveyor.clients.errors import GitError
from conveyor.clients.git import Git
from conveyor.clients.gitrepo import Snapshot, is_ancestor
from conveyor.promote import stages as stage_reader
from conveyor.promote.config import FILE_NAME, PromotionConfig, Stage, parse_config
from conveyor.promote.errors import PromoteError
from conveyor.promote.history import LOG_FORMAT, Entry, parse_log

#: How far back the log of one stage is read for its current promotion.
STAGE_LOG_DEPTH = 200
#: `Conveyor-Run: {server}/{owner}/{repo}/actions/runs/{id}` (app.cmd_promote's default)
_RUN_URL = re.compile(r"(?:^|/)([\w.-]+/[\w.-]+)/actions/runs/(\d+)/?$")
_SHA = re.compile(r"^[0-9a-f]{4,64}$")
_FULL_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
#: find_config's answers by repository, with the refs' stamp they were read at
_CONFIGS: dict[Path, tuple[tuple[int, ...], ConfigRepo | None]] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigRepo:
    """A hosted repository with a `promotion.yaml`; `problem` when that file is invalid."""

    name: str
    path: Path
    config: PromotionConfig | None
    problem: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Promotion:
    """One promotion commit of the config repo, as its trailers tell it."""

    commit: str
    at: float  # committer date, epoch seconds
    author: str
    title: str
    image: str
    environment: str | None
    source_commit: str
    source_repo: str  # owner/name from the Conveyor-Run URL, '' when unknown
    run_id: int | None

    @property
    def who(self) -> str:
        """The author's name without the address (shown; the full author is the title)."""
        return self.author.split(" <", 1)[0] or self.author


def is_sha(text: str) -> bool:
    return bool(_SHA.match(text))


def find_config(name: str, path: Path) -> ConfigRepo | None:
    """`name` as a config repository, or None when its tip has no promotion.yaml (read
    again only when the repository's refs changed: see `_stamp`)."""
    stamp = _stamp(path)
    cached = _CONFIGS.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    found = _read_config(name, path)
    _CONFIGS[path] = (stamp, found)
    return found


def _stamp(path: Path) -> tuple[int, ...]:
    """What changes whenever a branch of the bare repository moves: git replaces a ref's
    file by renaming a lock file into `refs/heads/` (or rewrites `packed-refs`)."""
    stamps = []
    for part in ("HEAD", "refs/heads", "packed-refs"):
        try:
            stamps.append((path / part).stat().st_mtime_ns)
        except OSError:
            stamps.append(0)
    return tuple(stamps)


def _read_config(name: str, path: Path) -> ConfigRepo | None:
    try:
        text = Git(path).run("cat-file", "blob", f"HEAD:{FILE_NAME}", ok_codes=(0, 128))
    except GitError as exc:
        return ConfigRepo(name=name, path=path, config=None, problem=str(exc))
    if not text.strip():
        return None
    try:
        return ConfigRepo(name=name, path=path, config=parse_config(text))
    except PromoteError as exc:
        return ConfigRepo(name=name, path=path, config=None, problem=f"{FILE_NAME}: {exc}")


def stage_paths(stage: Stage) -> list[str]:
    return [*stage.paths, *(h.file for h in stage.helm)]


def images_at(repo: ConfigRepo, stage: Stage, revision: str) -> tuple[str, ...]:
    """Every image reference the stage's files name at `revision` (the promoter's reading:
    kustomize `images:`, workload manifests, Helm values). A commit's answer never
    changes: kept for full hashes."""
    if _FULL_SHA.match(revision):
        return _images_at_commit(repo.path, stage, revision)
    if revision != "HEAD":
        return ()
    return _images(repo.path, stage, revision)


@functools.lru_cache(maxsize=1024)
def _images_at_commit(path: Path, stage: Stage, commit: str) -> tuple[str, ...]:
    return _images(path, stage, commit)


def _images(path: Path, stage: Stage, revision: str) -> tuple[str, ...]:
    with Snapshot(path, revision) as tree:
        return tuple(str(ref) for ref in stage_reader.running(tree, stage))


def current_promotion(repo: ConfigRepo, stage: Stage, revision: str) -> Promotion | None:
    """The newest promotion into `stage` that `revision` contains and whose image the stage
    still declares, or None (kept for full hashes, like `images_at`). After a revert the
    newer promotion no longer counts: the stage runs an image it did not promote."""
    if _FULL_SHA.match(revision):
        return _current_at_commit(repo.path, stage, revision)
    return _current(repo.path, stage, revision)


@functools.lru_cache(maxsize=1024)
def _current_at_commit(path: Path, stage: Stage, commit: str) -> Promotion | None:
    return _current(path, stage, commit)


def _current(path: Path, stage: Stage, revision: str) -> Promotion | None:
    found = _log(path, revision, paths=stage_paths(stage), max_count=STAGE_LOG_DEPTH)
    declared: tuple[str, ...] | None = None
    for entry in found:
        if entry.environment not in (stage.name, None):
            continue
        if entry.image:
            declared = _images(path, stage, revision) if declared is None else declared
            if entry.image not in declared:
                continue  # reverted since: this promotion's image is not what runs
        return entry
    return None


def promotions_of(repo: ConfigRepo, source_commit: str) -> list[Promotion]:
    """Every promotion of `source_commit` (a full sha) on the config repo's tip, newest
    first: one `git log --grep` over the trailers."""
    found = _log(repo.path, "HEAD", grep=f"Conveyor-Source-Commit: {source_commit}")
    return [p for p in found if p.source_commit == source_commit]


def contains(repo: ConfigRepo, commit: str, revision: str) -> bool | None:
    """Whether `revision` of the config repo includes `commit`; None when unknown."""
    if not is_sha(revision):
        return None
    return is_ancestor(repo.path, commit, revision)


def _log(
    path: Path, revision: str, *, paths: Sequence[str] = (), grep: str = "", max_count: int = 500
) -> list[Promotion]:
    """Promotion commits of `revision` (none when git does not know it); `GitError` when
    git itself fails (the board shows it for that config repo)."""
    args = ["log", f"--format={LOG_FORMAT}", f"--max-count={max_count}"]
    if grep:
        args += ["--fixed-strings", f"--grep={grep}"]
    out = Git(path).run(*args, "--end-of-options", revision, "--", *paths, ok_codes=(0, 128))
    return [_promotion(entry) for entry in parse_log(out)]


def _promotion(entry: Entry) -> Promotion:
    run = _RUN_URL.search(entry.run or "")
    return Promotion(
        commit=entry.commit,
        at=_epoch(entry.date),
        author=entry.author,
        title=entry.title,
        image=entry.image,
        environment=entry.environment,
        source_commit=entry.source_commit or "",
        source_repo=run[1] if run else "",
        run_id=int(run[2]) if run else None,
    )


def _epoch(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0
