"""ReplicaSet health (health_replicaset.go semantics)."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import (
    Verdict,
    condition,
    is_true,
    spec_of,
    stale_generation,
    status_of,
)
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "apps", "ReplicaSet"


def assess(obj: Manifest) -> Verdict:
    if stale_generation(obj):
        return Verdict(
            HealthStatus.PROGRESSING,
            "Waiting for rollout to finish: observed "
            "replica set generation less than desired generation",
        )
    failure = condition(obj, "ReplicaFailure")
    if is_true(failure):
        return Verdict(HealthStatus.DEGRADED, str((failure or {}).get("message", "")))
    want = int(spec_of(obj).get("replicas", 1))
    available = int(status_of(obj).get("availableReplicas") or 0)
    if available < want:
        return Verdict(
            HealthStatus.PROGRESSING,
            f"Waiting for rollout to finish: {available} "
            f"out of {want} new replicas are available...",
        )
    return Verdict(HealthStatus.HEALTHY, "")
