"""Argo CD Application health (app of apps): a child Application is as healthy as its own
`status.health` says, message included; before its controller reports any health it is
Progressing. Argo CD dropped this built-in in 1.8 and documents it as a customization to
restore for sync waves over child apps; Conveyor ships it, and a configured script for
`argoproj.io/Application` still overrides it."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import Verdict, status_of
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "argoproj.io", "Application"
_BY_NAME = {status.value: status for status in HealthStatus}


def assess(obj: Manifest) -> Verdict:
    reported = status_of(obj).get("health")
    if not isinstance(reported, dict) or not reported.get("status"):
        return Verdict(HealthStatus.PROGRESSING, "Waiting for the application to report health")
    status = _BY_NAME.get(str(reported["status"]))
    if status is None:
        return Verdict(
            HealthStatus.UNKNOWN, f"the application reports unknown health {reported['status']!r}"
        )
    return Verdict(status, str(reported.get("message") or ""))
