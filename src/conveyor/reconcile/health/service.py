"""Service health: a LoadBalancer waits for an ingress address; others exist ⇒ Healthy."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import Verdict, spec_of, status_of
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "", "Service"


def assess(obj: Manifest) -> Verdict:
    if spec_of(obj).get("type") != "LoadBalancer":
        return Verdict(HealthStatus.HEALTHY, "")
    if (status_of(obj).get("loadBalancer") or {}).get("ingress"):
        return Verdict(HealthStatus.HEALTHY, "")
    return Verdict(HealthStatus.PROGRESSING, "Waiting for the load balancer to get an address")
