"""Namespace health: Active ⇒ Healthy, Terminating ⇒ Progressing."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import Verdict, status_of
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "", "Namespace"


def assess(obj: Manifest) -> Verdict:
    phase = status_of(obj).get("phase", "Active")
    if phase == "Terminating":
        return Verdict(HealthStatus.PROGRESSING, "namespace is terminating")
    return Verdict(HealthStatus.HEALTHY, "")
