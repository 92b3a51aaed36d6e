"""The result of one health rule, and small readers of Kubernetes status shapes. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest


@dataclass(frozen=True, slots=True)
class Verdict:
    status: HealthStatus
    message: str = ""


def status_of(obj: Manifest) -> dict[str, Any]:
    return dict(obj.get("status") or {})


def spec_of(obj: Manifest) -> dict[str, Any]:
    return dict(obj.get("spec") or {})


def condition(obj: Manifest, kind: str) -> dict[str, Any] | None:
    """The status condition of type `kind`, if the controller reported one."""
    for cond in status_of(obj).get("conditions") or ():
        if isinstance(cond, dict) and cond.get("type") == kind:
            return cond
    return None


def is_true(cond: dict[str, Any] | None) -> bool:
    return cond is not None and str(cond.get("status")) == "True"


def stale_generation(obj: Manifest) -> bool:
    """True while the controller has not yet observed the latest spec. Argo Rollouts
    writes observedGeneration as a string; one that is not a number is not compared."""
    generation = _number((obj.get("metadata") or {}).get("generation"))
    raw = status_of(obj).get("observedGeneration")
    observed = 0 if raw is None else _number(raw)
    return generation is not None and observed is not None and observed < generation


def by_condition(obj: Manifest, kind: str, waiting: str) -> Verdict:
    """The rule cert-manager, External Secrets and Sealed Secrets share: condition `kind`
    True ⇒ Healthy, False ⇒ Degraded (with the controller's message), absent or Unknown ⇒
    Progressing with `waiting`."""
    cond = condition(obj, kind) or {}
    message = str(cond.get("message") or "")
    if str(cond.get("status")) == "True":
        return Verdict(HealthStatus.HEALTHY, message)
    if str(cond.get("status")) == "False":
        return Verdict(HealthStatus.DEGRADED, message or str(cond.get("reason") or waiting))
    return Verdict(HealthStatus.PROGRESSING, waiting)


def _number(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None
