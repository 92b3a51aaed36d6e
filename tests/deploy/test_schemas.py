"""Every object of the chart (default values and other value sets) and of the plain manifests
is valid against the Kubernetes API's OpenAPI schemas (kubernetes-validate, newest version it
ships, strict: unknown fields fail). Offline: no API server checked these, none runs here."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.rendering import (
    MANIFESTS,
    default_values,
    kustomize,
    render_chart,
    schema_problems,
)

VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": default_values(),
    "cluster-scoped-sharded-and-pool": {
        **default_values(
            targetNamespaces=["shop", "shop-staging", "payments"],
            clusterScoped={"namespaces": True, "customResourceDefinitions": True},
            replicas=3,
        ),
        "runners": {
            "podPool": {
                "enabled": True,
                "templates": [
                    {"name": "linux", "labels": ["linux"], "namespace": "ci-jobs"},
                    {"name": "big", "labels": ["big"], "namespace": "ci-big", "max": 2},
                ],
            },
            "replicas": 0,
        },
    },
    "own-secrets-and-url": {
        **default_values(interval="2m", listenPort=9090, token={"generate": True}),
        "server": {
            "publicUrl": "https://conveyor.example.com",
            "secretKey": {"secretName": "conveyor-key"},
            "webhookSecret": {"secretName": "github-webhook"},
            "persistence": {"storageClassName": "fast", "size": "50Gi"},
        },
        "imagePullSecrets": [{"name": "registry"}],
        "image": {"repository": "registry.example.com/conveyor", "tag": "1.2.3"},
    },
}


@pytest.mark.parametrize("name", sorted(VALUE_SETS))
def test_chart_objects_are_valid_kubernetes_objects(name: str) -> None:
    rendered = render_chart(VALUE_SETS[name])
    assert rendered
    assert [p for p in map(schema_problems, rendered) if p] == []


def test_plain_manifests_are_valid_kubernetes_objects() -> None:
    built = kustomize(MANIFESTS)
    assert len(built) >= 10
    assert [p for p in map(schema_problems, built) if p] == []


def test_schema_check_refuses_an_unknown_field() -> None:
    """The check itself must be able to fail: strict mode refuses a misspelt field, and a kind
    without a schema is reported, not passed."""
    deployment = next(o for o in render_chart(default_values()) if o["kind"] == "Deployment")
    deployment["spec"]["replicaz"] = 2
    assert "replicaz" in schema_problems(deployment)
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert "Widget" in schema_problems(unknown)
