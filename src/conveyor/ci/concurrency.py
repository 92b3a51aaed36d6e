"""Concurrency groups: when a run may leave `pending` for `queued`, as GitHub decides.

A mixin of `CIService`. Per group (`concurrency.group` of a workflow, per repository) at
most one run is queued or in progress and at most one waits pending; a newer pending run
cancels the older pending one, and `cancel-in-progress` also cancels the running one.
`CIService` calls `_enqueue` for each new run (new or re-run), `_release_group` when a run
concludes, and `_promote` for each pending run when it recovers after a restart. A run
that leaves `pending` is handed to `ci.dispatch` (`_advance`), which queues its first jobs;
job-level groups are `ci.jobgroups`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from conveyor.ci.parts import ServiceParts

ACTIVE = ("queued", "waiting", "in_progress")  # a run waiting for a review holds its group


class ConcurrencyGroups(ServiceParts):
    """Queueing rules of `CIService` for runs that share a concurrency group."""

    if TYPE_CHECKING:  # provided by CIService

        def cancel(
            self, run_id: int, *, reason: str = "cancelled by a user", force: bool = False
        ) -> None: ...

    def _enqueue(self, run_id: int) -> None:
        """Pending → queued unless its concurrency group is busy (GitHub's rules)."""
        run = self._run(run_id)
        group = run["concurrency_group"]
        if group:
            others = [
                r
                for r in self.store.runs(repo=run["repo"], status=("pending", *ACTIVE), limit=1000)
                if r["concurrency_group"] == group and r["id"] != run_id
            ]
            note = f"Canceling since a higher priority waiting request for '{group}' exists"
            for other in others:
                if other["status"] == "pending" or run["cancel_in_progress"]:
                    self.cancel(other["id"], reason=note)
            if any(self._run(o["id"])["status"] in ACTIVE for o in others):
                return  # stays pending until the group frees
        self.store.update_run(run_id, status="queued")
        self._advance(run_id)
        self.wake.set()

    def _group_busy(self, run: Mapping[str, Any]) -> bool:
        group = run["concurrency_group"]
        return bool(group) and any(
            r["concurrency_group"] == group and r["id"] != run["id"]
            for r in self.store.runs(repo=run["repo"], status=ACTIVE, limit=1000)
        )

    def _release_group(self, run: Mapping[str, Any]) -> None:
        """A run of the group ended: its pending run (at most one) is queued."""
        group = run["concurrency_group"]
        if not group:
            return
        waiting = [
            r
            for r in self.store.runs(repo=run["repo"], status=("pending",), limit=1000)
            if r["concurrency_group"] == group
        ]
        if waiting:
            self._promote(min(r["id"] for r in waiting))

    def _promote(self, run_id: int) -> None:
        """Pending → queued when its group has nothing queued or in progress."""
        run = self._run(run_id)
        if run["status"] == "pending" and not self._group_busy(run):
            self.store.update_run(run_id, status="queued")
            self._advance(run_id)
            self.wake.set()
