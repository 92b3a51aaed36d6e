"""Git write-back: fetch, plan, commit with trailers, push; on rejection re-apply on the new tip.

One attempt = read the branch tip into the cache, run the pure `planner` on that tip's
tree, write one commit with `git fast-import`, `git push` it. A rejected push (the branch
moved) is never rebased: the next attempt fetches the new tip and plans again from the
files as they are there, after a jittered exponential backoff (full jitter, 50 ms base,
2 s cap) up to `max_attempts`.

`Writer` serves pull-request mode (under the cache lock, skipping the fetch when the cache
already knows the tip) and `shared_cache=False` (every process fetches into its own ref
and retries purely optimistically). Commit mode with the shared cache goes through
`groupcommit.GroupWriter`, which reuses `Writer.build` but lets one push carry every
pending promotion on the machine.

A content conflict is precisely: on a retry, a field being promoted now holds a value that
is neither the value read on the first attempt nor the value being written, and some
commit between the first tip and the new one that touched the file carries no
`Conveyor-Image` trailer (a hand edit). Changes by other Conveyor promotions are not
conflicts; `--only-if-newer` orders those.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from conveyor.clients.gitwrite import (
    FileWrite,
    GitCache,
    Identity,
    PushOutcome,
    Remote,
    Snapshot,
    is_ancestor,
)
from conveyor.promote import ordering, planner, trailers
from conveyor.promote.config import Rule
from conveyor.promote.errors import ContentConflict, PromoteInputError, PushContention
from conveyor.promote.imageref import try_parse
from conveyor.promote.planner import EditSpec, Plan
from conveyor.promote.workloads import Change

log = logging.getLogger(__name__)

DEFAULT_AUTHOR = Identity(name="Conveyor", email="conveyor@localhost")
BACKOFF_BASE = 0.05
BACKOFF_CAP = 2.0


class Status(StrEnum):
    PROMOTED = "promoted"
    NOOP = "noop"  # already at that image: no commit
    SKIPPED = "skipped"  # --only-if-newer: the current image is newer
    DRY_RUN = "dry-run"
    PULL_REQUEST = "pull-request"


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """Where the commit goes: the branch itself, or a promotion branch (force-pushed)."""

    ref: str
    force: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Built:
    """One attempt's plan, and either its commit or the verdict that stopped it."""

    plan: Plan
    base: str
    sha: str | None = None
    verdict: Outcome | None = None
    confirmed: bool = True  # False: decided on an unfetched tip, fetch and decide again


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteRequest:
    remote: Remote
    spec: EditSpec
    branch: str = "main"
    author: Identity = DEFAULT_AUTHOR
    title: str | None = None
    body: str | None = None
    source_commit: str | None = None
    run: str | None = None
    build_number: int | None = None
    only_if_newer: bool = False
    dry_run: bool = False
    force: bool = False
    max_attempts: int = 10
    cache_root: Path | None = None
    shared_cache: bool = True
    app_repo: Path | None = None
    require_commit_rule: bool = True  # refuse commit mode into an approval stage


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    status: Status
    reason: str
    commit: str | None = None
    base: str | None = None
    attempts: int = 0
    changes: tuple[Change, ...] = ()
    diff: str = ""
    git_processes: int = 0
    extra: dict[str, str] = field(default_factory=dict)


def backoff(attempt: int, rng: random.Random) -> float:
    return rng.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


def commit_message(req: WriteRequest) -> str:
    spec = req.spec
    where = spec.env or ", ".join(spec.paths) or ", ".join(s.file for s in spec.sets)
    title = req.title or f"Promote {spec.reference or 'values'} to {where}"
    pairs = [
        (trailers.IMAGE, spec.reference),
        (trailers.ENVIRONMENT, spec.env or ""),
        (trailers.SOURCE_COMMIT, req.source_commit or ""),
        (trailers.RUN, req.run or ""),
        (trailers.BUILD_NUMBER, "" if req.build_number is None else str(req.build_number)),
    ]
    return trailers.message(title, req.body, pairs)


class Writer:
    """Runs attempts for one request against one cache (see the module docstring)."""

    def __init__(
        self,
        req: WriteRequest,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.req = req
        self.cache = GitCache(req.remote, root=req.cache_root)
        self.sleep = sleep
        self.rng = rng or random.Random()
        shared = req.shared_cache
        self.track = (
            f"refs/conveyor/tip/{req.branch}"
            if shared
            else f"refs/conveyor/tmp/{os.getpid()}-{uuid.uuid4().hex[:8]}"
        )
        self.first: tuple[str, dict[str, tuple[str, ...]]] | None = None
        self.attempts = 0

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self.req.shared_cache:
            with self.cache.lock():
                yield
        else:
            yield

    def run(
        self, target: Target | None = None, before_push: Callable[[str, Plan], Target] | None = None
    ) -> Outcome:
        """Promote; `before_push` may redirect the commit (pull-request mode)."""
        self.cache.ensure()
        try:
            for attempt in range(1, self.req.max_attempts + 1):
                with self._locked():
                    outcome = self._attempt(target, before_push)
                if outcome is not None:
                    return outcome
                delay = backoff(attempt, self.rng)
                log.info(
                    "push rejected (attempt %d): retrying in %.0f ms on the new tip",
                    attempt,
                    delay * 1000,
                )
                self.sleep(delay)
        finally:
            if not self.req.shared_cache:
                self.cache.delete_ref(self.track)
        raise PushContention(
            f"gave up after {self.req.max_attempts} rejected pushes to {self.req.branch}",
        )

    def _tip(self) -> tuple[str, bool]:
        """Fetch the branch tip (a force-pushed PR branch must never start from a stale one)."""
        tip = self.cache.fetch(self.req.branch, into=self.track)
        if tip is None:
            raise PromoteInputError(
                f"branch {self.req.branch} does not exist on the remote",
                hint="give --branch, or push an initial commit first",
            )
        return tip, True

    def _attempt(
        self, target: Target | None, before_push: Callable[[str, Plan], Target] | None
    ) -> Outcome | None:
        tip, fresh = self._tip()
        built = self.build(tip, fresh=fresh)
        if built.verdict is not None:
            return built.verdict
        assert built.sha is not None
        where = target or Target(ref=f"refs/heads/{self.req.branch}")
        if before_push is not None:
            where = before_push(built.sha, built.plan)
        if self.cache.push(built.sha, where.ref, force=where.force) == PushOutcome.REJECTED:
            return None
        if self.req.shared_cache and not where.force:
            self.cache.set_ref(self.track, built.sha)
        return self._done(
            Status.PROMOTED,
            f"pushed {built.sha[:12]} to {where.ref}",
            built.plan,
            commit=built.sha,
            base=tip,
        )

    def build(self, base: str, *, fresh: bool) -> Built:
        """Plan on `base` and, unless a verdict (no-op, skip, dry run) stops it, commit."""
        self.attempts += 1
        with self.cache.snapshot(base) as snap:
            config = planner.load_config(snap) if self.req.spec.env else None
            plan = planner.plan(snap, self.req.spec, config)
            if config and self.req.spec.env and self.req.require_commit_rule:
                self._check_rule(config.stage(self.req.spec.env).rule)
            self._check_conflict(base, plan)
            verdict = self._verdict(base, plan)
            if verdict is not None:
                confirmed = fresh  # decided on an unfetched tip: fetch and decide again
                return Built(plan=plan, base=base, verdict=verdict, confirmed=confirmed)
            sha = self.cache.commit(
                base,
                self._writes(snap, plan),
                message=commit_message(self.req),
                author=self.req.author,
                committer=self.req.author,
            )
        return Built(plan=plan, base=base, sha=sha)

    def _check_rule(self, rule: Rule) -> None:
        if rule == Rule.APPROVAL and not self.req.force:
            raise PromoteInputError(
                f"environment {self.req.spec.env} requires approval",
                hint="use --mode pull-request, or --force to commit directly",
            )

    def _verdict(self, tip: str, plan: Plan) -> Outcome | None:
        if plan.noop:
            return self._done(
                Status.NOOP, f"already at {self.req.spec.reference}: no commit", plan, base=tip
            )
        if self.req.only_if_newer:
            older = self._older(tip, plan)
            if older:
                return self._done(Status.SKIPPED, older, plan, base=tip)
        if self.req.dry_run:
            return self._done(
                Status.DRY_RUN,
                "dry run: nothing pushed",
                plan,
                base=tip,
                diff=unified_diff(plan),
            )
        return None

    def _older(self, tip: str, plan: Plan) -> str | None:
        """Why the current image is at least as new as ours, or None to go ahead."""
        spec = self.req.spec
        history = self._promotions(tip) if self._needs_history() else []
        builds = [int(b) for t in history if (b := t.get(trailers.BUILD_NUMBER, "")).isdigit()]
        sources = [t[trailers.SOURCE_COMMIT] for t in history[:1] if trailers.SOURCE_COMMIT in t]
        for change in plan.changes:
            current = try_parse(change.old)
            verdict = ordering.decide(
                current_tag=current.tag if current else change.old,
                new_tag=spec.tag or (change.new if spec.image is None else None),
                current_build=builds[0] if builds else None,
                new_build=self.req.build_number,
                is_ancestor=self._ancestry,
                current_source=sources[0] if sources else None,
                new_source=self.req.source_commit,
            )
            if not verdict.newer:
                return f"{verdict.reason} (--only-if-newer)"
        return None

    def _needs_history(self) -> bool:
        return self.req.build_number is not None or (
            self.req.source_commit is not None and self.req.app_repo is not None
        )

    def _promotions(self, tip: str) -> list[dict[str, str]]:
        """Trailers of the last promotions of this image to this env, newest first."""
        spec = self.req.spec
        if spec.image is None:
            return []
        pattern = f"^{trailers.IMAGE}: {re.escape(spec.image.name)}[:@]"
        out = self.cache.log(
            "-E", f"--grep={pattern}", "--format=%B%x1e", "-n", "50", "--end-of-options", tip
        )
        found = []
        for body in out.split("\x1e"):
            pairs = dict(reversed(trailers.parse(body)))
            if pairs and pairs.get(trailers.ENVIRONMENT) == spec.env:
                found.append(pairs)
        return found

    def _ancestry(self, older: str, newer: str) -> bool | None:
        if self.req.app_repo is None:
            return None
        return is_ancestor(self.req.app_repo, older, newer)

    def _check_conflict(self, tip: str, plan: Plan) -> None:
        if self.first is None:
            self.first = (tip, plan.observed)
            return
        first_tip, first_seen = self.first
        if tip == first_tip:
            return
        for change in plan.changes:
            path = change.location.file
            if change.old in first_seen.get(path, ()) or change.old == change.new:
                continue
            if self._hand_edited(first_tip, tip, path):
                raise ContentConflict(
                    f"{change.location}: changed by hand to {change.old!r} while promoting "
                    f"{change.new!r} (was {', '.join(first_seen.get(path, ())) or 'absent'})",
                    hint="look at the new commit, then promote again if it should be replaced",
                )

    def _hand_edited(self, old_tip: str, new_tip: str, path: str) -> bool:
        out = self.cache.log(
            "--format=%B%x1e", "--end-of-options", f"{old_tip}..{new_tip}", "--", path
        )
        bodies = [b for b in out.split("\x1e") if b.strip()]
        return any(not trailers.values(b, trailers.IMAGE) for b in bodies)

    def _writes(self, snap: Snapshot, plan: Plan) -> list[FileWrite]:
        return [FileWrite(path=e.path, data=e.new, mode=snap.mode(e.path)) for e in plan.edits]

    def _done(
        self,
        status: Status,
        reason: str,
        plan: Plan,
        *,
        commit: str | None = None,
        base: str | None = None,
        diff: str = "",
    ) -> Outcome:
        return Outcome(
            status=status,
            reason=reason,
            commit=commit,
            base=base,
            attempts=self.attempts,
            changes=plan.changes,
            diff=diff,
            git_processes=self.cache.counters.processes,
        )


def unified_diff(plan: Plan) -> str:
    chunks: list[str] = []
    for edit in plan.edits:
        chunks += difflib.unified_diff(
            edit.old.decode("utf-8").splitlines(keepends=True),
            edit.new.decode("utf-8").splitlines(keepends=True),
            fromfile=f"a/{edit.path}",
            tofile=f"b/{edit.path}",
        )
    return "".join(chunks)
