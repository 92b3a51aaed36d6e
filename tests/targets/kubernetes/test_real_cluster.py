"""The Kubernetes target against a REAL cluster: runs only where `KUBECONFIG` names one
(kind, k3s, a cloud cluster; `KUBECONTEXT` picks a context), in a namespace of its own
that it deletes afterwards. Skipped on these machines (no API server can run here).
Checks what the emulator cannot: server-side apply's field ownership, the server's
defaulting seen by dry-run, a conflict with another field manager, and a foreground
delete."""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import Any

import pytest

from conveyor.clients import kubeconfig
from conveyor.clients.kubeapi import KubeApi
from conveyor.targets.base import ApplyOptions, ObjectRef, Propagation, TargetRejected
from conveyor.targets.kubernetes.target import KubernetesTarget
from tests.targets.kubernetes.harness import deployment, owned

pytestmark = pytest.mark.skipif(
    not os.environ.get("KUBECONFIG"), reason="KUBECONFIG does not name a real cluster"
)


def test_a_real_cluster_applies_diffs_conflicts_and_deletes() -> None:
    namespace = f"conveyor-e2e-{uuid.uuid4().hex[:8]}"
    config = kubeconfig.load(os.environ["KUBECONFIG"], os.environ.get("KUBECONTEXT"))

    async def main() -> None:
        target = KubernetesTarget(name="real", api=KubeApi(config))
        ns: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace"}
        ns["metadata"] = {"name": namespace}
        ns_ref = ObjectRef(group="", kind="Namespace", namespace="", name=namespace)
        try:
            await target.apply(ns)
            await _scenario(target, namespace)
        finally:
            await target.delete(ns_ref, propagation=Propagation.BACKGROUND)
            await target.aclose()

    asyncio.run(main())


async def _scenario(target: KubernetesTarget, namespace: str) -> None:
    obj = deployment(namespace=namespace)
    obj["spec"]["selector"] = {"matchLabels": {"app": "web"}}
    obj["spec"]["template"]["metadata"] = {"labels": {"app": "web"}}
    dry = await target.dry_run(obj)
    assert dry is not None and dry["spec"]["replicas"] == 1  # the server's default
    ref = ObjectRef(group="apps", kind="Deployment", namespace=namespace, name="web")
    assert await target.get(ref) is None  # dry-run stored nothing
    live = await target.apply(obj)
    managers = {m["manager"] for m in live["metadata"]["managedFields"]}
    assert "conveyor" in managers
    assert [o["metadata"]["name"] for o in await target.list_owned("web")] == ["web"]
    other = KubeApi(
        kubeconfig.load(os.environ["KUBECONFIG"], os.environ.get("KUBECONTEXT")),
        field_manager="someone-else",
    )
    try:
        res = await other.resource("apps/v1", "Deployment")
        scaled = {"apiVersion": "apps/v1", "kind": "Deployment"}
        scaled["metadata"] = {"name": "web", "namespace": namespace}
        await other.apply(res, {**scaled, "spec": {"replicas": 3}}, force=True)
    finally:
        await other.close()
    wants_two = owned(deployment(namespace=namespace))
    wants_two["spec"].update(replicas=2, selector=obj["spec"]["selector"])
    wants_two["spec"]["template"]["metadata"] = obj["spec"]["template"]["metadata"]
    with pytest.raises(TargetRejected, match="someone-else"):
        await target.apply(wants_two)
    await target.apply(wants_two, options=ApplyOptions(server_side=True, force_conflicts=True))
    assert await target.delete(ref, propagation=Propagation.FOREGROUND) is True
