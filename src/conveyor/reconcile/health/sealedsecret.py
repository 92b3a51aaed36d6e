"""Bitnami SealedSecret health: the controller reports `Synced` True once it unsealed the
Secret (Healthy), False when it cannot (Degraded: wrong key, bad ciphertext); until it
reports, Progressing."""

from __future__ import annotations

from conveyor.reconcile.health.verdict import Verdict, by_condition
from conveyor.targets.base import Manifest

GROUP, KIND = "bitnami.com", "SealedSecret"


def assess(obj: Manifest) -> Verdict:
    return by_condition(obj, "Synced", "Waiting for the controller to unseal the secret")
