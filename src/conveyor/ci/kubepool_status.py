"""What a runner pod's object says (plain dicts as the API returns them), for `ci.kubepool`:
its name, labels, the job unit it was made for, its phase, and in words why it ended or why
it has not started (the kubelet's reasons: `OOMKilled`, `Evicted`, `ImagePullBackOff` …).
Pure.
"""

from __future__ import annotations

from typing import Any

from conveyor.ci.kubepool_pods import UNIT_ANNOTATION

FINISHED = ("Succeeded", "Failed")


def name_of(pod: dict[str, Any]) -> str:
    return str(pod["metadata"]["name"])


def labels_of(pod: dict[str, Any]) -> dict[str, str]:
    return dict((pod.get("metadata") or {}).get("labels") or {})


def unit_of(pod: dict[str, Any]) -> int | None:
    """The job unit the pod was made for (None: a warm pod)."""
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(UNIT_ANNOTATION)
    return int(value) if value else None


def phase_of(pod: dict[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "Pending")


def why_ended(pod: dict[str, Any]) -> str:
    """`phase` plus the pod's or its runner container's reason, when the status has one."""
    status = pod.get("status") or {}
    reasons = [str(status["reason"])] if status.get("reason") else []
    for container in status.get("containerStatuses") or []:
        ended = (container.get("state") or {}).get("terminated") or {}
        if container.get("name") == "runner" and ended.get("reason"):
            reasons.append(f"{ended['reason']} (exit code {ended.get('exitCode', '?')})")
    return " ".join([phase_of(pod), *(f"({r})" for r in reasons[:1]), *reasons[1:]]).strip()


def why_waiting(pod: dict[str, Any]) -> str:
    """Why the pod's containers have not started, as the kubelet says it; '' if it does not."""
    status = pod.get("status") or {}
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            message = f": {waiting['message']}" if waiting.get("message") else ""
            return f"{container.get('name')} {waiting['reason']}{message}"
    for condition in status.get("conditions") or []:
        if condition.get("status") == "False" and condition.get("reason"):
            return f"{condition['reason']}: {condition.get('message', '')}".rstrip(": ")
    return ""
