"""cert-manager Issuer health: `Ready` True ⇒ Healthy (the issuer can sign), False ⇒
Degraded with cert-manager's message (bad ACME account, missing secret…), none yet ⇒
Progressing."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import Verdict, by_condition
from conveyor.targets.base import Manifest

GROUP, KIND = "cert-manager.io", "Issuer"


def assess(obj: Manifest) -> Verdict:
    return by_condition(obj, "Ready", "Waiting for the issuer to be initialised")
