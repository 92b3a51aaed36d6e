"""Health per kind: one module per kind, each a pure `assess(obj) -> Verdict`.

Follows Argo CD's built-in checks (gitops-engine `pkg/health/health_<kind>.go` and
docs/operator-manual/health.md): a controller's status is trusted only once it observed
the current generation; conditions and replica counts then decide between Healthy,
Progressing, Degraded and Suspended. Kinds Argo CD ships checks for (Rollout,
cert-manager, External Secrets, Sealed Secrets, child Applications) have modules too;
any other kind is read by the generic `status.conditions` rule (`conditions`), and is
Healthy once it exists when it has no status. Custom Lua scripts in Argo CD's format
override all of these (`checker.Checker`, `lua`, `sandbox`). A missing object is Missing.
App health is the worst object health (`aggregate`).

Called by `reconcile.steps` (through the `Checker` in its `Env`), `reconcile.sync`
(waiting between waves) and `reconcile.status`. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from conveyor.reconcile.health.checker import Checker, HealthScript, resource_key
from conveyor.reconcile.health.verdict import Verdict
from conveyor.reconcile.model import HealthReport, HealthStatus, ObjectHealth
from conveyor.targets.base import Manifest

BUILT_IN = Checker()
_RANK = {status: rank for rank, status in enumerate(HealthStatus)}


def assess(obj: Manifest | None) -> Verdict:
    """The health of one live object by the built-in rules (None: it does not exist)."""
    return BUILT_IN.assess(obj)


def worst(statuses: Iterable[HealthStatus]) -> HealthStatus:
    """The worst status (Degraded > Missing > Unknown > Progressing > Suspended > Healthy)."""
    return min(statuses, key=_RANK.__getitem__, default=HealthStatus.HEALTHY)


def aggregate(objects: Iterable[ObjectHealth]) -> HealthReport:
    items = tuple(objects)
    return HealthReport(status=worst(o.status for o in items), objects=items)


__all__ = [
    "BUILT_IN",
    "Checker",
    "HealthScript",
    "Verdict",
    "aggregate",
    "assess",
    "resource_key",
    "worst",
]
