"""Events become runs: a push to a hosted repository (`handle_push`, each ref update of a
spooled push once: `ci.intake`), a webhook's event (`ci.webhooks`) or a workflow_dispatch
(`dispatch_event` builds its event) queue a run per workflow the event triggers
(`ci.triggers`); an invalid workflow file is a failed run with file:line annotations.

`NewRuns` is built by `ci.wiring`; `CIService` passes `handle_push`, `handle_event` and
`dispatch` on. Each new run meets its workflow-level concurrency group (`enqueue_run`,
handed in: `ci.groups`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from conveyor.ci import events as ci_events
from conveyor.ci import refs as ci_refs
from conveyor.ci import tracespans
from conveyor.ci.deps import Deps
from conveyor.ci.errors import NotFound
from conveyor.ci.hosted import HostedRepos
from conveyor.ci.ledger import Ledger
from conveyor.ci.model import INVALID_WORKFLOW, Conclusion, Status
from conveyor.ci.pushspool import ReceivedPush, RefUpdate
from conveyor.ci.statuses import CommitStatuses
from conveyor.ci.triggers import RunPlan, changed_files, commit_message, plan_runs, pushed_commits
from conveyor.core import tracing
from conveyor.workflow.plan.event import Event

log = logging.getLogger(__name__)


class NewRuns:
    """Runs from events (see the module docstring)."""

    def __init__(
        self,
        deps: Deps,
        ledger: Ledger,
        hosted: HostedRepos,
        statuses: CommitStatuses,
        *,
        enqueue_run: Callable[[int], None],
        on_push: Callable[[str, str], None] | None = None,
    ) -> None:
        self.deps = deps
        self.store = deps.store
        self.ledger = ledger
        self.hosted = hosted
        self.statuses = statuses
        self.enqueue_run = enqueue_run  # `Groups.enqueue_run`
        self.on_push = on_push  # (full_name, clone_url) after each hosted push: reconciler

    async def handle_update(
        self, push: ReceivedPush, update: RefUpdate, delivery: str
    ) -> list[int]:
        """One ref update of a spooled push (`ci.intake`), recorded once as `delivery`."""
        return await self.handle_push(
            push.repo,
            ref=update.ref,
            before=update.before,
            after=update.after,
            pusher=push.pusher,
            delivery={
                "delivery": delivery,
                "repo": push.repo,
                "ref": update.ref,
                "before": update.before,
                "after": update.after,
                "pusher": push.pusher,
                "received": push.received,
            },
        )

    async def handle_push(
        self,
        full_name: str,
        *,
        ref: str,
        before: str,
        after: str,
        pusher: str,
        delivery: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """A push to a hosted repository: tell the reconciler, then queue matching workflows.
        With `delivery` (a `ci_push_deliveries` row), the runs are added only if that
        delivery was not recorded before, in the transaction that records it."""
        self.deps.count("pushes")
        git_dir = self.hosted.path(full_name)
        if self.on_push is not None:
            self.on_push(full_name, str(git_dir))
        if tracing.enabled() and after != ci_events.ZERO:
            received = float((delivery or {}).get("received") or time.time())
            limit = tracespans.MAX_PROMOTIONS
            commits = await asyncio.to_thread(pushed_commits, git_dir, before, after, limit=limit)
            tracespans.promotions_pushed(full_name, commits, received=received)
        if after == ci_events.ZERO:
            if delivery is not None:
                self.store.add_delivery_runs(delivery, [])
            return []
        changed = await asyncio.to_thread(changed_files, git_dir, before, after)
        message = await asyncio.to_thread(commit_message, git_dir, after)
        event = ci_events.push_event(
            full_name=full_name,
            clone_url=self.hosted.clone_url(full_name),
            ref=ref,
            before=before,
            after=after,
            pusher=pusher,
            message=message,
            changed=changed,
        )
        return await self.handle_event(event, git_dir=git_dir, delivery=delivery)

    async def handle_event(
        self,
        event: Event,
        *,
        git_dir: Path,
        workflow: str | None = None,
        delivery: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """Queue a run per workflow `event` triggers (failed runs for invalid files);
        `workflow` (a file name or path) keeps only that one (workflow_dispatch); with
        `delivery`, only if it is new (see `handle_push`)."""
        plans = await asyncio.to_thread(plan_runs, git_dir, event)
        if workflow is not None:
            plans = [p for p in plans if workflow in (p.workflow_path, Path(p.workflow_path).name)]
        if delivery is None:
            return [self._add_run(plan, event) for plan in plans]
        values = [self._run_values(plan, event) for plan in plans]
        ids = self.store.add_delivery_runs(delivery, values)
        if ids is None:
            log.info("push %s was handed over before: no run added again", delivery["delivery"])
            return []
        for run_id, plan in zip(ids, plans, strict=True):
            self._queue_new(run_id, plan, event)
        return ids

    def _add_run(self, plan: RunPlan, event: Event) -> int:
        run_id = self.store.add_run(self._run_values(plan, event))
        self._queue_new(run_id, plan, event)
        return run_id

    def _run_values(self, plan: RunPlan, event: Event) -> dict[str, Any]:
        now = self.deps.clock()
        return {
            "repo": event.repository,
            "clone_url": self.hosted.clone_url(event.repository),
            "workflow_path": plan.workflow_path,
            "workflow_name": plan.workflow_name,
            "event": event.name,
            "ref": event.ref,
            "sha": event.sha,
            "payload": dict(event.payload),
            "labels": list(plan.labels),
            "concurrency_group": plan.concurrency_group,
            "cancel_in_progress": int(plan.cancel_in_progress),
            "annotations": [dict(a) for a in plan.annotations],
            "status": Status.COMPLETED if plan.invalid else Status.PENDING,
            "conclusion": Conclusion.FAILURE if plan.invalid else "",
            "reason": INVALID_WORKFLOW if plan.invalid else "",
            "created": now,
            "finished": now if plan.invalid else None,
        }

    def _queue_new(self, run_id: int, plan: RunPlan, event: Event) -> None:
        self.deps.count("runs_created")
        self.statuses.run(
            self.ledger.run(run_id), Conclusion.FAILURE if plan.invalid else Status.PENDING
        )
        if not plan.invalid:
            self.enqueue_run(run_id)
        log.info(
            "run %d: %s %s at %s (%s)",
            run_id,
            event.repository,
            plan.workflow_path,
            event.sha[:12],
            "invalid" if plan.invalid else "queued",
        )

    def dispatch_event(
        self, full_name: str, *, ref: str, inputs: Mapping[str, str], actor: str
    ) -> Event:
        """The workflow_dispatch event for `ref` (exactly a branch or a tag: issue 12, #10)."""
        git_dir = self.hosted.path(full_name)
        if not git_dir.exists():
            raise NotFound(f"no repository {full_name}")
        found = ci_refs.resolve(git_dir, ref)
        return ci_events.dispatch_event(
            full_name=full_name,
            clone_url=self.hosted.clone_url(full_name),
            ref=found.ref,
            sha=found.sha,
            actor=actor,
            inputs=dict(inputs),
        )
