"""The two target-facing steps of deleting an app (issue 14), each safe to repeat.

* `delete_objects`: the app's objects (its recorded inventory, plus live objects carrying
  its label, such as hooks earlier syncs left), in reverse sync order: the last wave first
  and, within a wave, the reverse of the kind order a sync applies in (Argo CD deletes
  wave by wave from the highest, `controller/sort_delete.go`). A wave must be gone before
  the next one starts; on a target that deletes slowly the step reports what remains and
  the caller repeats it on its next pass. Kept, as Argo CD keeps them: objects annotated
  `argocd.argoproj.io/sync-options: Delete=false` or `helm.sh/resource-policy: keep`,
  CustomResourceDefinitions, and objects another app now owns (`sharing`).
* `run_hooks`: the PreDelete (before any object is deleted) or PostDelete (once every
  object is gone) hooks of the app's last render, created and waited for; when they are
  all done (Healthy, or Degraded: as in Argo CD a failed hook does not stop the deletion)
  the HookSucceeded / HookFailed delete policies apply to the whole set, as in Argo CD.
  Hooks written with generateName are named as a sync would name them (`hooknames`),
  from the deletion's start time, so a repeated step finds the ones it created.

Called by `reconcile.deletion.Deletions`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from conveyor.core.errors import UserError
from conveyor.reconcile import health, hooknames, ordering
from conveyor.reconcile.inventory import SYNC_OPTIONS
from conveyor.reconcile.model import HealthStatus, Phase, Step
from conveyor.reconcile.sharing import owner_label
from conveyor.targets.base import Manifest, ObjectRef, Propagation, Target, TargetError

HELM_RESOURCE_POLICY = "helm.sh/resource-policy"


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """What one repetition of a step achieved; `done` when there is nothing left to do."""

    done: bool
    deleted: tuple[ObjectRef, ...] = ()
    kept: tuple[tuple[ObjectRef, str], ...] = ()
    foreign: tuple[ObjectRef, ...] = ()  # kept because another app owns them now
    message: str = ""


def kept_because(obj: Manifest) -> str:
    """Why an app's deletion leaves `obj` in place, "" when it deletes it."""
    notes = (obj.get("metadata") or {}).get("annotations") or {}
    options = {o.strip() for o in str(notes.get(SYNC_OPTIONS, "")).split(",")}
    if "Delete=false" in options:
        return f"annotated {SYNC_OPTIONS}: Delete=false"
    if str(notes.get(HELM_RESOURCE_POLICY, "")).strip() == "keep":
        return f"annotated {HELM_RESOURCE_POLICY}: keep"
    if obj.get("kind") == "CustomResourceDefinition":
        return "a CustomResourceDefinition (never deleted with an app, as in Argo CD)"
    return ""


def _wave(obj: Manifest) -> int:
    try:
        return ordering.wave_of(obj)
    except UserError:
        return 0  # edited live into nonsense: delete it with the plain resources


def deletion_order(objects: Mapping[ObjectRef, Manifest]) -> list[list[ObjectRef]]:
    """Groups to delete one after the other: waves from the last, each in reverse kind order."""
    waves: dict[int, list[ObjectRef]] = {}
    for ref, obj in objects.items():
        waves.setdefault(_wave(obj), []).append(ref)
    return [
        sorted(
            waves[w], key=lambda r: (ordering.kind_rank(r.kind), r.namespace, r.name), reverse=True
        )
        for w in sorted(waves, reverse=True)
    ]


async def _live(target: Target, refs: Iterable[ObjectRef]) -> dict[ObjectRef, Manifest]:
    found = {}
    for ref in sorted(set(refs)):
        obj = await target.get(ref)
        if obj is not None:
            found[ref] = obj
    return found


async def delete_objects(
    target: Target,
    app: str,
    inventory: Iterable[ObjectRef],
    *,
    propagation: Propagation = Propagation.FOREGROUND,
) -> Progress:
    """Delete what is left of `app`'s objects, wave by wave from the last (see module),
    with the finalizer's propagation policy."""
    owned = {ObjectRef.of(o) for o in await target.list_owned(app)}
    live = await _live(target, set(inventory) | owned)
    doomed: dict[ObjectRef, Manifest] = {}
    kept: list[tuple[ObjectRef, str]] = []
    foreign: list[ObjectRef] = []
    for ref, obj in live.items():
        label = owner_label(obj)
        if label not in ("", app):
            kept.append((ref, f"owned by app {label} now"))
            foreign.append(ref)
        elif why := kept_because(obj):
            kept.append((ref, why))
        else:
            doomed[ref] = obj
    deleted: list[ObjectRef] = []

    def progress(done: bool, message: str = "") -> Progress:
        return Progress(
            done=done,
            deleted=tuple(deleted),
            kept=tuple(kept),
            foreign=tuple(foreign),
            message=message,
        )

    for group in deletion_order(doomed):
        try:
            for ref in group:
                await target.delete(ref, propagation=propagation)
                deleted.append(ref)
        except TargetError as exc:
            return progress(False, str(exc))
        remaining = await _live(target, group)
        if remaining:
            return progress(False, f"waiting for {len(remaining)} objects to go")
    return progress(True)


def deletion_hooks(manifests: Iterable[Manifest]) -> tuple[Manifest, ...]:
    """A render's PreDelete and PostDelete hooks (kept while the app is defined)."""
    out = []
    for obj in manifests:
        try:
            phases = ordering.phases_of(obj) or ()
        except UserError:
            continue  # the render already failed on it
        if ordering.DELETION_PHASES.intersection(phases):
            out.append(obj)
    return tuple(out)


def _named(hooks: Sequence[Manifest], phase: Phase, *, revision: str, started: float) -> list[Step]:
    """The steps of `phase`, a generateName hook named as a sync at `started` would."""
    steps = []
    for wave in ordering.order(hooks, only=frozenset({phase})):
        for step in wave.steps:
            prefix = hooknames.generate_name(step.obj)
            name = prefix and hooknames.hook_name(
                prefix, revision=revision, phase=step.phase, started=started
            )
            obj = {**step.obj, "metadata": {**step.obj["metadata"], "name": name}}
            steps.append(replace(step, ref=ObjectRef.of(obj), obj=obj) if name else step)
    return steps


async def run_hooks(
    target: Target, hooks: Sequence[Manifest], phase: Phase, *, revision: str, started: float
) -> Progress:
    """Create the `phase` hooks not created yet, wait for all, then apply their delete
    policies (Argo CD's executeHooks and cleanupHooks, shared by both deletion phases)."""
    steps = _named(hooks, phase, revision=revision, started=started)
    if not steps:
        return Progress(done=True)
    verdicts = {}
    try:
        for step in steps:
            live = await target.get(step.ref)
            if live is None:
                live = await target.apply(step.obj)
            verdicts[step.ref] = health.assess(live)
    except TargetError as exc:
        return Progress(done=False, message=f"{phase} hook: {exc}")
    running = [ref for ref, v in verdicts.items() if v.status not in _FINISHED]
    if running:
        return Progress(done=False, message=f"waiting for {phase} hook {running[0]}")
    failed = [f"{ref}: {v.message}" for ref, v in verdicts.items() if v.status == _FAILED]
    policy = "HookFailed" if failed else "HookSucceeded"
    try:
        for step in steps:
            if policy in step.delete_policies:
                await target.delete(step.ref)
    except TargetError as exc:
        return Progress(done=False, message=f"{phase} hook clean-up: {exc}")
    outcome = f"failed ({failed[0]})" if failed else "succeeded"
    return Progress(done=True, message=f"{len(steps)} {phase} hooks {outcome}")


_FAILED = HealthStatus.DEGRADED
_FINISHED = (HealthStatus.HEALTHY, HealthStatus.SUSPENDED, HealthStatus.DEGRADED)
