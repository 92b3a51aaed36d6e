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
    """True while the controller has not yet observed the latest spec."""
    generation = int((obj.get("metadata") or {}).get("generation") or 0)
    observed = int(status_of(obj).get("observedGeneration") or 0)
    return observed < generation
