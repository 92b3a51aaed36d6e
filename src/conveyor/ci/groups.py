"""Concurrency groups, as GitHub decides them: when a run may leave `pending` for `queued`
(`concurrency` of a workflow) and when a unit may (`jobs.<id>.concurrency`).

Per group (per repository) at most one member is active (a run queued, waiting for a
review or in progress; a unit waiting for its environment, queued or in progress) and at
most one waits pending; a newer pending member cancels the older pending one ("Canceling
since a higher priority waiting request … exists"), and `cancel-in-progress` also cancels
the active one (a run through `ci.cancels`; a running unit through its runner,
`Endings.stop_unit`: the group stays held until it ended).

`Groups` is built by `ci.wiring`. Runs: `ci.newruns` and `ci.reruns` call
`enqueue_run` for each new run, `ci.endings` `release_run` when a run concludes, and
`ci.recovery` `promote_run` for each pending run after a restart; a run that leaves
`pending` is handed to the dispatcher (`advance`). Units: `ci.dispatch` calls
`enqueue_unit` for each new unit (those without a group are gated at once), `ci.endings`
`release_unit` when a unit concludes, `ci.recovery` `promote_units`; a unit that leaves
`pending` goes through its environment's gate (`ci.gates`).
"""

from __future__ import annotations

from collections.abc import Callable

from conveyor.ci.cancels import Cancels
from conveyor.ci.deps import Deps
from conveyor.ci.endings import Endings
from conveyor.ci.gates import Gates
from conveyor.ci.ledger import Ledger
from conveyor.ci.model import ACTIVE, Run, Status, Unit

UNIT_ACTIVE = (Status.WAITING, Status.QUEUED, Status.IN_PROGRESS)  # a review holds it too


def _note(group: str) -> str:
    return f"Canceling since a higher priority waiting request for '{group}' exists"


class Groups:
    """Queueing rules for runs and units that share a concurrency group."""

    def __init__(
        self,
        deps: Deps,
        ledger: Ledger,
        cancels: Cancels,
        endings: Endings,
        gates: Gates,
        *,
        advance: Callable[[int], None],
    ) -> None:
        self.deps = deps
        self.store = deps.store
        self.ledger = ledger
        self.cancels = cancels
        self.endings = endings
        self.gates = gates
        self.advance = advance  # the run's step function (`ci.dispatch`)

    # -- runs (workflow-level groups) ---------------------------------------------------

    def enqueue_run(self, run_id: int) -> None:
        """Pending → queued unless its concurrency group is busy (GitHub's rules)."""
        run = self.ledger.run(run_id)
        group = run.concurrency_group
        if group:
            others = [
                r
                for r in self.ledger.runs(repo=run.repo, status=(Status.PENDING, *ACTIVE))
                if r.concurrency_group == group and r.id != run_id
            ]
            for other in others:
                if other.status == Status.PENDING or run.cancel_in_progress:
                    self.cancels.cancel(other.id, reason=_note(group))
            if any(self.ledger.run(o.id).status in ACTIVE for o in others):
                return  # stays pending until the group frees
        self._start(run_id)

    def _start(self, run_id: int) -> None:
        self.store.update_run(run_id, status=Status.QUEUED)
        self.advance(run_id)
        self.deps.wake.set()

    def _run_group_busy(self, run: Run) -> bool:
        group = run.concurrency_group
        return bool(group) and any(
            r.concurrency_group == group and r.id != run.id
            for r in self.ledger.runs(repo=run.repo, status=ACTIVE)
        )

    def release_run(self, run: Run) -> None:
        """A run of the group ended: its pending run (at most one) is queued."""
        group = run.concurrency_group
        if not group:
            return
        waiting = [
            r
            for r in self.ledger.runs(repo=run.repo, status=(Status.PENDING,))
            if r.concurrency_group == group
        ]
        if waiting:
            self.promote_run(min(r.id for r in waiting))

    def promote_run(self, run_id: int) -> None:
        """Pending → queued when its group has nothing queued or in progress."""
        run = self.ledger.run(run_id)
        if run.status == Status.PENDING and not self._run_group_busy(run):
            self._start(run_id)

    # -- units (job-level groups) -------------------------------------------------------

    def enqueue_unit(self, unit_id: int) -> None:
        """Pending → queued unless its group is busy (older waiters are cancelled), through
        the environment gate (`ci.gates`: it may wait for a review instead)."""
        unit = self.ledger.unit(unit_id)
        if unit is None:
            return
        group = unit.concurrency_group
        if group:
            repo = self.ledger.run(unit.run_id).repo
            others = [u for u in self._group_units(repo, group) if u.id != unit_id]
            for other in others:
                if other.status == Status.PENDING or unit.cancel_in_progress:
                    self.endings.stop_unit(other, _note(group))  # running: through its runner
            if any(
                u.status in UNIT_ACTIVE for u in self._group_units(repo, group) if u.id != unit_id
            ):
                return  # stays pending until the group frees
        self.gates.gate(unit)

    def _group_units(self, repo: str, group: str) -> list[Unit]:
        """Unfinished units of `group` in `repo`, oldest first."""
        found = []
        for unit in self.ledger.units(status=(Status.PENDING, *UNIT_ACTIVE)):
            if unit.concurrency_group != group:
                continue
            run = self.ledger.find_run(unit.run_id)
            if run is not None and run.repo == repo:
                found.append(unit)
        return found

    def release_unit(self, unit: Unit) -> None:
        """A unit of the group ended: its pending unit (at most one) is queued."""
        if unit.concurrency_group:
            self.promote_units(self.ledger.run(unit.run_id).repo, unit.concurrency_group)

    def promote_units(self, repo: str, group: str) -> None:
        members = self._group_units(repo, group)
        if any(u.status in UNIT_ACTIVE for u in members):
            return
        waiting = [u for u in members if u.status == Status.PENDING]
        if waiting:
            self.gates.gate(waiting[0])
