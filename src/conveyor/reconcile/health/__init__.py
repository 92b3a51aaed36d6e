"""Health per kind: one module per kind, each a pure `assess(obj) -> Verdict`.

Follows Argo CD's built-in checks (gitops-engine `pkg/health/health_<kind>.go` and
docs/operator-manual/health.md): a controller's status is trusted only once it observed
the current generation; conditions and replica counts then decide between Healthy,
Progressing, Degraded and Suspended. A missing object is Missing; a kind without a rule is
Healthy once it exists. App health is the worst object health (`aggregate`).

Called by `reconcile.sync` (waiting between waves) and `reconcile.status`. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from conveyor.reconcile.health import (
    configmap,
    daemonset,
    deployment,
    ingress,
    job,
    namespace,
    pod,
    pvc,
    replicaset,
    secret,
    service,
    statefulset,
)
from conveyor.reconcile.health.verdict import Verdict
from conveyor.reconcile.model import HealthReport, HealthStatus, ObjectHealth
from conveyor.targets.base import Manifest, ObjectRef

_RULES: dict[tuple[str, str], Callable[[Manifest], Verdict]] = {
    (module.GROUP, module.KIND): module.assess
    for module in (
        configmap,
        daemonset,
        deployment,
        ingress,
        job,
        namespace,
        pod,
        pvc,
        replicaset,
        secret,
        service,
        statefulset,
    )
}
_RANK = {status: rank for rank, status in enumerate(HealthStatus)}


def assess(obj: Manifest | None) -> Verdict:
    """The health of one live object (None: it does not exist)."""
    if obj is None:
        return Verdict(HealthStatus.MISSING, "object does not exist")
    ref = ObjectRef.of(obj)
    rule = _RULES.get((ref.group, ref.kind))
    return rule(obj) if rule else Verdict(HealthStatus.HEALTHY, "")


def worst(statuses: Iterable[HealthStatus]) -> HealthStatus:
    """The worst status (Degraded > Missing > Unknown > Progressing > Suspended > Healthy)."""
    return min(statuses, key=_RANK.__getitem__, default=HealthStatus.HEALTHY)


def aggregate(objects: Iterable[ObjectHealth]) -> HealthReport:
    items = tuple(objects)
    return HealthReport(status=worst(o.status for o in items), objects=items)


__all__ = ["Verdict", "aggregate", "assess", "worst"]
