"""cert-manager Certificate health, from cert-manager's documented conditions (the
semantics of Argo CD's bundled check): `Issuing=True` ⇒ Progressing (a certificate is
being issued or renewed, whatever Ready says); then `Ready` True ⇒ Healthy, False ⇒
Degraded; no Ready yet ⇒ Progressing."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import Verdict, by_condition, condition, is_true
from conveyor.reconcile.model import HealthStatus
from conveyor.targets.base import Manifest

GROUP, KIND = "cert-manager.io", "Certificate"


def assess(obj: Manifest) -> Verdict:
    issuing = condition(obj, "Issuing")
    if is_true(issuing):
        return Verdict(HealthStatus.PROGRESSING, str((issuing or {}).get("message") or ""))
    return by_condition(obj, "Ready", "Waiting for the certificate to be issued")
