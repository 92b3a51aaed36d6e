"""Job health (health_job.go semantics): Failed ⇒ Degraded, Complete ⇒ Healthy."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import Verdict, condition, is_true, spec_of
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "batch", "Job"


def assess(obj: Manifest) -> Verdict:
    failed = condition(obj, "Failed")
    if is_true(failed):
        return Verdict(HealthStatus.DEGRADED, str((failed or {}).get("message", "job failed")))
    complete = condition(obj, "Complete")
    if is_true(complete):
        return Verdict(HealthStatus.HEALTHY, str((complete or {}).get("message", "")))
    if spec_of(obj).get("suspend"):
        return Verdict(HealthStatus.SUSPENDED, "job is suspended")
    return Verdict(HealthStatus.PROGRESSING, "job is running")
