"""Deployment health, as Argo CD judges it (health_deployment.go semantics)."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import (
    Verdict,
    condition,
    spec_of,
    stale_generation,
    status_of,
)
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "apps", "Deployment"


def assess(obj: Manifest) -> Verdict:
    spec, status = spec_of(obj), status_of(obj)
    if spec.get("paused"):
        return Verdict(HealthStatus.SUSPENDED, "Deployment is paused")
    if stale_generation(obj):
        return Verdict(
            HealthStatus.PROGRESSING,
            "Waiting for rollout to finish: observed "
            "deployment generation less than desired generation",
        )
    progressing = condition(obj, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Verdict(
            HealthStatus.DEGRADED,
            f"Deployment {obj['metadata'].get('name')!r} exceeded its progress deadline",
        )
    want = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < want:
        return Verdict(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {updated} out "
            f"of {want} new replicas have been updated...",
        )
    if total > updated:
        return Verdict(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {total - updated}"
            " old replicas are pending termination...",
        )
    if available < updated:
        return Verdict(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {available} of "
            f"{updated} updated replicas are available...",
        )
    return Verdict(HealthStatus.HEALTHY, "")
