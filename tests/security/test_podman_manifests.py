"""Finding 4: a config-repo author cannot reach the host through a manifest.

Against real Podman: each manifest below was accepted before (`image: --privileged` became
a `podman run` flag; a subPath `../../etc`, a volume named `x/..` or a hostPath mounted host
directories read-write). Each is now refused at apply with the field path in the message,
and nothing (container, volume, network) is created. A symlink an init container leaves in
an emptyDir cannot lead a subPath mount out of the replica's run directory either.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from conveyor.targets.base import OWNER_LABEL, ObjectRef, TargetRejected
from conveyor.targets.podman.names import TARGET_LABEL
from tests.targets.podman.conftest import WEB_IMAGE, Env, env, podman, podman_state

__all__ = ["env", "podman", "podman_state"]  # the real-Podman fixtures of tests/targets

BUSYBOX = f"{WEB_IMAGE}:v1"


def deployment(name: str, pod_spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "sec", "labels": {OWNER_LABEL: "sec"}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
        },
    }


def app(**extra: Any) -> dict[str, Any]:
    return {"name": "app", "image": BUSYBOX, "command": ["sleep", "1000"], **extra}


ATTACKS = [
    pytest.param(
        # without `--` podman read this as its flag and the first arg as the image
        deployment("flag", {"containers": [app(image="--privileged", command=[BUSYBOX])]}),
        "spec.template.spec.containers[0].image",
        id="image-is-a-podman-flag",
    ),
    pytest.param(
        deployment(
            "subpath",
            {
                "containers": [
                    app(volumeMounts=[{"name": "d", "mountPath": "/x", "subPath": "../../etc"}])
                ],
                "volumes": [{"name": "d", "emptyDir": {}}],
            },
        ),
        "spec.template.spec.containers[0].volumeMounts[0].subPath",
        id="subpath-traversal",
    ),
    pytest.param(
        deployment(
            "volname",
            {
                "containers": [app(volumeMounts=[{"name": "../../../../etc", "mountPath": "/x"}])],
                "volumes": [{"name": "../../../../etc", "emptyDir": {}}],
            },
        ),
        "spec.template.spec.volumes[0].name",
        id="volume-name-traversal",
    ),
    pytest.param(
        deployment(
            "volslash",
            {
                "containers": [app(volumeMounts=[{"name": "d/..", "mountPath": "/x"}])],
                "volumes": [{"name": "d/..", "emptyDir": {}}],
            },
        ),
        "spec.template.spec.volumes[0].name",
        id="volume-name-with-slash-dotdot",
    ),
    pytest.param(
        deployment(
            "hostpath",
            {
                "containers": [app(volumeMounts=[{"name": "h", "mountPath": "/host"}])],
                "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
            },
        ),
        "spec.template.spec.volumes[0].hostPath",
        id="hostpath",
    ),
    pytest.param(
        deployment(
            "mountopts",
            {
                "containers": [app(volumeMounts=[{"name": "d", "mountPath": "/x:rw,z"}])],
                "volumes": [{"name": "d", "emptyDir": {}}],
            },
        ),
        "spec.template.spec.containers[0].volumeMounts[0].mountPath",
        id="mount-path-carries-options",
    ),
    pytest.param(
        deployment("-privileged", {"containers": [app()]}),
        "metadata.name",
        id="object-name-is-a-flag",
    ),
]


async def _owned(env: Env) -> list[str]:
    label = f"label={TARGET_LABEL}={env.name}"
    found = []
    for kind in ("ps -a", "volume ls", "network ls"):
        out = await env.podman.run(*kind.split(), "-q", "--filter", label)
        found += out.stdout.split()
    return found


@pytest.mark.parametrize(("manifest", "field"), ATTACKS)
def test_manifest_that_escapes_the_host_is_refused_naming_its_field(
    env: Env, manifest: dict[str, Any], field: str
) -> None:
    async def scenario() -> None:
        target = env.make()
        try:
            with pytest.raises(TargetRejected) as caught:
                await target.apply(manifest)
            assert field in str(caught.value)
            await asyncio.sleep(0.5)  # a creation task would have started by now
            assert await _owned(env) == []
            assert target.store.all("Deployment") == []
        finally:
            await target.aclose()

    asyncio.run(scenario())


def test_symlink_left_by_an_init_container_does_not_lead_a_subpath_out(env: Env) -> None:
    manifest = deployment(
        "symlink",
        {
            "initContainers": [
                {
                    "name": "plant",
                    "image": BUSYBOX,
                    "command": ["ln", "-s", "/etc", "/data/esc"],
                    "volumeMounts": [{"name": "d", "mountPath": "/data"}],
                }
            ],
            "containers": [app(volumeMounts=[{"name": "d", "mountPath": "/x", "subPath": "esc"}])],
            "volumes": [{"name": "d", "emptyDir": {}}],
        },
    )
    ref = ObjectRef(group="apps", kind="Deployment", namespace="sec", name="symlink")

    async def scenario() -> None:
        target = env.make()
        try:
            await target.apply(manifest)
            deadline = time.monotonic() + 30
            failure = ""
            while time.monotonic() < deadline and not failure:
                live = await target.get(ref) or {}
                conditions = (live.get("status") or {}).get("conditions") or []
                failure = next(
                    (c["message"] for c in conditions if c["type"] == "ReplicaFailure"), ""
                )
                await asyncio.sleep(0.1)
            assert "outside the replica's run directory" in failure, failure
            assert "subPath" in failure
            label = f"label={TARGET_LABEL}={env.name}"
            out = await env.podman.run("ps", "-a", "-q", "--filter", label)
            assert out.stdout.split() == []  # the app container was never created
        finally:
            await target.aclose()

    asyncio.run(scenario())
