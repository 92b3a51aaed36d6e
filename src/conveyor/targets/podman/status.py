"""Kubernetes-shaped `status` for what runs on Podman (pure).

The reconciler's health rules read these exactly as they would read a cluster's:
Deployment `Progressing` turns `False` with reason `ProgressDeadlineExceeded` once a
rollout has made no progress for `progressDeadlineSeconds`; Pods carry `phase`,
`conditions` and `containerStatuses`; Jobs `Complete`/`Failed`. Called by
`conveyor.targets.podman.target` when it answers `get`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from conveyor.targets.podman.rollout import surge_and_unavailable


def rfc3339(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True, kw_only=True)
class PodView:
    """One replica as status sees it."""

    name: str
    spec_hash: str
    state: str
    exit_code: int
    ready: bool
    started_at: float
    restarts: int
    image: str
    container: str
    ip: str
    waiting_reason: str = ""


def _condition(kind: str, ok: bool, reason: str, message: str, since: float) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True" if ok else "False",
        "reason": reason,
        "message": message,
        "lastUpdateTime": rfc3339(since),
        "lastTransitionTime": rfc3339(since),
    }


def deployment(
    spec: Mapping[str, Any],
    *,
    generation: int,
    current: str,
    pods: Sequence[PodView],
    progress_at: float,
    failure: str,
    now: float | None = None,
) -> dict[str, Any]:
    now = time.time() if now is None else now
    replicas = int(spec.get("replicas", 1))
    updated = [p for p in pods if p.spec_hash == current]
    ready = sum(1 for p in pods if p.ready)
    _surge, unavailable = surge_and_unavailable(spec, replicas)
    complete = len(updated) == replicas == len(pods) and all(p.ready for p in updated)
    deadline = float(spec.get("progressDeadlineSeconds", 600))
    if complete:
        progressing = _condition(
            "Progressing", True, "NewReplicaSetAvailable", "rollout complete", progress_at
        )
    elif now - progress_at > deadline:
        progressing = _condition(
            "Progressing",
            False,
            "ProgressDeadlineExceeded",
            f"no progress for {deadline:g}s",
            progress_at,
        )
    else:
        progressing = _condition(
            "Progressing",
            True,
            "ReplicaSetUpdated",
            f"{len(updated)} of {replicas} updated",
            progress_at,
        )
    available_ok = ready >= replicas - unavailable
    conditions = [
        _condition(
            "Available",
            available_ok,
            "MinimumReplicasAvailable" if available_ok else "MinimumReplicasUnavailable",
            f"{ready} of {replicas} ready",
            progress_at,
        ),
        progressing,
    ]
    if failure:
        conditions.append(_condition("ReplicaFailure", True, "FailedCreate", failure, now))
    return {
        "observedGeneration": generation,
        "replicas": len(pods),
        "updatedReplicas": len(updated),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "unavailableReplicas": max(replicas - ready, 0),
        "conditions": conditions,
    }


def statefulset(
    spec: Mapping[str, Any], *, generation: int, current: str, pods: Sequence[PodView]
) -> dict[str, Any]:
    updated = sum(1 for p in pods if p.spec_hash == current)
    ready = sum(1 for p in pods if p.ready)
    return {
        "observedGeneration": generation,
        "replicas": len(pods),
        "readyReplicas": ready,
        "availableReplicas": ready,
        "currentReplicas": updated,
        "updatedReplicas": updated,
        "currentRevision": current,
        "updateRevision": current,
    }


def _container_state(pod: PodView) -> dict[str, Any]:
    if pod.state == "running":
        return {"running": {"startedAt": rfc3339(pod.started_at)}}
    if pod.state in ("exited", "stopped"):
        reason = "Completed" if pod.exit_code == 0 else "Error"
        return {"terminated": {"exitCode": pod.exit_code, "reason": reason}}
    return {"waiting": {"reason": pod.waiting_reason or "ContainerCreating"}}


def pod(view: PodView, restart_policy: str) -> dict[str, Any]:
    if view.state == "running":
        phase = "Running"
    elif view.state in ("exited", "stopped") and restart_policy != "Always":
        phase = "Succeeded" if view.exit_code == 0 else "Failed"
    elif view.state in ("exited", "stopped"):
        phase = "Running"
    else:
        phase = "Pending"
    ready = "True" if view.ready else "False"
    conditions = [
        {"type": t, "status": s}
        for t, s in (
            ("PodScheduled", "True"),
            ("Initialized", "True"),
            ("ContainersReady", ready),
            ("Ready", ready),
        )
    ]
    return {
        "phase": phase,
        "podIP": view.ip,
        "hostIP": "127.0.0.1",
        "conditions": conditions,
        "containerStatuses": [
            {
                "name": view.container,
                "image": view.image,
                "ready": view.ready,
                "started": view.state == "running",
                "restartCount": view.restarts,
                "state": _container_state(view),
            }
        ],
    }


def job(
    *, active: int, succeeded: int, failed: int, started: float, finished: float, backoff_limit: int
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "active": active,
        "succeeded": succeeded,
        "failed": failed,
        "startTime": rfc3339(started),
    }
    if succeeded:
        out["completionTime"] = rfc3339(finished)
        out["conditions"] = [_condition("Complete", True, "Completed", "job finished", finished)]
    elif failed > backoff_limit:
        out["conditions"] = [
            _condition("Failed", True, "BackoffLimitExceeded", f"failed {failed} times", finished)
        ]
    return out
