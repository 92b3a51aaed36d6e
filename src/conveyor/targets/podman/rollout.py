"""What a workload controller should do next (pure): which replicas to create and remove.

`plan_deployment` follows the Deployment controller: `RollingUpdate` creates new replicas
up to `replicas + maxSurge` and removes old ones only while at least
`replicas - maxUnavailable` replicas stay ready (so new replicas start, become ready and
join the Service before old ones leave); `Recreate` removes every old replica before the
first new one starts. `plan_statefulset` keeps stable ordinals: with `OrderedReady` it
creates the lowest missing ordinal once all lower ones are ready, and updates from the
highest ordinal down, one at a time. Called by `conveyor.targets.podman.workloads` each
tick; it executes the returned `Step`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class View:
    """A replica as the planner sees it."""

    name: str
    spec_hash: str
    slot: int
    ready: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    create: tuple[int, ...] = ()  # slots (ordinals) to create with the current template
    remove: tuple[str, ...] = ()  # container names to take out of rotation and remove


def _scaled(value: Any, replicas: int, default: str, *, up: bool) -> int:
    raw = str(default if value is None else value)
    if raw.endswith("%"):
        exact = replicas * float(raw[:-1]) / 100
        return math.ceil(exact) if up else math.floor(exact)
    return int(raw)


def surge_and_unavailable(spec: Mapping[str, Any], replicas: int) -> tuple[int, int]:
    rolling = (spec.get("strategy") or {}).get("rollingUpdate") or {}
    surge = _scaled(rolling.get("maxSurge"), replicas, "25%", up=True)
    unavailable = _scaled(rolling.get("maxUnavailable"), replicas, "25%", up=False)
    if surge == 0 and unavailable == 0:
        surge = 1  # the API server rejects 0/0; never deadlock on it
    return surge, unavailable


def plan_deployment(
    spec: Mapping[str, Any],
    current: str,
    views: Sequence[View],
    reserved: frozenset[int] = frozenset(),
) -> Step:
    """`reserved`: slots of the current template whose names are still being removed."""
    replicas = int(spec.get("replicas", 1))
    new = sorted((v for v in views if v.spec_hash == current), key=lambda v: v.slot)
    old = [v for v in views if v.spec_hash != current]
    strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
    if strategy == "Recreate":
        if old:
            return Step(remove=tuple(v.name for v in old))
        return Step(
            create=_free_slots(new, replicas - len(new), reserved),
            remove=tuple(v.name for v in _excess(new, replicas)),
        )
    surge, unavailable = surge_and_unavailable(spec, replicas)
    remove = [v.name for v in _excess(new, replicas)]
    available = sum(1 for v in views if v.ready and v.name not in remove)
    floor = replicas - unavailable
    for victim in sorted(old, key=lambda v: (v.ready, -v.slot)):
        if victim.ready:
            if available - 1 < floor:
                break
            available -= 1
        remove.append(victim.name)
    # Replicas removed in this step no longer count against the surge (as terminating pods
    # do not in Kubernetes), so the next new one starts in the same step.
    room = min(replicas - len(new), replicas + surge - (len(views) - len(remove)))
    return Step(create=_free_slots(new, room, reserved), remove=tuple(remove))


def _free_slots(
    new: Sequence[View], count: int, reserved: frozenset[int] = frozenset()
) -> tuple[int, ...]:
    used = {v.slot for v in new} | reserved
    slots: list[int] = []
    slot = 0
    while len(slots) < count:
        if slot not in used:
            slots.append(slot)
        slot += 1
    return tuple(slots)


def _excess(new: Sequence[View], replicas: int) -> list[View]:
    if len(new) <= replicas:
        return []
    ranked = sorted(new, key=lambda v: (v.ready, -v.slot))
    return ranked[: len(new) - replicas]


def plan_statefulset(spec: Mapping[str, Any], current: str, views: Sequence[View]) -> Step:
    replicas = int(spec.get("replicas", 1))
    ordered = spec.get("podManagementPolicy", "OrderedReady") == "OrderedReady"
    by_slot = {v.slot: v for v in views}
    excess = sorted((v for v in views if v.slot >= replicas), key=lambda v: -v.slot)
    if excess:
        return Step(remove=(excess[0].name,) if ordered else tuple(v.name for v in excess))
    missing = [i for i in range(replicas) if i not in by_slot]
    if missing:
        if not ordered:
            return Step(create=tuple(missing))
        first = missing[0]
        if all(by_slot[i].ready for i in range(first)):
            return Step(create=(first,))
        return Step()
    if not all(v.ready for v in views):
        return Step()
    stale = sorted((v for v in views if v.spec_hash != current), key=lambda v: -v.slot)
    return Step(remove=(stale[0].name,)) if stale else Step()
