"""The generic rule for kinds without a rule of their own (kstatus-like): one row per
shape of `status`, with the health and message it must give."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.reconcile.health import conditions
from conveyor.reconcile.model import HealthStatus

H, P, D = HealthStatus.HEALTHY, HealthStatus.PROGRESSING, HealthStatus.DEGRADED


def _obj(status: dict[str, Any] | None, generation: int = 3) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "db.example.com/v1",
        "kind": "Database",
        "metadata": {"name": "orders", "generation": generation},
    }
    if status is not None:
        obj["status"] = status
    return obj


def _cond(kind: str, status: str, reason: str = "", message: str = "") -> dict[str, str]:
    return {"type": kind, "status": status, "reason": reason, "message": message}


CASES = [
    ("no status: data object", None, H, ""),
    ("empty status", {}, H, ""),
    ("status without conditions", {"endpoint": "db:5432"}, H, ""),
    (
        "older generation observed",
        {"observedGeneration": 2, "conditions": [_cond("Ready", "True")]},
        P,
        "waiting for the controller to observe generation 3",
    ),
    (
        "current generation observed, ready",
        {"observedGeneration": 3, "conditions": [_cond("Ready", "True", message="up")]},
        H,
        "up",
    ),
    ("ready", {"conditions": [_cond("Ready", "True")]}, H, ""),
    (
        "not ready, failed",
        {"conditions": [_cond("Ready", "False", "BackupFailed", "disk full")]},
        D,
        "BackupFailed: disk full",
    ),
    (
        "not ready, still working by its reason",
        {"conditions": [_cond("Ready", "False", "Progressing", "creating replicas")]},
        P,
        "Progressing: creating replicas",
    ),
    (
        "not ready, waiting on a dependency",
        {"conditions": [_cond("Ready", "False", "DependencyNotReady")]},
        P,
        "DependencyNotReady",
    ),
    ("ready unknown", {"conditions": [_cond("Ready", "Unknown")]}, P, "not ready yet"),
    (
        "reconciling wins over not ready",
        {
            "conditions": [
                _cond("Ready", "False", "BuildFailed", "old failure"),
                _cond("Reconciling", "True", "Progressing", "applying revision 7"),
            ]
        },
        P,
        "Progressing: applying revision 7",
    ),
    (
        "stalled wins over everything",
        {
            "conditions": [
                _cond("Reconciling", "True"),
                _cond("Stalled", "True", "InvalidSpec", "spec.size must be positive"),
            ]
        },
        D,
        "InvalidSpec: spec.size must be positive",
    ),
    (
        "stalled false, reconciling false, ready",
        {
            "conditions": [
                _cond("Stalled", "False"),
                _cond("Reconciling", "False"),
                _cond("Ready", "True"),
            ]
        },
        H,
        "",
    ),
    ("available", {"conditions": [_cond("Available", "True")]}, H, ""),
    (
        "unavailable while progressing",
        {"conditions": [_cond("Available", "False", "Scaling"), _cond("Progressing", "True")]},
        P,
        "Scaling",
    ),
    (
        "unavailable and not progressing",
        {"conditions": [_cond("Available", "False", "NoReplicas", "0 of 2 up")]},
        D,
        "NoReplicas: 0 of 2 up",
    ),
    ("only other conditions", {"conditions": [_cond("Initialized", "True")]}, H, ""),
]


@pytest.mark.parametrize(
    ("status", "health", "message"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_conditions_rule(status: dict[str, Any] | None, health: HealthStatus, message: str) -> None:
    verdict = conditions.assess(_obj(status))
    assert (verdict.status, verdict.message) == (health, message)


def test_a_string_observed_generation_that_is_not_a_number_is_not_compared() -> None:
    verdict = conditions.assess(
        _obj({"observedGeneration": "6d8f", "conditions": [_cond("Ready", "True")]})
    )
    assert verdict.status == H
