"""StatefulSet health (health_statefulset.go semantics). A RollingUpdate with a partition
(`spec.updateStrategy.rollingUpdate.partition` > 0) is done once the pods at or above the
partition are updated: the revisions never converge while the partition holds."""

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
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") == "OnDelete":
        return Verdict(HealthStatus.HEALTHY, "statefulset has OnDelete update strategy")
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    if partition > 0:  # a canary: pods below the partition keep the old revision on purpose
        return _partitioned(want - partition, int(status.get("updatedReplicas") or 0))
    if status.get("updateRevision") != status.get("currentRevision"):
        return Verdict(
            HealthStatus.PROGRESSING, "waiting for statefulset rolling update to complete"
        )
    return Verdict(HealthStatus.HEALTHY, "")


def _partitioned(expected: int, updated: int) -> Verdict:
    if updated < expected:
        return Verdict(
            HealthStatus.PROGRESSING,
            f"Waiting for partitioned roll out to finish: {updated} out of {expected} "
            "new pods have been updated...",
        )
    return Verdict(HealthStatus.HEALTHY, f"partitioned roll out complete: {updated} new pods")
