"""Execute a `SyncPlan` against a target: phases and waves in order, health between
waves, hooks to completion, prune last. Returns one `ResourceResult` per object.

Rules (Argo CD's sync-waves, resource-hooks and sync-options docs):
* waves run in plan order; within a wave every step is applied, in-sync objects too,
  unless `ApplyOutOfSyncOnly=true` (then they are Unchanged, not touched); hooks always
  run; how each object is written (Replace, Force, ServerSideApply, Validate,
  RespectIgnoreDifferences) comes from `behaviour`;
* before a later wave starts, the objects applied so far must be Healthy (hooks must
  have completed; a wave with hooks is waited for even when it is the last);
  Degraded, or the wave timeout, fails the sync;
* a failure on one object is that object's result; the rest of its wave still runs,
  later waves are Skipped, SyncFail hooks run, and nothing is pruned;
* hook delete policies: BeforeHookCreation (default) deletes an earlier run's object
  first (for a hook named from generateName: the objects earlier syncs created from the
  same generateName, see `hooknames`); HookSucceeded / HookFailed delete it after it
  finished that way;
* prunes, only the plan's `prune.delete` (inventory-only, see `inventory`), run in the
  Sync phase in mirrored waves, or in a final wave with PruneLast (`prunewaves`), with
  the app's `PrunePropagationPolicy`.
Called by `reconcile.steps.run_sync`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from conveyor.reconcile import health, prunewaves
from conveyor.reconcile.appmodel import Application
from conveyor.reconcile.behaviour import SyncBehaviour
from conveyor.reconcile.model import (
    HealthStatus,
    Phase,
    ResourceResult,
    ResultCode,
    Step,
    SyncPlan,
    Wave,
)
from conveyor.targets.base import (
    ChangeFeed,
    Manifest,
    ObjectRef,
    Target,
    TargetError,
    TargetRejected,
)

log = logging.getLogger(__name__)
_FAILED = (ResultCode.SYNC_FAILED, ResultCode.HOOK_FAILED)
#: Earlier syncs' objects of each generateName hook: (group, kind, namespace, prefix) → refs.
_Earlier = dict[tuple[str, str, str, str], list[ObjectRef]]


@dataclass(frozen=True, slots=True, kw_only=True)
class SyncOptions:
    wave_timeout: float = 300.0
    poll: float = 0.02
    clock: Callable[[], float] = time.monotonic
    assess: Callable[[Manifest | None], health.Verdict] = health.assess  # custom health: steps


@dataclass(frozen=True, slots=True, kw_only=True)
class _Run:
    """What every step of one sync reads: the target, the options, the live objects."""

    target: Target
    how: SyncBehaviour
    out_of_sync: frozenset[ObjectRef]
    live: dict[ObjectRef, Manifest]
    earlier: _Earlier


async def execute(
    plan: SyncPlan, target: Target, options: SyncOptions, *, app: Application | None = None
) -> list[ResourceResult]:
    """Run `plan`; `app` brings the sync options (None: Argo CD's defaults)."""
    results: list[ResourceResult] = []
    how = SyncBehaviour.of(app)
    run = _Run(
        target=target,
        how=how,
        out_of_sync=frozenset(plan.out_of_sync),
        live={p.ref: p.live for p in plan.pairs if p.live is not None},
        earlier=await _earlier_runs(plan, target),
    )
    scheduled = prunewaves.schedule(plan, prune_last=how.prune_last)
    waves = [w for w in scheduled if w.phase != Phase.SYNC_FAIL]
    failed = False
    for index, wave in enumerate(waves):
        if failed:
            results += [_skipped(step) for step in wave.steps]
            continue
        wave_results = await _run_wave(wave, run)
        results += wave_results
        failed = any(r.code in _FAILED for r in wave_results)
        if not failed and (index + 1 < len(waves) or any(s.hook for s in wave.steps)):
            problem = await _wait_healthy(wave, wave_results, target, options)
            if problem:
                results.append(problem)
                failed = True
    if failed:
        for wave in (w for w in plan.waves if w.phase == Phase.SYNC_FAIL):
            results += await _run_wave(wave, run)
        return results
    return results + [
        ResourceResult(ref=ref, code=ResultCode.PRUNE_SKIPPED, message=str(why))
        for ref, why in plan.prune.skipped
    ]


async def _run_wave(wave: Wave, run: _Run) -> list[ResourceResult]:
    results = []
    for step in wave.steps:
        if step.prune:
            results.append(await _prune(step, run))
        elif (
            run.how.apply_out_of_sync_only
            and not step.hook
            and step.ref not in run.out_of_sync
            and step.ref in run.live
        ):
            results.append(_result(step, ResultCode.UNCHANGED, "already in sync"))
        else:
            results.append(await _apply(step, run))
    return results


def _run_key(ref: ObjectRef, generate_name: str) -> tuple[str, str, str, str]:
    return (ref.group, ref.kind, ref.namespace, generate_name)


async def _earlier_runs(plan: SyncPlan, target: Target) -> _Earlier:
    """Live objects earlier syncs created for this plan's generateName hooks, by hook."""
    wanted = {
        _run_key(s.ref, s.generate_name) for w in plan.waves for s in w.steps if s.generate_name
    }
    if not wanted:
        return {}
    found: _Earlier = {}
    for obj in await target.list_owned(plan.app):
        ref = ObjectRef.of(obj)
        key = _run_key(ref, str((obj.get("metadata") or {}).get("generateName") or ""))
        if key in wanted:
            found.setdefault(key, []).append(ref)
    return found


async def _apply(step: Step, run: _Run) -> ResourceResult:
    target = run.target
    try:
        if step.hook and "BeforeHookCreation" in step.delete_policies:
            await target.delete(step.ref)
            for ref in run.earlier.get(_run_key(step.ref, step.generate_name), ()):
                if ref != step.ref:
                    await target.delete(ref)
        await _write(step, run)
    except TargetError as exc:
        code = ResultCode.HOOK_FAILED if step.hook else ResultCode.SYNC_FAILED
        return _result(step, code, exc.reason)
    verb = "hook created" if step.hook else "applied"
    return _result(step, ResultCode.SYNCED, verb)


async def _wait_healthy(
    wave: Wave, results: list[ResourceResult], target: Target, options: SyncOptions
) -> ResourceResult | None:
    """Wait until the wave's objects are Healthy; a result describing the failure, or None."""
    applied = {r.ref for r in results if r.code == ResultCode.SYNCED}
    steps = [s for s in wave.steps if s.ref in applied]
    deadline = options.clock() + options.wave_timeout
    while steps:
        pending = []
        for step in steps:
            verdict = options.assess(await target.get(step.ref))
            if verdict.status == HealthStatus.DEGRADED:
                await _after_hook(step, target, succeeded=False)
                code = ResultCode.HOOK_FAILED if step.hook else ResultCode.SYNC_FAILED
                return _result(step, code, f"wave {wave.wave} failed: {verdict.message}")
            if verdict.status in (HealthStatus.HEALTHY, HealthStatus.SUSPENDED):
                await _after_hook(step, target, succeeded=True)
            else:
                pending.append(step)
        steps = pending
        if steps and options.clock() > deadline:
            return _result(
                steps[0],
                ResultCode.SYNC_FAILED,
                f"wave {wave.wave} not healthy after {options.wave_timeout:g}s",
            )
        if steps:
            await _pause(target, [s.ref for s in steps], deadline - options.clock(), options)
    return None


async def _pause(target: Target, refs: list[ObjectRef], left: float, options: SyncOptions) -> None:
    """Until one of `refs` changes on a target that tells (a `ChangeFeed`), else one poll."""
    if isinstance(target, ChangeFeed):
        await target.changed(refs, timeout=max(left, 0.0))
    else:
        await asyncio.sleep(options.poll)


async def _after_hook(step: Step, target: Target, *, succeeded: bool) -> None:
    policy = "HookSucceeded" if succeeded else "HookFailed"
    if step.hook and policy in step.delete_policies:
        try:
            await target.delete(step.ref)
        except TargetError as exc:
            log.warning("could not delete hook %s after it finished: %s", step.ref, exc)


async def _write(step: Step, run: _Run) -> None:
    """Apply one object as its options say: Replace replaces; Force with Replace deletes
    and re-creates; Force alone deletes and re-creates only when the apply is refused
    (`kubectl apply --force`); RespectIgnoreDifferences keeps ignored fields' live values."""
    how, target = run.how, run.target
    obj = how.keep_live(step.ref, step.obj, run.live.get(step.ref)) if not step.hook else step.obj
    options = how.apply_options(obj)
    force = how.force(obj)
    if force and options.replace:
        await target.delete(step.ref)
    try:
        await target.apply(obj, options=options)
    except TargetRejected:
        if not force or options.replace:
            raise
        await target.delete(step.ref)
        await target.apply(obj, options=options)


async def _prune(step: Step, run: _Run) -> ResourceResult:
    policy = run.how.propagation
    try:
        await run.target.delete(step.ref, propagation=policy)
    except TargetError as exc:
        return _result(step, ResultCode.SYNC_FAILED, f"prune failed: {exc.reason}")
    return _result(step, ResultCode.PRUNED, f"pruned ({policy})")


def _result(step: Step, code: ResultCode, message: str) -> ResourceResult:
    return ResourceResult(
        ref=step.ref, code=code, message=message, phase=step.phase, wave=step.wave
    )


def _skipped(step: Step) -> ResourceResult:
    return _result(step, ResultCode.SKIPPED, "not attempted: an earlier wave failed")


def succeeded(results: list[ResourceResult]) -> bool:
    return not any(r.code in _FAILED for r in results)
