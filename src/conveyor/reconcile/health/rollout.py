"""Argo Rollouts `Rollout` health, from the Rollouts documentation (the semantics of Argo
CD's bundled check), in order:
* the controller has not observed the latest spec ⇒ Progressing;
* `InvalidSpec`, or `Progressing` with reason RolloutAborted or ProgressDeadlineExceeded
  ⇒ Degraded; paused (`Paused=True` or `spec.paused`) ⇒ Suspended;
* `status.phase`, which Rollouts ≥ 1.0 computes itself (Healthy, Progressing, Degraded,
  Paused ⇒ Suspended), with `status.message`;
* otherwise (older controllers) the replica counts, then the strategy: a canary is
  Progressing until its last step ran and the stable ReplicaSet is the current one; a
  blue-green until the active Service selects the current pods.
"""

from __future__ import annotations

from typing import Any

from conveyor.reconcile.health.verdict import (
    Verdict,
    condition,
    is_true,
    spec_of,
    stale_generation,
    status_of,
)
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "argoproj.io", "Rollout"
_PHASES = {
    "Healthy": HealthStatus.HEALTHY,
    "Progressing": HealthStatus.PROGRESSING,
    "Degraded": HealthStatus.DEGRADED,
    "Paused": HealthStatus.SUSPENDED,
}
_FAILED_REASONS = ("RolloutAborted", "ProgressDeadlineExceeded")


def assess(obj: Manifest) -> Verdict:
    if stale_generation(obj):
        return Verdict(HealthStatus.PROGRESSING, "Waiting for rollout spec update to be observed")
    for read in (_failed_or_paused, _phase, _replicas, _strategy):
        verdict = read(obj, spec_of(obj), status_of(obj))
        if verdict is not None:
            return verdict
    return Verdict(HealthStatus.HEALTHY, "")


def _failed_or_paused(obj: Manifest, spec: dict[str, Any], _: dict[str, Any]) -> Verdict | None:
    invalid = condition(obj, "InvalidSpec")
    if invalid is not None:
        return Verdict(HealthStatus.DEGRADED, str(invalid.get("message") or "InvalidSpec"))
    progressing = condition(obj, "Progressing") or {}
    if progressing.get("reason") in _FAILED_REASONS:
        return Verdict(HealthStatus.DEGRADED, str(progressing.get("message") or "rollout failed"))
    if is_true(condition(obj, "Paused")) or spec.get("paused"):
        return Verdict(HealthStatus.SUSPENDED, "Rollout is paused")
    return None


def _phase(_: Manifest, __: dict[str, Any], status: dict[str, Any]) -> Verdict | None:
    phase = _PHASES.get(str(status.get("phase") or ""))
    return Verdict(phase, str(status.get("message") or "")) if phase else None


def _replicas(_: Manifest, spec: dict[str, Any], status: dict[str, Any]) -> Verdict | None:
    want = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    if updated < want:
        return Verdict(
            HealthStatus.PROGRESSING,
            f"Waiting for roll out to finish: {updated} of {want} replicas updated",
        )
    if available < updated:
        return Verdict(
            HealthStatus.PROGRESSING,
            f"Waiting for roll out to finish: {available} of {updated} updated replicas available",
        )
    return None


def _strategy(_: Manifest, spec: dict[str, Any], status: dict[str, Any]) -> Verdict | None:
    strategy = spec.get("strategy") or {}
    current = status.get("currentPodHash")
    if "canary" in strategy:
        steps = (strategy.get("canary") or {}).get("steps") or ()
        if int(status.get("currentStepIndex") or 0) < len(steps):
            return Verdict(HealthStatus.PROGRESSING, "Waiting for the canary steps to finish")
        stable = (status.get("canary") or {}).get("stableRS") or status.get("stableRS")
        if stable != current:
            return Verdict(HealthStatus.PROGRESSING, "Waiting for the canary to become stable")
    elif "blueGreen" in strategy:
        active = (status.get("blueGreen") or {}).get("activeSelector")
        if active != current:
            return Verdict(
                HealthStatus.PROGRESSING,
                "The active Service does not yet select the current pods",
            )
    return None
