"""Safe pruning: which recorded objects may be deleted. Pure.

The rules (issue 6, learned from Argo CD's and Flux's surprise-prune complaints):
* only objects in the app's own recorded inventory are candidates, never "whatever
  carries our label";
* the caller never asks when fetch or render failed (there is no desired state then);
* an empty render that would delete everything is refused unless `allowEmpty`;
* live objects annotated `argocd.argoproj.io/sync-options: Prune=false` (or
  `conveyor.dev/prune: "false"`) are kept and reported; `Prune=confirm` ones too, and
  they keep the app OutOfSync (Argo CD waits for a confirmation Conveyor has no channel
  for: the user deletes the object, or lets Conveyor prune it with Prune=true);
* with pruning disabled the candidates are reported as PruneSkipped, not deleted.
Deletion itself happens last, in `reconcile.sync`. Called by `reconcile.plan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from conveyor.reconcile.model import PruneDecision, PruneSkip
from conveyor.targets.base import Manifest, ObjectRef

SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
PRUNE_ANNOTATION = "conveyor.dev/prune"


def prune_needs_confirmation(obj: Manifest | None) -> bool:
    notes = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    options = {o.strip() for o in str(notes.get(SYNC_OPTIONS, "")).split(",")}
    return "Prune=confirm" in options


def prune_disabled_by_annotation(obj: Manifest | None) -> bool:
    notes = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    options = {o.strip() for o in str(notes.get(SYNC_OPTIONS, "")).split(",")}
    return "Prune=false" in options or str(notes.get(PRUNE_ANNOTATION, "")).lower() == "false"


def decide(
    *,
    inventory: Iterable[ObjectRef],
    desired: Iterable[ObjectRef],
    live: Mapping[ObjectRef, Manifest | None],
    prune: bool,
    allow_empty: bool,
) -> PruneDecision:
    """Split the stale inventory entries into deletions and kept objects."""
    wanted = set(desired)
    stale = sorted(ref for ref in set(inventory) - wanted if live.get(ref) is not None)
    if not stale:
        return PruneDecision()
    if not wanted and not allow_empty:
        return PruneDecision(
            skipped=tuple((ref, PruneSkip.EMPTY_RENDER) for ref in stale),
            refused=(
                f"refusing to prune all {len(stale)} objects: the rendered manifests "
                "are empty (set syncPolicy.automated.allowEmpty to allow this)"
            ),
        )
    delete: list[ObjectRef] = []
    skipped: list[tuple[ObjectRef, PruneSkip]] = []
    for ref in stale:
        if prune_disabled_by_annotation(live.get(ref)):
            skipped.append((ref, PruneSkip.ANNOTATED))
        elif prune_needs_confirmation(live.get(ref)):
            skipped.append((ref, PruneSkip.CONFIRM))
        elif not prune:
            skipped.append((ref, PruneSkip.DISABLED))
        else:
            delete.append(ref)
    return PruneDecision(delete=tuple(delete), skipped=tuple(skipped))
