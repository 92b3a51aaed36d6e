"""Pair desired and live objects (gitops-engine's paired target/live lists). Pure.

`stamp` prepares rendered manifests for one app: it fills the app's destination namespace
into namespaced objects that lack one and adds the ownership label. `pair` lines desired
objects up with live ones by `ObjectRef`; a pair with no live side is a create, one with
no desired side is a prune candidate. Called by `reconcile.plan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from conveyor.reconcile import hooknames
from conveyor.reconcile.diff import clone
from conveyor.reconcile.model import Pair
from conveyor.targets.base import OWNER_LABEL, Manifest, ObjectRef

#: Kinds that live outside namespaces (Kubernetes built-ins); others get the app's namespace.
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "StorageClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PriorityClass",
        "IngressClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "APIService",
        "RuntimeClass",
        "CSIDriver",
        "VolumeSnapshotClass",
    }
)


def stamp(manifests: Iterable[Manifest], *, app: str, namespace: str) -> tuple[Manifest, ...]:
    """Copies of `manifests` with a namespace where one belongs and the owner label."""
    out = []
    for obj in manifests:
        copy = clone(obj)
        meta = copy.setdefault("metadata", {})
        if copy.get("kind") in CLUSTER_SCOPED:
            meta.pop("namespace", None)
        elif namespace and not meta.get("namespace"):
            meta["namespace"] = namespace
        labels = meta.get("labels") or {}
        meta["labels"] = {**labels, OWNER_LABEL: app}
        out.append(copy)
    return tuple(out)


def duplicates(manifests: Sequence[Manifest]) -> list[ObjectRef]:
    """Refs that appear more than once (a render error: which one would win?). Hooks named
    from one generateName count as one: their formulated names would collide."""
    seen: set[ObjectRef] = set()
    dups: list[ObjectRef] = []
    for obj in manifests:
        ref = hooknames.identity(obj)
        if ref in seen:
            dups.append(ref)
        seen.add(ref)
    return dups


def pair(
    desired: Sequence[Manifest],
    live: Mapping[ObjectRef, Manifest],
    inventory: Iterable[ObjectRef] = (),
) -> tuple[Pair, ...]:
    """Desired objects with their live twin, then inventory entries no longer desired."""
    pairs = []
    wanted: set[ObjectRef] = set()
    for obj in desired:
        ref = ObjectRef.of(obj)
        wanted.add(ref)
        pairs.append(Pair(ref=ref, desired=obj, live=live.get(ref)))
    for ref in sorted(set(inventory) - wanted):
        pairs.append(Pair(ref=ref, desired=None, live=live.get(ref)))
    return tuple(pairs)
