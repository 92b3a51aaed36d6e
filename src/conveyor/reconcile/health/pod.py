"""Pod health (health_pod.go semantics): phase, readiness, and stuck containers.

A container waiting for a reason that reads as a failure (`Err…`, `…Error`, `…BackOff`:
ErrImagePull, CreateContainerConfigError, CrashLoopBackOff, ImagePullBackOff …) makes a
long-running Pod (restartPolicy Always, the API server's default) Degraded. A Pod with
restartPolicy Never or OnFailure is usually a hook: it stays Progressing then, so that a
hook whose image is not pullable *yet* is not failed before the kubelet retries. A
running Pod that is not ready and whose container terminated before (`lastState`) is
Degraded; a Failed Pod says why from its message or its containers' termination.
"""

from __future__ import annotations

from typing import Any

from conveyor.reconcile.health.verdict import Verdict, condition, is_true, spec_of, status_of
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "", "Pod"


def _failing(reason: str) -> bool:
    return reason.startswith("Err") or reason.endswith(("Error", "BackOff"))


def _waiting(status: dict[str, Any]) -> str | None:
    """`reason: message` of each container stuck waiting, or None."""
    stuck = []
    for container in status.get("containerStatuses") or ():
        waiting = ((container or {}).get("state") or {}).get("waiting") or {}
        reason = str(waiting.get("reason") or "")
        if _failing(reason):
            stuck.append(f"{reason}: {waiting.get('message', '')}".rstrip(": "))
    return ", ".join(stuck) or None


def _terminated(status: dict[str, Any]) -> str:
    """Why a Failed Pod failed, from its (init) containers' termination."""
    containers = [
        *(status.get("initContainerStatuses") or ()),
        *(status.get("containerStatuses") or ()),
    ]
    for container in containers:
        ended = ((container or {}).get("state") or {}).get("terminated") or {}
        if ended.get("message"):
            return str(ended["message"])
        if ended.get("reason") == "OOMKilled":
            return "OOMKilled"
        if int(ended.get("exitCode") or 0) != 0:
            return f"container {container.get('name')!r} failed with exit code {ended['exitCode']}"
    return "pod failed"


def _restarted(status: dict[str, Any]) -> bool:
    return any(
        ((c or {}).get("lastState") or {}).get("terminated")
        for c in status.get("containerStatuses") or ()
    )


def assess(obj: Manifest) -> Verdict:
    status = status_of(obj)
    phase = status.get("phase")
    always = spec_of(obj).get("restartPolicy", "Always") == "Always"
    message = str(status.get("message") or "")
    if phase == "Succeeded":
        return Verdict(HealthStatus.HEALTHY, message)
    if phase == "Failed":
        return Verdict(HealthStatus.DEGRADED, message or _terminated(status))
    stuck = _waiting(status) if always else None
    if stuck:
        return Verdict(HealthStatus.DEGRADED, stuck)
    if phase == "Pending":
        return Verdict(HealthStatus.PROGRESSING, message)
    if phase == "Running":
        if not always:
            return Verdict(HealthStatus.PROGRESSING, message or "pod is running")
        if is_true(condition(obj, "Ready")):
            return Verdict(HealthStatus.HEALTHY, message)
        if _restarted(status):
            return Verdict(HealthStatus.DEGRADED, message or "pod is not ready and has restarted")
        return Verdict(HealthStatus.PROGRESSING, message or "pod is not ready")
    return Verdict(HealthStatus.UNKNOWN, message or "pod phase unknown")
