"""StatefulSet health (health_statefulset.go semantics)."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import Verdict, spec_of, status_of
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "apps", "StatefulSet"


def assess(obj: Manifest) -> Verdict:
    spec, status = spec_of(obj), status_of(obj)
    generation = int((obj.get("metadata") or {}).get("generation") or 0)
    observed = int(status.get("observedGeneration") or 0)
    if observed == 0 or observed < generation:
        return Verdict(
            HealthStatus.PROGRESSING, "Waiting for statefulset spec update to be observed..."
        )
    want = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    if ready < want:
        return Verdict(HealthStatus.PROGRESSING, f"Waiting for {want - ready} pods to be ready...")
    strategy = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy == "OnDelete":
        return Verdict(HealthStatus.HEALTHY, "statefulset has OnDelete update strategy")
    if status.get("updateRevision") != status.get("currentRevision"):
        return Verdict(
            HealthStatus.PROGRESSING, "waiting for statefulset rolling update to complete"
        )
    return Verdict(HealthStatus.HEALTHY, "")
