"""An application's objects as a tree, for the reconciler endpoint's `GET /apps/APP` view
(`app.reconcilerviews`) and through it the web UI's application page (issue 15). Pure.

Nodes are plain JSON rows, one per object, replica or container, each naming its parent
(`parent`: the parent node's `id`, "" at the top):

* every object of the app: desired (rendered from Git), inventoried (applied earlier) or
  live with the app's owner label, with its sync status from the last comparison's plan
  and its health from the last assessment;
* objects whose `metadata.ownerReferences` point at another of them (by uid, or by kind
  and name in the same namespace) nest under it, as Kubernetes controllers' children do;
* replicas the target reports as Pods (the Podman target's `<deployment>-<hash>-<slot>`)
  nest under their workload, with health by the same rules as every object;
* containers nest under their Pod (from `status.containerStatuses`: image, ready,
  restarts, state), or, when the target reports no replicas, under the workload from its
  pod template (image only).

Rows come out in tree order (depth first, siblings by kind and name), so a renderer can
nest them in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.reconcile.model import HealthReport, ObjectHealth, SyncPlan
from conveyor.targets.base import Manifest, ObjectRef

#: Kinds whose pod template holds containers (`spec.template.spec.containers`).
WORKLOADS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}
)
Assess = Callable[[Manifest], tuple[str, str]]  # health status and message of a live object


@dataclass(frozen=True, slots=True, kw_only=True)
class Sides:
    """What the reconciler knows of one app: the objects on each side and its last verdicts."""

    desired: Mapping[ObjectRef, Manifest]
    live: Mapping[ObjectRef, Manifest]
    inventory: frozenset[ObjectRef]
    plan: SyncPlan | None
    health: HealthReport | None
    replicas: tuple[Manifest, ...] = ()  # Pods the target runs for workloads (any app)


def nodes(sides: Sides, assess: Assess) -> list[dict[str, Any]]:
    """The app's tree as rows in depth-first order (see the module docstring)."""
    refs = sorted(set(sides.desired) | set(sides.live) | sides.inventory, key=_order)
    verdicts = {o.ref: o for o in sides.health.objects} if sides.health else {}
    rows = {ref: _object_row(ref, sides, verdicts.get(ref)) for ref in refs}
    parents = _owners(refs, sides.live)
    by_name = {(r.kind, r.namespace, r.name): r for r in refs}
    pods: dict[ObjectRef, Manifest] = {}
    for pod in sides.replicas:
        ref, owner = ObjectRef.of(pod), _replica_owner(pod, by_name)
        if owner is not None and ref not in rows:
            status, message = assess(pod)
            rows[ref] = _row(ref, role="replica", health=status, message=message)
            parents[ref], pods[ref] = owner, pod
    owners = set(parents.values())
    extra = {
        row["id"]: _containers(ref, row, sides.live.get(ref) or pods.get(ref), sides, ref in owners)
        for ref, row in rows.items()
    }
    return _depth_first(rows, parents, extra)


def _order(ref: ObjectRef) -> tuple[str, str, str, str]:
    return (ref.kind, ref.namespace, ref.name, ref.group)


def _row(ref: ObjectRef, *, role: str, health: str = "", message: str = "") -> dict[str, Any]:
    return {
        "id": ref.key,
        "ref": ref.key,
        "group": ref.group,
        "kind": ref.kind,
        "namespace": ref.namespace,
        "name": ref.name,
        "role": role,
        "parent": "",
        "sync": "",
        "health": health,
        "message": message,
        "depth": 0,
    }


def _object_row(ref: ObjectRef, sides: Sides, verdict: ObjectHealth | None) -> dict[str, Any]:
    row = _row(
        ref,
        role="object",
        health=str(verdict.status) if verdict else "",
        message=verdict.message if verdict else "",
    )
    row["sync"] = _sync(ref, sides)
    row["desired"] = ref in sides.desired
    row["live"] = ref in sides.live
    return row


def _sync(ref: ObjectRef, sides: Sides) -> str:
    """Synced / OutOfSync / Unknown, as the last comparison saw it; "" for an object the
    app does not manage (a controller's child)."""
    if ref not in sides.desired and ref not in sides.inventory:
        return ""
    if sides.plan is None:
        return "Unknown"
    if ref in sides.plan.out_of_sync or ref in sides.plan.prune.delete:
        return "OutOfSync"
    if ref not in sides.desired:
        return "OutOfSync"  # inventoried, no longer in Git: waits for a prune
    return "Synced"


def _owners(
    refs: Iterable[ObjectRef], live: Mapping[ObjectRef, Manifest]
) -> dict[ObjectRef, ObjectRef]:
    """Child → owner among the app's own objects, from `metadata.ownerReferences`."""
    by_uid = {_meta(obj).get("uid"): ref for ref, obj in live.items() if _meta(obj).get("uid")}
    by_name = {(r.kind, r.namespace, r.name): r for r in refs}
    out: dict[ObjectRef, ObjectRef] = {}
    for ref in refs:
        for owner in _meta(live.get(ref)).get("ownerReferences") or []:
            if not isinstance(owner, dict):
                continue
            found = by_uid.get(owner.get("uid")) or by_name.get(
                (str(owner.get("kind", "")), ref.namespace, str(owner.get("name", "")))
            )
            if found is not None and found != ref:
                out[ref] = found
                break
    return out


def _replica_owner(
    pod: Manifest, by_name: Mapping[tuple[str, str, str], ObjectRef]
) -> ObjectRef | None:
    """The app's workload a replica Pod belongs to, or None (another app's)."""
    namespace = ObjectRef.of(pod).namespace
    for owner in _meta(pod).get("ownerReferences") or []:
        if isinstance(owner, dict):
            key = (str(owner.get("kind", "")), namespace, str(owner.get("name", "")))
            if key in by_name:
                return by_name[key]
    return None


def _containers(
    ref: ObjectRef,
    row: Mapping[str, Any],
    live: Manifest | None,
    sides: Sides,
    has_replicas: bool,
) -> list[dict[str, Any]]:
    if ref.kind == "Pod":
        statuses = ((live or {}).get("status") or {}).get("containerStatuses") or []
        if statuses:
            return [_container(row, c, from_status=True) for c in statuses if isinstance(c, dict)]
        spec = ((live or sides.desired.get(ref) or {}).get("spec") or {}).get("containers")
        return [_container(row, c, from_status=False) for c in spec or [] if isinstance(c, dict)]
    if ref.kind in WORKLOADS and not has_replicas:
        obj = live or sides.desired.get(ref) or {}
        template = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
        found = template.get("containers") or []
        return [_container(row, c, from_status=False) for c in found if isinstance(c, dict)]
    return []


def _container(
    parent: Mapping[str, Any], spec: Mapping[str, Any], *, from_status: bool
) -> dict[str, Any]:
    name = str(spec.get("name", ""))
    row: dict[str, Any] = {
        "id": f"{parent['id']}#{name}",
        "ref": "",
        "group": "",
        "kind": "Container",
        "namespace": parent["namespace"],
        "name": name,
        "role": "container",
        "parent": parent["id"],
        "sync": "",
        "health": "",
        "message": "",
        "image": str(spec.get("image", "")),
        "depth": 0,
    }
    if from_status:
        ready = bool(spec.get("ready"))
        state = next(iter(spec.get("state") or {}), "")
        row.update(
            ready=ready,
            restarts=int(spec.get("restartCount") or 0),
            state=str(state),
            health="Healthy" if ready else "Progressing" if state != "terminated" else "Degraded",
        )
    return row


def _depth_first(
    rows: Mapping[ObjectRef, dict[str, Any]],
    parents: Mapping[ObjectRef, ObjectRef],
    extra: Mapping[str, list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    ordered = sorted(rows, key=_order)
    children: dict[ObjectRef | None, list[ObjectRef]] = {}
    for ref in ordered:
        children.setdefault(parents.get(ref), []).append(ref)
    out: list[dict[str, Any]] = []
    seen: set[ObjectRef] = set()
    # roots first; then whatever an ownership cycle kept from being reached, as roots
    for root in [*children.get(None, []), *ordered]:
        stack: list[tuple[ObjectRef, int]] = [(root, 0)]
        while stack:
            ref, depth = stack.pop()
            if ref in seen:
                continue
            seen.add(ref)
            row = rows[ref]
            row["depth"] = depth
            row["parent"] = parents[ref].key if depth and ref in parents else ""
            out.append(row)
            out.extend({**c, "depth": depth + 1} for c in extra.get(row["id"], []))
            stack.extend((c, depth + 1) for c in reversed(children.get(ref, [])))
    return out


def _meta(obj: Manifest | None) -> dict[str, Any]:
    meta = (obj or {}).get("metadata")
    return meta if isinstance(meta, dict) else {}
