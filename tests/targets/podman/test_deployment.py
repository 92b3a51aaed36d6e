"""A Deployment with a Service, ConfigMap and Secret on real Podman."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
from pathlib import Path

from conveyor.targets.base import ObjectRef
from conveyor.targets.podman import PodmanTarget
from conveyor.targets.podman.names import container_name
from conveyor.targets.podman.routing import ProxyHandle

from .conftest import Env, free_port, remove_by_label
from .http import get, wait_for
from .manifests import config_map, deployment, secret, service

DEPLOY = ObjectRef(group="apps", kind="Deployment", namespace="demo", name="web")


async def wait_rolled_out(target: PodmanTarget, replicas: int, timeout: float = 20.0) -> dict:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    live = None
    while loop.time() < deadline:
        live = await target.get(DEPLOY)
        assert live is not None
        st = live["status"]
        if st["updatedReplicas"] == st["readyReplicas"] == st["replicas"] == replicas:
            return live
        await asyncio.sleep(0.05)
    raise AssertionError(f"not rolled out: {live and live['status']}")


def with_config(name: str) -> dict:
    return deployment(
        name,
        extra_container={
            "env": [
                {
                    "name": "PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}},
                },
                {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}}},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "GREETING", "value": "hello-$(MODE)"},
            ],
            "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
            "volumeMounts": [
                {"name": "creds", "mountPath": "/etc/creds"},
                {"name": "conf", "mountPath": "/etc/conf"},
            ],
        },
        pod_spec={
            "volumes": [
                {"name": "creds", "secret": {"secretName": "db"}},
                {"name": "conf", "configMap": {"name": "cfg"}},
            ]
        },
    )


def test_deployment_service_configmap_secret_come_up(env: Env) -> None:
    port = free_port()

    async def scenario() -> None:
        target = env.make()
        try:
            await target.apply(config_map("cfg", {"mode": "prod"}))
            await target.apply(secret("db", {"password": "s3cr3t"}))
            await target.apply(with_config("web"))
            await target.apply(service("web", port))
            live = await wait_rolled_out(target, 2)
            await wait_for(port, "v1")
            assert {await get(port) for _ in range(4)} == {"v1"}
            pods = list(target.controller.table.tracked)
            assert len(pods) == 2
            name = pods[0]
            out = await env.podman.run(
                "exec",
                name,
                "sh",
                "-c",
                'echo "$PASSWORD $MODE $CFG_mode $GREETING $POD"; '
                "cat /etc/creds/password; echo; cat /etc/conf/mode",
            )
            pod_name = name.rsplit("_", 1)[1]
            assert out.stdout.split() == [
                "s3cr3t",
                "prod",
                "prod",
                "hello-prod",
                pod_name,
                "s3cr3t",
                "prod",
            ]
            # pods reach the Service by name on the namespace network (network aliases)
            lookup = await env.podman.run("exec", name, "nslookup", "web")
            ips = {t.ip for t in target.controller.table.tracked.values()}
            assert ips <= set(lookup.stdout.replace("Address:", " ").split())
            conditions = {c["type"]: c for c in live["status"]["conditions"]}
            assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
            assert conditions["Available"]["status"] == "True"
            assert name == container_name(env.name, "demo", pod_name)
            svc = await target.get(
                ObjectRef(group="", kind="Service", namespace="demo", name="web")
            )
            assert svc is not None
            assert svc["status"]["loadBalancer"]["ingress"][0]["ports"][0]["port"] == port
            # a dead proxy is started again by the controller's next tick
            pid = target.proxy.pid()
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            await wait_for(port, "v1")
            assert target.proxy.pid() not in (None, pid)
        finally:
            await target.aclose()

    asyncio.run(scenario())
    # Secrets stay private on the host: the store and run directories are 0700.
    for sub in ("objects", "run"):
        mode = stat.S_IMODE((env.state_dir / sub).stat().st_mode)
        assert mode == 0o700


def test_a_service_applied_later_still_names_the_replicas(env: Env) -> None:
    port = free_port()

    async def scenario() -> None:
        target = env.make()
        try:
            await target.apply(deployment("web"))
            await wait_rolled_out(target, 2)
            table = target.controller.table
            before = set(table.tracked)
            await target.apply(service("web", port))
            await wait_for(port, "v1")
            live = await wait_rolled_out(target, 2)
            after = {n for n in table.tracked if n not in table.draining}
            assert not after & before  # replaced (rolling, zero-downtime) to carry the alias
            assert live["status"]["conditions"][1]["reason"] == "NewReplicaSetAvailable"
            lookup = await env.podman.run("exec", sorted(after)[0], "nslookup", "web")
            ips = {table.tracked[n].ip for n in after}
            assert ips <= set(lookup.stdout.replace("Address:", " ").split())
        finally:
            await target.aclose()

    asyncio.run(scenario())


def test_two_targets_run_the_same_namespace_side_by_side(env: Env, tmp_path: Path) -> None:
    """Names are scoped by target: a second target with the same namespace and Deployment
    gets its own containers, network and Service aliases, and never touches the first's."""
    other = Env(name=f"{env.name}-b", state_dir=tmp_path / "other", podman=env.podman)
    ports = free_port(), free_port()

    async def scenario() -> None:
        first, second = env.make(), other.make()
        try:
            await first.apply(deployment("web"))
            await first.apply(service("web", ports[0]))
            await wait_rolled_out(first, 2)
            ids = {n: t.replica.id for n, t in first.controller.table.tracked.items()}
            await second.apply(deployment("web"))  # the same template: the same pod names
            await second.apply(service("web", ports[1]))
            await wait_rolled_out(second, 2)
            await wait_for(ports[1], "v1")
            assert not set(ids) & set(second.controller.table.tracked)
            await first.controller.sync_once()
            assert {n: t.replica.id for n, t in first.controller.table.tracked.items()} == ids
            # "web" resolves to the first target's replicas only, on its own network
            lookup = await env.podman.run("exec", sorted(ids)[0], "nslookup", "web")
            answered = set(lookup.stdout.replace("Address:", " ").split())
            assert {t.ip for t in first.controller.table.tracked.values()} <= answered
            assert not {t.ip for t in second.controller.table.tracked.values()} & answered
        finally:
            await second.aclose()
            await first.aclose()
            other_proxy = ProxyHandle(other.state_dir / "proxy")
            other_proxy.stop()
            await remove_by_label(env.podman, other.name)

    asyncio.run(scenario())
