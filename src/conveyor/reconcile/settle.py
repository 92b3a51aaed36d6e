"""Waiting for what a pass started: `conveyor reconcile --once` after it applied (issue 11).

A target such as Podman rolls a Deployment out in the background after `apply` returns,
so one pass ends with the app Progressing and nothing running yet. `settle` keeps
reconciling the apps that are still moving until each one ends (Ready, or a state no
wait will change: Degraded, a failed sync, a render error) or `deadline` passes, as
`argocd app sync --wait` (which stops when health turns Degraded) and `flux reconcile
… --timeout` do.

An app is moving while its status says Reconciling (health Progressing, or a sync waiting
to retry), or while it is blocked on a dependency that is itself moving. Each round
reconciles only those apps, without fetching again (the revision a pass chose stays the
one waited for). Called by `conveyor.app.cmd_reconcile`; the clock and sleep are injected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from conveyor.reconcile.model import Reason
from conveyor.reconcile.reconciler import Reconciler

#: Seconds between rounds: the Podman target's controller ticks every 0.25 s while busy.
POLL = 0.25


class Outcome(StrEnum):
    READY = "Ready"  # Synced and Healthy
    FAILED = "Failed"  # settled short of Ready: only a change in Git or a human helps
    TIMED_OUT = "TimedOut"  # still moving when the deadline passed


@dataclass(frozen=True, slots=True, kw_only=True)
class Settled:
    """Every app's last status and how its wait ended."""

    statuses: dict[str, dict[str, Any]]
    outcomes: dict[str, Outcome]

    @property
    def ok(self) -> bool:
        return all(o == Outcome.READY for o in self.outcomes.values())

    @property
    def invalid(self) -> list[str]:
        """Apps whose Application document is not valid (InvalidSpec)."""
        return sorted(
            name
            for name, status in self.statuses.items()
            if _condition(status, "Ready").get("reason") == Reason.INVALID_SPEC
        )


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    for condition in status.get("conditions", []):
        if condition.get("type") == kind:
            return dict(condition)
    return {}


def is_ready(status: Mapping[str, Any]) -> bool:
    return _condition(status, "Ready").get("status") == "True"


def moving(statuses: Mapping[str, Mapping[str, Any]]) -> set[str]:
    """Apps still on their way: Reconciling, or blocked on an app that is (pure)."""
    found = {n for n, s in statuses.items() if _condition(s, "Reconciling").get("status") == "True"}
    grew = True
    while grew:  # a chain a -> b -> c waits as long as its first link moves
        more = {
            name
            for name, status in statuses.items()
            if name not in found and set(status.get("blockedOn", [])) & found
        }
        found |= more
        grew = bool(more)
    return found


def outcomes(statuses: Mapping[str, Mapping[str, Any]], *, timed_out: bool) -> dict[str, Outcome]:
    still = moving(statuses) if timed_out else set()
    return {
        name: Outcome.READY
        if is_ready(status)
        else Outcome.TIMED_OUT
        if name in still
        else Outcome.FAILED
        for name, status in statuses.items()
    }


async def settle(
    rec: Reconciler,
    statuses: dict[str, dict[str, Any]],
    *,
    deadline: float,
    clock: Callable[[], float],
    poll: float = POLL,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Settled:
    """Reconcile the moving apps again every `poll` seconds until none moves or `deadline`."""
    statuses = dict(statuses)
    while waiting := moving(statuses):
        left = deadline - clock()
        if left <= 0:
            return Settled(statuses=statuses, outcomes=outcomes(statuses, timed_out=True))
        await sleep(min(poll, left))
        await rec.reconcile_apps(sorted(waiting), fetch=False)
        statuses.update({name: rec.status(name) for name in waiting})
    return Settled(statuses=statuses, outcomes=outcomes(statuses, timed_out=False))
