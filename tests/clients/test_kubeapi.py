"""The Kubernetes client against kmock's emulator (extended: tests/targets/kubernetes/
emulator.py). Request parameters and content types are checked on the emulator's request
history; the emulator is not a real API server (no field ownership, no validation)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from conveyor.clients import kubeconfig
from conveyor.clients.kubeapi import KubeApi
from conveyor.clients.kubeerrors import KubeUnknownKind
from tests.targets.kubernetes.emulator import APPLY_PATCH, ApiServerEmulator, started

STRICT = {"fieldManager": "conveyor", "fieldValidation": "Strict"}
Scenario = Callable[[KubeApi, ApiServerEmulator], Awaitable[None]]


def run(tmp_path: Path, scenario: Scenario) -> None:
    async def main() -> None:
        async with started(tmp_path) as (emulator, config):
            api = KubeApi(kubeconfig.load(str(config)))
            try:
                await scenario(api, emulator)
            finally:
                await api.close()

    asyncio.run(main())


def deployment(image: str = "web:1") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "prod", "labels": {"team": "a"}},
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}},
    }


def test_apply_is_a_server_side_apply_patch_as_conveyor(tmp_path: Path) -> None:
    async def scenario(api: KubeApi, emu: ApiServerEmulator) -> None:
        res = await api.resource("apps/v1", "Deployment")
        created = await api.apply(res, deployment())
        updated = await api.apply(res, deployment("web:2"))
        assert created["metadata"]["resourceVersion"] != updated["metadata"]["resourceVersion"]
        live = await api.get(res, "web", "prod")
        assert live is not None
        assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "web:2"
        patches = [r for r in emu.history() if r.method.value == "PATCH"]
        assert len(patches) == 2
        for request in patches:
            assert request.headers["Content-Type"] == APPLY_PATCH
            assert request.url.path == "/apis/apps/v1/namespaces/prod/deployments/web"
            assert dict(request.params) == STRICT  # no force

    run(tmp_path, scenario)


def test_force_is_sent_only_when_asked(tmp_path: Path) -> None:
    async def scenario(api: KubeApi, emu: ApiServerEmulator) -> None:
        res = await api.resource("apps/v1", "Deployment")
        await api.apply(res, deployment(), force=True)
        (patch,) = [r for r in emu.history() if r.method.value == "PATCH"]
        assert patch.params.get("force") == "true"

    run(tmp_path, scenario)


def test_dry_run_sends_dryRun_All_and_stores_nothing(tmp_path: Path) -> None:
    async def scenario(api: KubeApi, emu: ApiServerEmulator) -> None:
        res = await api.resource("apps/v1", "Deployment")
        answer = await api.apply(res, deployment(), dry_run=True)
        assert answer["spec"]["replicas"] == 1  # the emulator's defaulting, as a server's
        assert await api.get(res, "web", "prod") is None
        (patch,) = [r for r in emu.history() if r.method.value == "PATCH"]
        assert patch.params.get("dryRun") == "All"

    run(tmp_path, scenario)


def test_replace_puts_the_whole_object_and_creates_when_missing(tmp_path: Path) -> None:
    async def scenario(api: KubeApi, emu: ApiServerEmulator) -> None:
        res = await api.resource("apps/v1", "Deployment")
        await api.replace(res, deployment())
        await api.replace(res, deployment("web:3"))
        writes = [r.method.value for r in emu.history() if r.method.value in ("PUT", "POST")]
        assert writes == ["PUT", "POST", "PUT"]  # the first PUT answers 404: not there yet
        live = await api.get(res, "web", "prod")
        assert live is not None
        assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "web:3"

    run(tmp_path, scenario)


@pytest.mark.parametrize("policy", ["foreground", "background", "orphan"])
def test_delete_sends_the_propagation_policy(tmp_path: Path, policy: str) -> None:
    async def scenario(api: KubeApi, emu: ApiServerEmulator) -> None:
        res = await api.resource("apps/v1", "Deployment")
        await api.apply(res, deployment())
        assert await api.delete(res, "web", "prod", propagation=policy) is True
        assert await api.delete(res, "web", "prod", propagation=policy) is False
        deletes = [r for r in emu.history() if r.method.value == "DELETE"]
        assert deletes[0].params["propagationPolicy"] == policy.capitalize()

    run(tmp_path, scenario)


def test_list_selects_by_label_across_namespaces(tmp_path: Path) -> None:
    async def scenario(api: KubeApi, emu: ApiServerEmulator) -> None:
        res = await api.resource("v1", "ConfigMap")
        for ns, team in (("a", "x"), ("b", "x"), ("c", "y")):
            meta = {"name": "cm", "namespace": ns, "labels": {"team": team}}
            await api.apply(res, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})
        found = await api.list(res, labels={"team": "x"})
        assert sorted(o["metadata"]["namespace"] for o in found) == ["a", "b"]
        (listing,) = [r for r in emu.history() if "labelSelector" in r.params]
        assert listing.url.path == "/api/v1/configmaps"
        assert listing.params["labelSelector"] == "team=x"

    run(tmp_path, scenario)


def test_cluster_scoped_kinds_have_no_namespace_in_the_path(tmp_path: Path) -> None:
    async def scenario(api: KubeApi, emu: ApiServerEmulator) -> None:
        res = await api.resource("v1", "Namespace")
        assert not res.namespaced
        await api.apply(res, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "p"}})
        (patch,) = [r for r in emu.history() if r.method.value == "PATCH"]
        assert patch.url.path == "/api/v1/namespaces/p"

    run(tmp_path, scenario)


def test_unknown_kind_says_the_crd_is_missing(tmp_path: Path) -> None:
    async def scenario(api: KubeApi, emu: ApiServerEmulator) -> None:
        with pytest.raises(KubeUnknownKind, match="CustomResourceDefinition is missing"):
            await api.resource("example.com/v1", "Widget")
        with pytest.raises(KubeUnknownKind, match="Gadget in apps/v1"):
            await api.resource("apps/v1", "Gadget")

    run(tmp_path, scenario)


def test_a_kind_served_later_is_found_by_refreshing_discovery(tmp_path: Path) -> None:
    async def scenario(api: KubeApi, emu: ApiServerEmulator) -> None:
        with pytest.raises(KubeUnknownKind):
            await api.resource("example.com/v1", "Widget")
        emu.resources["example.com/v1/widgets"] = {"kind": "Widget", "namespaced": True}
        res = await api.resource("example.com/v1", "Widget")
        assert (res.plural, res.namespaced) == ("widgets", True)
        assert (await api.for_group_kind("example.com", "Widget")) == res

    run(tmp_path, scenario)


def test_validate_false_sends_field_validation_ignore(tmp_path: Path) -> None:
    async def scenario(api: KubeApi, emu: ApiServerEmulator) -> None:
        res = await api.resource("apps/v1", "Deployment")
        await api.apply(res, deployment(), validate=False)
        await api.replace(res, deployment(), validate=False)
        writes = [r for r in emu.history() if r.method.value in ("PATCH", "PUT")]
        assert [r.params["fieldValidation"] for r in writes] == ["Ignore", "Ignore"]

    run(tmp_path, scenario)
