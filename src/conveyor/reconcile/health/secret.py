"""Secret health: data objects are Healthy as soon as they exist (no controller acts on them)."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import Verdict
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "", "Secret"


def assess(obj: Manifest) -> Verdict:
    del obj  # existence is all there is to check; Missing is decided by the caller
    return Verdict(HealthStatus.HEALTHY, "")
