"""`CreateNamespace=true` and `spec.syncPolicy.managedNamespaceMetadata` (Argo CD's
sync-options.md, "Create Namespace"; issue 14).

Before a sync applies anything, the destination namespace is created when missing. With
`managedNamespaceMetadata`, its labels and annotations are applied on every sync, so a
change in Git reaches the namespace; the target's apply merges (`kubectl apply`), so
labels others set stay and labels the app set before and dropped since go. A Namespace
the app renders itself wins (Argo CD: the manifest overwrites the metadata), and the
namespace is never in the app's inventory, so it is never pruned. Without
`CreateNamespace=true` the metadata has no effect, as in Argo CD. Called by
`steps.run_sync`.
"""

from __future__ import annotations

from collections.abc import Iterable

from conveyor.reconcile.appmodel import Application
from conveyor.targets.base import Manifest, ObjectRef, Target


async def ensure(target: Target, app: Application, manifests: Iterable[Manifest]) -> None:
    namespace = app.namespace
    if not app.sync_policy.enabled("CreateNamespace") or not namespace:
        return
    ref = ObjectRef(group="", kind="Namespace", namespace="", name=namespace)
    if any(ObjectRef.of(obj) == ref for obj in manifests):
        return  # the app's own Namespace manifest is applied in its wave
    managed = app.sync_policy.managed_namespace_metadata
    if managed is None and await target.get(ref) is not None:
        return
    meta: Manifest = {"name": namespace}
    if managed is not None and managed.labels:
        meta["labels"] = dict(managed.labels)
    if managed is not None and managed.annotations:
        meta["annotations"] = dict(managed.annotations)
    await target.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
