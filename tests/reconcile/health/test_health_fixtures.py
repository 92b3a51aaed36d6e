"""Health rules against one YAML fixture per kind and state: `<kind>-<state>[-<case>].yaml`
says which health the rule must report (gitops-engine's fixture convention)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conveyor.reconcile import health
from conveyor.reconcile.model import HealthStatus, ObjectHealth
from conveyor.targets.base import ObjectRef

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.yaml"))
KINDS = {
    "deployment",
    "replicaset",
    "statefulset",
    "daemonset",
    "pod",
    "service",
    "job",
    "persistentvolumeclaim",
    "configmap",
    "secret",
    "namespace",
    "ingress",
    "rollout",
    "certificate",
    "issuer",
    "clusterissuer",
    "application",
    "externalsecret",
    "sealedsecret",
}


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.stem for f in FIXTURES])
def test_health_of_fixture(fixture: Path) -> None:
    kind, state = fixture.stem.split("-")[:2]
    obj = yaml.safe_load(fixture.read_text())
    assert obj["kind"].lower() == kind
    verdict = health.assess(obj)
    assert verdict.status == HealthStatus(state.capitalize())


def test_every_kind_has_fixtures_for_healthy_and_another_state() -> None:
    states: dict[str, set[str]] = {}
    for fixture in FIXTURES:
        kind, state = fixture.stem.split("-")[:2]
        states.setdefault(kind, set()).add(state)
    assert set(states) == KINDS
    for kind in KINDS - {"configmap", "secret"}:
        assert len(states[kind]) >= 2, kind


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("deployment-degraded", "Deployment 'web' exceeded its progress deadline"),
        (
            "deployment-progressing-rollout",
            "Waiting for rollout to finish: 1 out of 3 new replicas have been updated...",
        ),
        ("pod-degraded-crashloop", "CrashLoopBackOff: back-off 5m0s restarting failed container"),
        ("job-degraded", "Job has reached the specified backoff limit"),
        (
            "rollout-degraded",
            "Rollout aborted update to revision 7: metric error-rate assessed Failed",
        ),
        ("rollout-suspended", "Rollout is paused"),
        ("certificate-degraded", "Issuer 'missing' not found"),
        ("certificate-progressing-new", "Waiting for the certificate to be issued"),
        ("application-degraded", "Deployment payments exceeded its progress deadline"),
        ("externalsecret-degraded", "could not get secret data from provider"),
        ("sealedsecret-degraded", "no key could decrypt secret (token)"),
    ],
)
def test_messages_say_what_is_wrong(name: str, message: str) -> None:
    obj = yaml.safe_load((Path(__file__).parent / "fixtures" / f"{name}.yaml").read_text())
    assert health.assess(obj).message == message


def test_missing_object_is_missing() -> None:
    assert health.assess(None).status == HealthStatus.MISSING


def test_unknown_kind_without_status_is_healthy_once_it_exists() -> None:
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert health.assess(obj).status == HealthStatus.HEALTHY


def test_unknown_kind_with_conditions_is_read_by_the_conditions_rule() -> None:
    obj = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Broken"}]},
    }
    assert health.assess(obj) == health.Verdict(HealthStatus.DEGRADED, "Broken")


def test_an_argo_application_elsewhere_than_argoproj_io_is_not_read_as_one() -> None:
    obj = {
        "apiVersion": "conveyor.dev/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "a"},
    }
    assert health.assess(obj).status == HealthStatus.HEALTHY


@pytest.mark.parametrize(
    ("statuses", "worst"),
    [
        ([], HealthStatus.HEALTHY),
        ([HealthStatus.HEALTHY, HealthStatus.PROGRESSING], HealthStatus.PROGRESSING),
        ([HealthStatus.SUSPENDED, HealthStatus.HEALTHY], HealthStatus.SUSPENDED),
        ([HealthStatus.PROGRESSING, HealthStatus.MISSING], HealthStatus.MISSING),
        (
            [HealthStatus.MISSING, HealthStatus.DEGRADED, HealthStatus.UNKNOWN],
            HealthStatus.DEGRADED,
        ),
    ],
)
def test_app_health_is_the_worst_object_health(
    statuses: list[HealthStatus], worst: HealthStatus
) -> None:
    ref = ObjectRef(group="", kind="ConfigMap", namespace="", name="x")
    report = health.aggregate(ObjectHealth(ref=ref, status=s) for s in statuses)
    assert report.status == worst
