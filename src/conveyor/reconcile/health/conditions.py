"""The generic rule for kinds without a rule of their own: read `status.conditions` the
way kstatus (sigs.k8s.io/cli-utils) and Flux read them, instead of "Healthy once it exists".

In order:
* no `status`, or a status with neither conditions nor observedGeneration: Healthy (data
  objects, ConfigMap-like custom resources: nothing acts on them);
* `status.observedGeneration < metadata.generation`: Progressing (the controller has not
  seen the latest spec, so the rest of the status describes an older one);
* `Stalled=True`: Degraded; `Reconciling=True`: Progressing (kstatus' abnormal-true pair);
* `Ready`: True ⇒ Healthy; False ⇒ Progressing when its reason says the controller is
  still working (`WAITING_REASONS`), Degraded otherwise; Unknown ⇒ Progressing;
* `Available` (when there is no Ready): True ⇒ Healthy; False ⇒ Progressing while a
  `Progressing=True` condition says a rollout is under way, Degraded otherwise;
* other conditions only: Healthy.
Called by `health.Checker.assess` after custom scripts and built-in kinds. Pure.
"""

from __future__ import annotations

from typing import Any

from conveyor.reconcile.health.verdict import Verdict, condition, is_true, stale_generation
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

#: Ready=False reasons that mean "not yet", not "failed" (kstatus, Flux's meta reasons).
WAITING_REASONS = frozenset(
    {
        "Progressing",
        "ProgressingWithRetry",
        "Reconciling",
        "InProgress",
        "Pending",
        "DependencyNotReady",
        "Initializing",
        "Creating",
        "Updating",
    }
)


def assess(obj: Manifest) -> Verdict:
    """The health of an object of a kind without a rule, from its status conditions."""
    status = obj.get("status")
    if not isinstance(status, dict) or not status:
        return Verdict(HealthStatus.HEALTHY, "")
    if stale_generation(obj) and "observedGeneration" in status:
        generation = (obj.get("metadata") or {}).get("generation")
        return Verdict(
            HealthStatus.PROGRESSING,
            f"waiting for the controller to observe generation {generation}",
        )
    for read in (_stalled_or_reconciling, _ready, _available):
        verdict = read(obj)
        if verdict is not None:
            return verdict
    return Verdict(HealthStatus.HEALTHY, "")


def _stalled_or_reconciling(obj: Manifest) -> Verdict | None:
    stalled = condition(obj, "Stalled")
    if is_true(stalled):
        return Verdict(HealthStatus.DEGRADED, _says(stalled, "stalled"))
    reconciling = condition(obj, "Reconciling")
    if is_true(reconciling):
        return Verdict(HealthStatus.PROGRESSING, _says(reconciling, "reconciling"))
    return None


def _ready(obj: Manifest) -> Verdict | None:
    ready = condition(obj, "Ready")
    if ready is None:
        return None
    if is_true(ready):
        return Verdict(HealthStatus.HEALTHY, str(ready.get("message") or ""))
    if str(ready.get("status")) == "False" and ready.get("reason") not in WAITING_REASONS:
        return Verdict(HealthStatus.DEGRADED, _says(ready, "not ready"))
    return Verdict(HealthStatus.PROGRESSING, _says(ready, "not ready yet"))


def _available(obj: Manifest) -> Verdict | None:
    available = condition(obj, "Available")
    if available is None:
        return None
    if is_true(available):
        return Verdict(HealthStatus.HEALTHY, str(available.get("message") or ""))
    if is_true(condition(obj, "Progressing")):
        return Verdict(HealthStatus.PROGRESSING, _says(available, "not available yet"))
    return Verdict(HealthStatus.DEGRADED, _says(available, "not available"))


def _says(cond: dict[str, Any] | None, default: str) -> str:
    """`Reason: message` of a condition, as far as the controller filled them in."""
    cond = cond or {}
    reason, message = str(cond.get("reason") or ""), str(cond.get("message") or "")
    if reason and message:
        return f"{reason}: {message}"
    return message or reason or default
