"""Ingress health: Healthy once the controller published an address (Argo CD's rule)."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import Verdict, status_of
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "networking.k8s.io", "Ingress"


def assess(obj: Manifest) -> Verdict:
    if (status_of(obj).get("loadBalancer") or {}).get("ingress"):
        return Verdict(HealthStatus.HEALTHY, "")
    return Verdict(HealthStatus.PROGRESSING, "Waiting for the ingress to get an address")
