"""Names for hooks written with `metadata.generateName`, Argo CD's convention. Pure.

An API server would add a random suffix when it creates such an object; Conveyor applies,
and apply needs a fixed name. So, as gitops-engine does when it builds a sync's tasks
(`pkg/sync/sync_context.go`, `getSyncTasks`), the name is formulated per sync operation:
`<generateName><revision[:7]>-<phase>-<operation start, unix seconds>`, lower-cased.
All hooks of one sync share that suffix (they are identifiable as that sync's), and the
next sync creates new objects. The object keeps `metadata.generateName`; `sync` uses it
to find earlier runs of the same hook for the BeforeHookCreation policy. (Argo CD's
BeforeHookCreation finds a hook by its name only, so generated hooks pile up there until
a HookSucceeded/HookFailed policy removes them; here they are replaced like named ones.)

Only hooks may go without a name: a plain resource needs a stable name to be compared,
applied and pruned, and Argo CD refuses it too (`kubectl apply`: "cannot use generate
name with apply"). `check` says so at render time. Called by `steps` and `pairing`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from conveyor.core.errors import UserError
from conveyor.reconcile import ordering
from conveyor.reconcile.model import Step, SyncPlan, Wave
from conveyor.targets.base import Manifest, ObjectRef


def generate_name(obj: Manifest) -> str:
    """`metadata.generateName` of an object that has no `metadata.name`, else ""."""
    meta = obj.get("metadata") or {}
    return "" if meta.get("name") else str(meta.get("generateName") or "")


def identity(obj: Manifest) -> ObjectRef:
    """The ref of `obj`, with its generateName standing in for a missing name."""
    ref = ObjectRef.of(obj)
    return replace(ref, name=generate_name(obj)) if not ref.name else ref


def check(manifests: Iterable[Manifest]) -> None:
    """UserError for the first object that cannot be applied for want of a name."""
    for obj in manifests:
        if (obj.get("metadata") or {}).get("name"):
            continue
        prefix = generate_name(obj)
        if not prefix:
            raise UserError(
                f"{ObjectRef.of(obj)}: metadata.name is required", hint="give the object a name"
            )
        if not ordering.is_hook(obj):
            raise UserError(
                f"{identity(obj)}: metadata.generateName without metadata.name works only "
                "for hooks; a resource applied on every sync needs a stable name",
                hint="set metadata.name, or make it a hook "
                "(annotation argocd.argoproj.io/hook: PreSync, Sync, PostSync or SyncFail)",
            )


def hook_name(prefix: str, *, revision: str, phase: str, started: float) -> str:
    """gitops-engine's formulated hook name: prefix + `<rev7>-<phase>-<unix seconds>`."""
    return f"{prefix}{revision[:7]}-{phase}-{int(started)}".lower()


def name_hooks(plan: SyncPlan, *, started: float) -> SyncPlan:
    """`plan` with every generateName hook step named for the sync starting at `started`."""
    waves = tuple(
        Wave(phase=w.phase, wave=w.wave, steps=tuple(_named(s, plan, started) for s in w.steps))
        for w in plan.waves
    )
    return replace(plan, waves=waves)


def _named(step: Step, plan: SyncPlan, started: float) -> Step:
    prefix = generate_name(step.obj)
    if not step.hook or not prefix:
        return step
    name = hook_name(prefix, revision=plan.revision, phase=step.phase, started=started)
    obj = {**step.obj, "metadata": {**step.obj["metadata"], "name": name}}
    return replace(step, ref=replace(step.ref, name=name), obj=obj, generate_name=prefix)
