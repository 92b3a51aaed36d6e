"""StatefulSet, Job, Pod, PVC, liveness and rejections on real Podman."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from conveyor.targets.base import ObjectRef, TargetRejected
from conveyor.targets.podman import PodmanTarget
from conveyor.targets.podman.names import container_name

from .conftest import WEB_IMAGE, Env

BUSYBOX = f"{WEB_IMAGE}:v1"


async def until(
    target: PodmanTarget,
    ref: ObjectRef,
    check: Callable[[dict[str, Any]], bool],
    timeout: float = 20.0,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    live: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        live = await target.get(ref)
        if live is not None and check(live):
            return live
        await asyncio.sleep(0.05)
    raise AssertionError(f"{ref}: condition never held; last status {live and live.get('status')}")


def cname(env: Env, pod: str) -> str:
    """The container of `pod` in namespace `kinds` (names are scoped by target)."""
    return container_name(env.name, "kinds", pod)


def meta(name: str) -> dict[str, Any]:
    return {"name": name, "namespace": "kinds"}


def test_statefulset_has_stable_ordinals_and_per_replica_volumes(env: Env) -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta("db"),
        "spec": {
            "replicas": 2,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {
                    "containers": [
                        {
                            "name": "db",
                            "image": BUSYBOX,
                            "command": ["sh", "-c"],
                            "args": ["echo $(POD) >> /data/log; exec sleep 1000"],
                            "env": [
                                {
                                    "name": "POD",
                                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                                }
                            ],
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        }
                    ]
                },
            },
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}],
        },
    }
    ref = ObjectRef(group="apps", kind="StatefulSet", namespace="kinds", name="db")

    async def scenario() -> None:
        target = env.make()
        try:
            await target.apply(sts)
            await until(target, ref, lambda o: o["status"]["readyReplicas"] == 2)
            tracked = target.controller.table.tracked
            assert sorted(tracked) == [cname(env, "db-0"), cname(env, "db-1")]
            old = tracked[cname(env, "db-1")].replica.id
            await env.podman.run("rm", "-f", "-t", "0", cname(env, "db-1"))

            def recreated(o: dict[str, Any]) -> bool:
                again = tracked.get(cname(env, "db-1"))
                return bool(again and again.replica.id != old) and (
                    o["status"]["readyReplicas"] == 2
                )

            await until(target, ref, recreated)
            out = await env.podman.run("exec", cname(env, "db-1"), "cat", "/data/log")
            # same volume, re-created replica: at least the first and the new container wrote
            # it (healing may also restart the old one while `rm -f` is still removing it,
            # as the kubelet restarts an exited container: a third line, same name)
            lines = out.stdout.split()
            assert len(lines) >= 2 and set(lines) == {"db-1"}, lines
            out = await env.podman.run("exec", cname(env, "db-0"), "cat", "/data/log")
            assert out.stdout.split() == ["db-0"]
        finally:
            await target.aclose()

    asyncio.run(scenario())


def job(name: str, script: str, backoff: int) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": meta(name),
        "spec": {
            "backoffLimit": backoff,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {"name": "hook", "image": BUSYBOX, "command": ["sh", "-c", script]}
                    ],
                }
            },
        },
    }


def condition(obj: dict[str, Any]) -> str:
    return ",".join(c["type"] for c in obj["status"].get("conditions", []))


def test_jobs_complete_or_fail_after_backoff_limit(env: Env) -> None:
    async def scenario() -> None:
        target = env.make()
        try:
            ok_job = job("ok", 'test "$(id -u):$(pwd)" = 1000:/tmp', 0)
            container = ok_job["spec"]["template"]["spec"]["containers"][0]
            container["securityContext"] = {"runAsUser": 1000}
            container["workingDir"] = "/tmp"
            await target.apply(ok_job)
            await target.apply(job("bad", "exit 3", 1))
            ok = ObjectRef(group="batch", kind="Job", namespace="kinds", name="ok")
            bad = ObjectRef(group="batch", kind="Job", namespace="kinds", name="bad")
            done = await until(target, ok, lambda o: condition(o) == "Complete")
            assert done["status"]["succeeded"] == 1
            failed = await until(target, bad, lambda o: condition(o) == "Failed")
            assert failed["status"]["failed"] == 2  # first try + backoffLimit 1 retry
            assert failed["status"]["conditions"][0]["reason"] == "BackoffLimitExceeded"
            with pytest.raises(TargetRejected, match="immutable"):
                await target.apply(job("ok", "exit 1", 0))
        finally:
            await target.aclose()

    asyncio.run(scenario())


def test_pod_with_claim_and_liveness_restart(env: Env) -> None:
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta("keep"),
        "spec": {"accessModes": ["ReadWriteOnce"]},
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta("solo"),
        "spec": {
            "volumes": [{"name": "keep", "persistentVolumeClaim": {"claimName": "keep"}}],
            "containers": [
                {
                    "name": "solo",
                    "image": BUSYBOX,
                    "command": ["sh", "-c"],
                    "args": ["date >> /keep/starts; touch /tmp/alive; exec sleep 1000"],
                    "volumeMounts": [{"name": "keep", "mountPath": "/keep"}],
                    "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}},
                    "livenessProbe": {
                        "exec": {"command": ["cat", "/tmp/alive"]},
                        "periodSeconds": 1,
                        "failureThreshold": 1,
                    },
                }
            ],
        },
    }
    ref = ObjectRef(group="", kind="Pod", namespace="kinds", name="solo")

    def running(o: dict[str, Any]) -> bool:
        return (
            o["status"]["phase"] == "Running" and o["status"]["conditions"][3]["status"] == "True"
        )

    async def scenario() -> None:
        target = env.make()
        try:
            await target.apply(pvc)
            await target.apply(pod)
            await until(target, ref, running)
            limits = await env.podman.run(
                "inspect",
                cname(env, "solo"),
                "--format",
                "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}",
            )
            assert limits.stdout.split() == ["67108864", "500000000"]
            await env.podman.run("exec", cname(env, "solo"), "rm", "/tmp/alive")
            live = await until(
                target,
                ref,
                lambda o: o["status"]["containerStatuses"][0]["restartCount"] == 1 and running(o),
            )
            assert live["status"]["containerStatuses"][0]["state"].keys() == {"running"}
            out = await env.podman.run("exec", cname(env, "solo"), "cat", "/keep/starts")
            assert len(out.stdout.splitlines()) == 2
            with pytest.raises(TargetRejected, match="CronJob is not supported"):
                await target.apply(
                    {
                        "apiVersion": "batch/v1",
                        "kind": "CronJob",
                        "metadata": meta("nightly"),
                        "spec": {},
                    }
                )
            assert await target.delete(ref) is True
            assert await target.get(ref) is None
            assert await target.delete(ref) is False
        finally:
            await target.aclose()

    asyncio.run(scenario())


def test_a_hook_job_deleted_and_recreated_runs_again(env: Env) -> None:
    ref = ObjectRef(group="batch", kind="Job", namespace="kinds", name="hook")

    async def scenario() -> None:
        target = env.make()
        try:
            await target.apply(job("hook", "echo ran >> /proc/1/fd/1", 0))
            first = await until(target, ref, lambda o: condition(o) == "Complete")
            assert await target.delete(ref) is True  # BeforeHookCreation, as the reconciler does
            await target.apply(job("hook", "echo ran >> /proc/1/fd/1", 0))
            second = await until(target, ref, lambda o: condition(o) == "Complete")
            assert second["metadata"]["uid"] != first["metadata"]["uid"]
            logs = await env.podman.run("logs", cname(env, "hook-0"))
            assert logs.stdout.split() == ["ran"]  # a new container, not the old one's result
        finally:
            await target.aclose()

    asyncio.run(scenario())


def test_init_containers_fill_an_empty_dir_before_the_app_starts(env: Env) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta("boot"),
        "spec": {
            "volumes": [{"name": "work", "emptyDir": {}}],
            "initContainers": [
                {
                    "name": "first",
                    "image": BUSYBOX,
                    "command": ["sh", "-c", "echo one > /w/log"],
                    "volumeMounts": [{"name": "work", "mountPath": "/w"}],
                },
                {
                    "name": "second",
                    "image": BUSYBOX,
                    "command": ["sh", "-c", "echo two >> /w/log"],
                    "volumeMounts": [{"name": "work", "mountPath": "/w"}],
                },
            ],
            "containers": [
                {
                    "name": "app",
                    "image": BUSYBOX,
                    "command": ["sleep", "1000"],
                    "volumeMounts": [{"name": "work", "mountPath": "/w"}],
                }
            ],
        },
    }
    failing = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta("stuck"),
        "spec": {
            "initContainers": [{"name": "no", "image": BUSYBOX, "command": ["false"]}],
            "containers": [{"name": "app", "image": BUSYBOX, "command": ["sleep", "1000"]}],
        },
    }
    ref = ObjectRef(group="", kind="Pod", namespace="kinds", name="boot")
    stuck = ObjectRef(group="", kind="Pod", namespace="kinds", name="stuck")

    async def scenario() -> None:
        target = env.make()
        try:
            await target.apply(pod)
            await target.apply(failing)
            await until(target, ref, lambda o: o["status"]["phase"] == "Running")
            out = await env.podman.run("exec", cname(env, "boot"), "cat", "/w/log")
            assert out.stdout.split() == ["one", "two"]
            live = await until(
                target, stuck, lambda o: "Init:Error" in o["status"].get("reason", "")
            )
            assert live["status"]["phase"] == "Pending"  # the app container never started
            listed = await env.podman.run(
                "ps",
                "-a",
                "--format",
                "{{.Names}}",
                "--filter",
                f"label=conveyor.dev/target={env.name}",
            )
            # boot's init containers are gone; stuck never got its app container (its init
            # container may be mid-retry right now)
            assert [n for n in listed.stdout.split() if "--init-" not in n] == [cname(env, "boot")]
            assert not [n for n in listed.stdout.split() if n.startswith(cname(env, "boot--init"))]
        finally:
            await target.aclose()

    asyncio.run(scenario())


def test_a_pod_with_a_sidecar_shares_network_and_volumes(env: Env) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta("duo"),
        "spec": {
            "volumes": [{"name": "shared", "emptyDir": {}}],
            "containers": [
                {
                    "name": "web",
                    "image": BUSYBOX,
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "readinessProbe": {
                        "httpGet": {"path": "/", "port": "http"},
                        "periodSeconds": 1,
                    },
                },
                {
                    "name": "helper",
                    "image": BUSYBOX,
                    "command": ["sh", "-c"],
                    "args": [
                        "until wget -q -O /s/page http://127.0.0.1:8080/; do sleep 0.1; done;"
                        " exec sleep 1000"
                    ],
                    "volumeMounts": [{"name": "shared", "mountPath": "/s"}],
                },
            ],
        },
    }
    ref = ObjectRef(group="", kind="Pod", namespace="kinds", name="duo")

    def ready(o: dict[str, Any]) -> bool:
        conditions = o["status"].get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    async def scenario() -> None:
        target = env.make()
        try:
            await target.apply(pod)
            await until(target, ref, ready)
            # the helper reached the web container on 127.0.0.1: one network namespace
            out = await env.podman.run("exec", cname(env, "duo--helper"), "cat", "/s/page")
            assert out.stdout.strip() == "v1"
            await env.podman.run("kill", cname(env, "duo--helper"))
            await until(target, ref, lambda o: not ready(o), timeout=10)
            await until(target, ref, ready)  # the sidecar was restarted
            assert await target.delete(ref) is True
            await target.aclose()
            listed = await env.podman.run(
                "ps",
                "-a",
                "--format",
                "{{.Names}}",
                "--filter",
                f"label=conveyor.dev/target={env.name}",
            )
            assert listed.stdout.split() == []  # the sidecar went with its pod
        finally:
            await target.aclose()

    asyncio.run(scenario())
