"""cert-manager ClusterIssuer health: the Issuer rule, cluster-scoped."""

from __future__ import annotations

from conveyor.reconcile.health import issuer
from conveyor.reconcile.health.verdict import Verdict
from conveyor.targets.base import Manifest

GROUP, KIND = "cert-manager.io", "ClusterIssuer"


def assess(obj: Manifest) -> Verdict:
    return issuer.assess(obj)
