"""External Secrets Operator ExternalSecret health: `Ready` True ⇒ Healthy, False ⇒
Degraded (the store refused, the key is missing), none yet ⇒ Progressing. With
`refreshPolicy: OnChange` a Ready condition older than `status.refreshTime` describes an
earlier refresh, so it is not trusted (Progressing) until the operator writes a new one."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import (
    Verdict,
    by_condition,
    condition,
    spec_of,
    status_of,
)
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "external-secrets.io", "ExternalSecret"
_WAITING = "Waiting for the ExternalSecret to be refreshed"


def assess(obj: Manifest) -> Verdict:
    ready = condition(obj, "Ready")
    if ready is not None and spec_of(obj).get("refreshPolicy") == "OnChange":
        # RFC 3339 times in UTC compare correctly as strings
        refreshed = str(status_of(obj).get("refreshTime") or "")
        if str(ready.get("lastTransitionTime") or "") < refreshed:
            return Verdict(HealthStatus.PROGRESSING, _WAITING)
    return by_condition(obj, "Ready", _WAITING)
