"""DaemonSet health (health_daemonset.go semantics)."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import Verdict, spec_of, stale_generation, status_of
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "apps", "DaemonSet"


def assess(obj: Manifest) -> Verdict:
    if stale_generation(obj):
        return Verdict(
            HealthStatus.PROGRESSING,
            "Waiting for rollout to finish: observed "
            "daemon set generation less than desired generation",
        )
    strategy = (spec_of(obj).get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy == "OnDelete":
        return Verdict(HealthStatus.HEALTHY, "daemon set has OnDelete update strategy")
    status = status_of(obj)
    desired = int(status.get("desiredNumberScheduled") or 0)
    updated = int(status.get("updatedNumberScheduled") or 0)
    available = int(status.get("numberAvailable") or 0)
    if updated < desired:
        return Verdict(
            HealthStatus.PROGRESSING,
            f"Waiting for daemon set rollout to finish: "
            f"{updated} out of {desired} new pods have been updated...",
        )
    if available < desired:
        return Verdict(
            HealthStatus.PROGRESSING,
            f"Waiting for daemon set rollout to finish: "
            f"{available} of {desired} updated pods are available...",
        )
    return Verdict(HealthStatus.HEALTHY, "")
