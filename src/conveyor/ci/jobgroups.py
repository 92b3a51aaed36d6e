"""Job-level concurrency groups (`jobs.<id>.concurrency`) across runs, as GitHub decides.

A mixin of `CIService`, the per-unit twin of `ci.concurrency` (workflow level). Per group
(evaluated by `ci.jobplan` per matrix leg, per repository) at most one unit is waiting for
its environment, queued or in progress, and at most one waits `pending`; a newer pending
unit cancels the older pending one ("Canceling since a higher priority waiting request …
exists"), and with `cancel-in-progress` it also cancels the running one (through its
runner, `ci.cancels`: the group stays held until it ended). `ci.dispatch` calls `_enqueue_unit`
for each new unit (also those without a group: they are queued at once) and
`_release_unit_group` when a unit concludes; `recover` promotes pending units again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from conveyor.ci.parts import ServiceParts

UNIT_ACTIVE = ("waiting", "queued", "in_progress")  # a unit waiting for a review holds it


class JobGroups(ServiceParts):
    """Queueing rules of `CIService` for units that share a job-level concurrency group."""

    if TYPE_CHECKING:  # provided by CIService (ci.dispatch)

        def _finish_unit(
            self,
            unit: Mapping[str, Any],
            conclusion: str,
            *,
            outputs: Mapping[str, str] | None = None,
            reason: str = "",
            advance: bool = True,
        ) -> bool: ...

        def _gate(self, unit: Mapping[str, Any]) -> None: ...

        def _stop_unit(
            self, unit: Mapping[str, Any], reason: str = "", *, advance: bool = True
        ) -> None: ...

    def _enqueue_unit(self, unit_id: int) -> None:
        """Pending → queued unless its group is busy (older waiters are cancelled), through
        the environment gate (`ci.gates`: it may wait for a review instead)."""
        unit = self.store.unit(unit_id)
        if unit is None:
            return
        group = unit["concurrency_group"]
        if group:
            repo = self._run(int(unit["run_id"]))["repo"]
            others = [u for u in self._group_units(repo, group) if u["id"] != unit_id]
            note = f"Canceling since a higher priority waiting request for '{group}' exists"
            for other in others:
                if other["status"] == "pending" or unit["cancel_in_progress"]:
                    self._stop_unit(other, note)  # a running one: through its runner
            if any(
                u["status"] in UNIT_ACTIVE
                for u in self._group_units(repo, group)
                if u["id"] != unit_id
            ):
                return  # stays pending until the group frees
        self._gate(unit)

    def _group_units(self, repo: str, group: str) -> list[dict[str, Any]]:
        """Unfinished units of `group` in `repo`, oldest first."""
        found = []
        for unit in self.store.units(status=("pending", *UNIT_ACTIVE)):
            if unit["concurrency_group"] != group:
                continue
            run = self.store.run(int(unit["run_id"]))
            if run is not None and run["repo"] == repo:
                found.append(unit)
        return found

    def _release_unit_group(self, unit: Mapping[str, Any]) -> None:
        """A unit of the group ended: its pending unit (at most one) is queued."""
        group = unit["concurrency_group"]
        if group:
            self._promote_units(self._run(int(unit["run_id"]))["repo"], group)

    def _promote_units(self, repo: str, group: str) -> None:
        members = self._group_units(repo, group)
        if any(u["status"] in UNIT_ACTIVE for u in members):
            return
        waiting = [u for u in members if u["status"] == "pending"]
        if waiting:
            self._gate(waiting[0])
