"""Kubernetes API failures mapped to what a user needs. The `Status` bodies under
tests/targets/kubernetes/recorded/ are written from the Kubernetes API reference in the
shape a real API server returns (not captured from one); the emulator serves them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from conveyor.clients import kubeconfig
from conveyor.clients.kubeapi import KubeApi
from conveyor.clients.kubeerrors import (
    KubeConflict,
    KubeError,
    KubeForbidden,
    KubeInvalid,
    KubeUnavailable,
    Request,
    from_response,
)
from tests.targets.kubernetes.emulator import started

RECORDED = Path(__file__).parents[1] / "targets" / "kubernetes" / "recorded"
PATCH = Request(verb="patch", resource="deployments", name="web", namespace="prod")


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / name).read_text())
    return data


def apply_answered(tmp_path: Path, name: str) -> KubeError:
    """The error `KubeApi.apply` raises when the server answers the recorded `name`."""
    body = recorded(name)

    async def main() -> KubeError:
        async with started(tmp_path) as (emulator, config):
            emulator.fail("PATCH", "/deployments/web", int(body["code"]), body)
            api = KubeApi(kubeconfig.load(str(config)))
            try:
                res = await api.resource("apps/v1", "Deployment")
                obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}
                obj["metadata"]["namespace"] = "prod"
                with pytest.raises(KubeError) as caught:
                    await api.apply(res, obj)
                return caught.value
            finally:
                await api.close()

    return asyncio.run(main())


def test_forbidden_names_verb_resource_and_namespace(tmp_path: Path) -> None:
    error = apply_answered(tmp_path, "forbidden-patch.json")
    assert isinstance(error, KubeForbidden)
    text = str(error)
    assert 'may not patch deployments.apps in namespace "prod"' in text
    assert "system:serviceaccount:conveyor:reconciler" in text


def test_apply_conflict_names_the_other_managers_and_the_way_out(tmp_path: Path) -> None:
    error = apply_answered(tmp_path, "conflict-apply.json")
    assert isinstance(error, KubeConflict)
    text = str(error)
    assert '"hpa-controller", "kubectl-edit"' in text
    assert ".spec.replicas" in text
    assert "ServerSideApply=true,Force=true" in text


def test_webhook_denial_carries_the_webhook_message(tmp_path: Path) -> None:
    error = apply_answered(tmp_path, "webhook-denied.json")
    assert isinstance(error, KubeInvalid)
    assert "denied by an admission webhook" in str(error)
    assert "images must come from registry.example.com" in str(error)


def test_invalid_object_names_the_field(tmp_path: Path) -> None:
    error = apply_answered(tmp_path, "invalid.json")
    assert isinstance(error, KubeInvalid)
    assert "spec.template.spec.containers[0].image: Required value" in str(error)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_server_side_trouble_is_transient(status: int) -> None:
    error = from_response(status, {"message": "etcdserver: request timed out"}, PATCH)
    assert isinstance(error, KubeUnavailable) and not error.permanent
    assert "etcdserver: request timed out" in str(error)


def test_forbidden_at_cluster_scope_says_so() -> None:
    message = (
        'namespaces "prod" is forbidden: User "bob" cannot get resource "namespaces" '
        'in API group "" at the cluster scope'
    )
    error = from_response(403, {"message": message, "reason": "Forbidden"}, PATCH)
    assert "may not get namespaces in cluster scope" in str(error)


def test_unreachable_server_is_transient(tmp_path: Path) -> None:
    async def main() -> None:
        config = tmp_path / "kubeconfig"
        async with started(tmp_path) as (_, path):
            config.write_text(path.read_text())
        api = KubeApi(kubeconfig.load(str(config)), timeout=2.0)  # the server is gone now
        try:
            with pytest.raises(KubeUnavailable, match="cannot reach the API server"):
                await api.resource("apps/v1", "Deployment")
        finally:
            await api.close()

    asyncio.run(main())


def test_a_missing_namespace_suggests_create_namespace() -> None:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": 'namespaces "prod" not found',
        "reason": "NotFound",
        "details": {"name": "prod", "kind": "namespaces"},
        "code": 404,
    }
    error = from_response(404, body, PATCH)
    assert error.permanent and 'namespaces "prod" not found' in str(error)
    assert "CreateNamespace=true" in str(error)
