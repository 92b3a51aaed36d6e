"""The fake controllers of `MemoryTarget`: API-server defaults and simulated `status`.

`DEFAULTS` are the defaulted fields the memory target writes (and declares, so diffs
ignore them where they hold the default); `simulate_status` computes the `status` a real
controller would report for an object, given whether enough time has passed for it to be
ready. Pure functions over plain mappings; only `memory.py` calls them.
"""

from __future__ import annotations

from typing import Any

from conveyor.targets.base import Manifest, NormalizationRule

_STRATEGY = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}

DEFAULTS: tuple[NormalizationRule, ...] = (
    NormalizationRule(kind="Deployment", group="apps", pointers=("/spec/replicas",), default=1),
    NormalizationRule(
        kind="Deployment", group="apps", pointers=("/spec/strategy",), default=_STRATEGY
    ),
    NormalizationRule(
        kind="Deployment", group="apps", pointers=("/spec/revisionHistoryLimit",), default=10
    ),
    NormalizationRule(
        kind="Deployment", group="apps", pointers=("/spec/progressDeadlineSeconds",), default=600
    ),
    NormalizationRule(kind="StatefulSet", group="apps", pointers=("/spec/replicas",), default=1),
    NormalizationRule(kind="ReplicaSet", group="apps", pointers=("/spec/replicas",), default=1),
    NormalizationRule(kind="Service", group="", pointers=("/spec/type",), default="ClusterIP"),
    NormalizationRule(
        kind="Service", group="", pointers=("/spec/sessionAffinity",), default="None"
    ),
    NormalizationRule(
        kind="Service", group="", pointers=("/spec/ports/*/protocol",), default="TCP"
    ),
    NormalizationRule(
        kind="*",
        pointers=("/spec/template/spec/containers/*/terminationMessagePath",),
        default="/dev/termination-log",
    ),
    NormalizationRule(kind="*", pointers=("/spec/template/spec/restartPolicy",), default="Always"),
)


def simulate_status(obj: Manifest, *, generation: int, ready: bool) -> dict[str, Any] | None:
    """The `status` a controller would have written by now, or None for kinds without one."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    broken = _broken(obj)
    replicas = int(spec.get("replicas", 1))
    if kind == "Deployment":
        return _deployment(generation, replicas, ready=ready, broken=broken)
    if kind == "ReplicaSet":
        up = replicas if ready and not broken else 0
        return {
            "observedGeneration": generation,
            "replicas": replicas,
            "readyReplicas": up,
            "availableReplicas": up,
        }
    if kind == "StatefulSet":
        up = replicas if ready and not broken else 0
        return {
            "observedGeneration": generation,
            "replicas": replicas,
            "readyReplicas": up,
            "currentReplicas": replicas,
            "updatedReplicas": replicas,
            "currentRevision": f"rev-{generation}",
            "updateRevision": f"rev-{generation}",
        }
    if kind == "DaemonSet":
        up = 1 if ready and not broken else 0
        return {
            "observedGeneration": generation,
            "desiredNumberScheduled": 1,
            "currentNumberScheduled": 1,
            "updatedNumberScheduled": 1,
            "numberReady": up,
            "numberAvailable": up,
        }
    return _simple(str(kind), spec, ready=ready, broken=broken)


def _simple(kind: str, spec: dict[str, Any], *, ready: bool, broken: bool) -> dict[str, Any] | None:
    if kind == "Pod":
        return _pod(spec, ready=ready, broken=broken)
    if kind == "Job":
        return _job(ready=ready, broken=broken)
    if kind == "PersistentVolumeClaim":
        return {"phase": "Bound" if ready else "Pending"}
    if kind == "Namespace":
        return {"phase": "Active"}
    if kind == "Ingress" or (kind == "Service" and spec.get("type") == "LoadBalancer"):
        return {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}] if ready else []}}
    return None


def _deployment(generation: int, replicas: int, *, ready: bool, broken: bool) -> dict[str, Any]:
    status: dict[str, Any] = {
        "observedGeneration": generation,
        "replicas": replicas,
        "updatedReplicas": replicas,
    }
    if ready and not broken:
        status |= {"readyReplicas": replicas, "availableReplicas": replicas}
        status["conditions"] = [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ]
        return status
    status["unavailableReplicas"] = replicas
    progressing = (
        {
            "type": "Progressing",
            "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": "ReplicaSet has timed out progressing.",
        }
        if ready and broken
        else {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}
    )
    status["conditions"] = [
        {"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"},
        progressing,
    ]
    return status


def _pod(spec: dict[str, Any], *, ready: bool, broken: bool) -> dict[str, Any]:
    if not ready:
        return {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}
    if broken and spec.get("restartPolicy", "Always") != "Always":
        return {"phase": "Failed", "message": "container exited with code 1"}
    if broken:
        return {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "False"}],
            "containerStatuses": [
                {
                    "name": "main",
                    "ready": False,
                    "restartCount": 5,
                    "state": {
                        "waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting"}
                    },
                }
            ],
        }
    return {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}


def _job(*, ready: bool, broken: bool) -> dict[str, Any]:
    if not ready:
        return {"active": 1}
    if broken:
        return {
            "failed": 1,
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ],
        }
    return {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}


def _broken(obj: Manifest) -> bool:
    spec = obj.get("spec") or {}
    pod_spec = spec.get("template", {}).get("spec", {}) if "template" in spec else spec
    containers = pod_spec.get("containers") or []
    return any("broken" in str(c.get("image", "")) for c in containers if isinstance(c, dict))
