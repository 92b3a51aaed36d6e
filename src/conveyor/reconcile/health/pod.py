"""Pod health (health_pod.go semantics): phase, readiness, and stuck containers."""

from __future__ import annotations

from typing import Any

from conveyor.reconcile.health.verdict import Verdict, condition, is_true, spec_of, status_of
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "", "Pod"
_STUCK = {
    "CrashLoopBackOff",
    "ErrImagePull",
    "ImagePullBackOff",
    "CreateContainerConfigError",
    "InvalidImageName",
    "CreateContainerError",
}


def _waiting(status: dict[str, Any]) -> tuple[str, str] | None:
    for container in status.get("containerStatuses") or ():
        waiting = ((container or {}).get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in _STUCK:
            return str(waiting["reason"]), str(waiting.get("message", ""))
    return None


def assess(obj: Manifest) -> Verdict:
    status = status_of(obj)
    phase = status.get("phase")
    stuck = _waiting(status)
    if phase == "Succeeded":
        return Verdict(HealthStatus.HEALTHY, str(status.get("message", "")))
    if phase == "Failed":
        return Verdict(HealthStatus.DEGRADED, str(status.get("message", "pod failed")))
    if stuck:
        return Verdict(HealthStatus.DEGRADED, f"{stuck[0]}: {stuck[1]}".rstrip(": "))
    if phase == "Pending":
        return Verdict(HealthStatus.PROGRESSING, str(status.get("message", "")))
    if phase == "Running":
        if spec_of(obj).get("restartPolicy", "Always") != "Always":
            return Verdict(HealthStatus.PROGRESSING, "pod is running")
        if is_true(condition(obj, "Ready")):
            return Verdict(HealthStatus.HEALTHY, "")
        return Verdict(HealthStatus.PROGRESSING, "pod is not ready")
    return Verdict(HealthStatus.UNKNOWN, str(status.get("message", "pod phase unknown")))
