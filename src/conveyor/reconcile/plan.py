"""Compare and plan: desired state + live objects + inventory → `SyncPlan`. Pure.

`plan()` pairs objects, diffs every pair with the app's `Normalizer`, decides what to
prune (`inventory.decide`) and orders what to apply (`ordering.order`). Hooks take no part
in the sync status (as in Argo CD): they run on every sync operation instead. Objects
kept by a Prune=false annotation do not make the app OutOfSync; they are listed in the
plan's prune decision. Neither do live objects annotated
`argocd.argoproj.io/compare-options: IgnoreExtraneous` (Argo CD's compare option), though
they are still pruned when a sync prunes. Called by `reconcile.reconciler` (every pass)
and `conveyor app diff`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from conveyor.reconcile import annotations as object_annotations
from conveyor.reconcile import inventory, ordering
from conveyor.reconcile.diff import Normalizer, ObjectDiff, compare
from conveyor.reconcile.model import DesiredState, PruneSkip, SyncPlan
from conveyor.reconcile.pairing import pair
from conveyor.targets.base import Manifest, ObjectRef


def diffs(
    desired: DesiredState,
    live: Mapping[ObjectRef, Manifest],
    normalizer: Normalizer,
    compared: Mapping[ObjectRef, Manifest] | None = None,
) -> list[ObjectDiff]:
    """One normalised diff per non-hook desired object; `compared` holds, by ref, the
    form to compare instead of the manifest (the target's dry-run answer: `serverdiff`)."""
    out = []
    for obj in desired.manifests:
        if ordering.is_hook(obj):
            continue
        ref = ObjectRef.of(obj)
        out.append(compare(ref, (compared or {}).get(ref, obj), live.get(ref), normalizer))
    return out


def plan(
    desired: DesiredState,
    live: Mapping[ObjectRef, Manifest],
    *,
    inventory_refs: Iterable[ObjectRef],
    normalizer: Normalizer,
    prune: bool,
    allow_empty: bool,
    compared: Mapping[ObjectRef, Manifest] | None = None,
) -> SyncPlan:
    """Everything one sync would do, and which objects are out of sync."""
    pairs = pair(desired.manifests, live, inventory_refs)
    out_of_sync = [d.ref for d in diffs(desired, live, normalizer, compared) if d.changed]
    wanted = [ObjectRef.of(o) for o in desired.manifests if not ordering.is_hook(o)]
    decision = inventory.decide(
        inventory=inventory_refs,
        desired=wanted,
        live={p.ref: p.live for p in pairs if p.desired is None},
        prune=prune,
        allow_empty=allow_empty,
    )
    kept_by_annotation = {ref for ref, why in decision.skipped if why == PruneSkip.ANNOTATED}
    stale = [
        p.ref
        for p in pairs
        if p.desired is None
        and p.live is not None
        and p.ref not in kept_by_annotation
        and "IgnoreExtraneous" not in object_annotations.compare_options(p.live)
    ]
    return SyncPlan(
        app=desired.app,
        revision=desired.revision,
        digest=desired.digest,
        pairs=pairs,
        waves=ordering.order(desired.manifests),
        prune=decision,
        out_of_sync=(*out_of_sync, *stale),
    )
