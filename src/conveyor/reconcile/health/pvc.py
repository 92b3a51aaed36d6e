"""PersistentVolumeClaim health: Bound ⇒ Healthy, Pending ⇒ Progressing, Lost ⇒ Degraded."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import Verdict, status_of
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "", "PersistentVolumeClaim"


def assess(obj: Manifest) -> Verdict:
    phase = status_of(obj).get("phase")
    if phase == "Bound":
        return Verdict(HealthStatus.HEALTHY, "")
    if phase == "Pending":
        return Verdict(HealthStatus.PROGRESSING, "Waiting for the volume to be bound")
    if phase == "Lost":
        return Verdict(HealthStatus.DEGRADED, "the bound volume is lost")
    return Verdict(HealthStatus.UNKNOWN, f"unknown claim phase {phase!r}")
