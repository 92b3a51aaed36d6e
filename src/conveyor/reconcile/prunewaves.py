"""Where prunes happen in a sync: in waves, as Argo CD schedules them. Pure.

Argo CD (gitops-engine's sync context; sync-options.md "Prune Last") prunes in the Sync
phase, each object in the wave its live `sync-wave` annotation names, with the prune waves
mirrored (what was created last goes first: waves 0, 1, 2 prune as 2, 1, 0) and, inside a
wave, before anything is applied, in reverse kind order. `PruneLast=true` (app-wide, or
on the live object) moves a prune to a final implicit wave after every Sync wave has
synced and turned healthy. `schedule` merges those prune steps into the plan's waves.
Called by `sync.execute`.
"""

from __future__ import annotations

from collections.abc import Callable

from conveyor.core.errors import UserError
from conveyor.reconcile import ordering
from conveyor.reconcile.model import Phase, Step, SyncPlan, Wave
from conveyor.targets.base import Manifest, ObjectRef

_PHASES = (Phase.PRE_SYNC, Phase.SYNC, Phase.POST_SYNC, Phase.SYNC_FAIL)


def schedule(plan: SyncPlan, *, prune_last: Callable[[Manifest | None], bool]) -> list[Wave]:
    """The plan's waves with one prune step per `plan.prune.delete` entry merged in."""
    live = {p.ref: p.live for p in plan.pairs if p.live is not None}
    prunes = {ref: live.get(ref) for ref in plan.prune.delete}
    if not prunes:
        return list(plan.waves)
    own = {ref: _wave(obj) for ref, obj in prunes.items()}
    unique = sorted(set(own.values()))
    mirrored = dict(zip(unique, reversed(unique), strict=True))
    sync_waves = [w.wave for w in plan.waves if w.phase == Phase.SYNC]
    last = max(sync_waves, default=0) + 1
    steps: dict[tuple[Phase, int], list[Step]] = {}
    for ref in sorted(prunes, key=lambda r: (-ordering.kind_rank(r.kind), r.namespace, r.name)):
        obj = prunes[ref]
        number = last if prune_last(obj) else mirrored[own[ref]]
        steps.setdefault((Phase.SYNC, number), []).append(_step(ref, obj, number))
    for wave in plan.waves:
        steps.setdefault((wave.phase, wave.wave), []).extend(wave.steps)
    keys = sorted(steps, key=lambda k: (_PHASES.index(k[0]), k[1]))
    return [Wave(phase=phase, wave=n, steps=tuple(steps[(phase, n)])) for phase, n in keys]


def _wave(obj: Manifest | None) -> int:
    try:
        return ordering.wave_of(obj or {})
    except UserError:  # a live object's annotation no longer parses: prune it in wave 0
        return 0


def _step(ref: ObjectRef, obj: Manifest | None, wave: int) -> Step:
    return Step(ref=ref, obj=obj or {}, phase=Phase.SYNC, wave=wave, hook=False, prune=True)
