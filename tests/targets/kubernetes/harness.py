"""A `KubernetesTarget` over the extended kmock emulator, for one scenario in one loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx2

from conveyor.clients import kubeconfig
from conveyor.clients.kubeapi import KubeApi
from conveyor.targets.base import OWNER_LABEL
from conveyor.targets.kubernetes.target import KubernetesTarget
from conveyor.targets.kubernetes.tracking import Tracking
from tests.targets.kubernetes.emulator import ApiServerEmulator, started

Scenario = Callable[[KubernetesTarget, ApiServerEmulator], Awaitable[None]]


def run(
    tmp_path: Path,
    scenario: Scenario,
    *,
    tracking: Tracking = Tracking.ANNOTATION_LABEL,
    resync: float = 30.0,
) -> None:
    async def main() -> None:
        async with started(tmp_path) as (emulator, config):
            api = KubeApi(kubeconfig.load(str(config)))
            target = KubernetesTarget(name="k8s", api=api, tracking=tracking, resync=resync)
            try:
                await scenario(target, emulator)
            finally:
                await target.aclose()

    asyncio.run(main())


def owned(obj: dict[str, Any], app: str = "web") -> dict[str, Any]:
    """`obj` labelled as the reconciler labels what it applies for `app`."""
    meta = obj["metadata"]
    return {**obj, "metadata": {**meta, "labels": {**meta.get("labels", {}), OWNER_LABEL: app}}}


def deployment(name: str = "web", image: str = "web:1", namespace: str = "prod") -> dict[str, Any]:
    return owned(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}},
        }
    )


def crd() -> dict[str, Any]:
    return owned(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {
                "group": "example.com",
                "scope": "Namespaced",
                "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
                "versions": [{"name": "v1", "served": True, "storage": True}],
            },
        }
    )


def widget(name: str = "w1") -> dict[str, Any]:
    return owned(
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": name, "namespace": "prod"},
            "spec": {"size": 3},
        }
    )


async def by_hand(emu: ApiServerEmulator, path: str, patch: dict[str, Any] | None = None) -> None:
    """Someone else's write through the emulator's HTTP API (`kubectl edit` / `delete`):
    a JSON merge patch of `path`, or its DELETE when `patch` is None. Its watch event
    reaches the target's informers as a real edit's would."""
    async with httpx2.AsyncClient(base_url=str(emu.url).rstrip("/")) as http:
        if patch is None:
            resp = await http.delete(path)
        else:
            merge = {"Content-Type": "application/merge-patch+json"}
            resp = await http.patch(path, json=patch, headers=merge)
    assert resp.status_code == 200, resp.text
