"""Compare against what the target would store: server-side dry-run for the diff (issue 16).

A target that can answer "what would you store if I applied this?" (the Kubernetes
target: server-side apply with `dryRun=All`) gets each desired object that already
exists sent that way before the diff, and the diff compares the answer with the live
object. Defaults the server fills in and mutating webhooks' additions are then not drift,
and fields other field managers own stay out of the comparison, as in Argo CD's server-side
diff. Objects that do not exist yet are not sent (they are out of sync anyway); a dry-run
the target refuses or cannot answer leaves the manifest as it is (the sync reports why).
Targets without `dry_run` (memory, Podman) are compared as before, through their
normalisation rules. Called by `steps.observe` and `steps.object_diffs`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from conveyor.reconcile import ordering
from conveyor.reconcile.appmodel import Application
from conveyor.reconcile.behaviour import SyncBehaviour
from conveyor.targets.base import APPLY, ApplyOptions, Manifest, ObjectRef, Target, TargetError

log = logging.getLogger(__name__)


@runtime_checkable
class DryRuns(Protocol):
    """A target that can say what it would store for an object, without storing it."""

    async def dry_run(self, obj: Manifest, *, options: ApplyOptions = APPLY) -> Manifest | None:
        """The object as applying it would leave it; None when it cannot say."""
        ...


async def stored_forms(
    target: Target,
    app: Application,
    manifests: Sequence[Manifest],
    live: Mapping[ObjectRef, Manifest],
) -> dict[ObjectRef, Manifest]:
    """ref → the target's dry-run answer, for each existing non-hook desired object."""
    if not isinstance(target, DryRuns):
        return {}
    how = SyncBehaviour.of(app)
    out: dict[ObjectRef, Manifest] = {}
    for obj in manifests:
        ref = ObjectRef.of(obj)
        if ordering.is_hook(obj) or ref not in live:
            continue
        try:
            answer = await target.dry_run(obj, options=how.apply_options(obj))
        except TargetError as exc:
            log.info("app %s: dry-run of %s failed (%s); diffing the manifest", app.name, ref, exc)
            continue
        if answer is not None:
            out[ref] = answer
    return out
