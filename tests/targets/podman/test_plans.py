"""Pure parts of the Podman target: rollout steps, validation, run plans, status, quantities."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from conveyor.targets.podman import names, quantity
from conveyor.targets.podman.probes import ProbeSpec, ProbeState, ReplicaHealth
from conveyor.targets.podman.rollout import View, plan_deployment, plan_statefulset
from conveyor.targets.podman.runplan import plan_container
from conveyor.targets.podman.services import allocated_node_port, exposed_ports, resolve_port
from conveyor.targets.podman.spec import PodContext, SpecError, decoded, expand
from conveyor.targets.podman.status import PodView, deployment
from conveyor.targets.podman.validate import validate

LIMITS = frozenset({"cpu", "memory"})


def views(spec: str) -> list[View]:
    """`"a1r b0n"`: name a/b, slot digit, r=ready n=not; hash is the name's letter."""
    return [
        View(name=f"{t[0]}{t[1]}", spec_hash=t[0], slot=int(t[1]), ready=t[2] == "r")
        for t in spec.split()
    ]


@pytest.mark.parametrize(
    ("spec", "live", "create", "remove"),
    [
        # 2 replicas, default 25%/25% -> surge 1, unavailable 0: one new at a time
        ({"replicas": 2}, "o0r o1r", (0,), ()),
        ({"replicas": 2}, "o0r o1r n0n", (), ()),  # wait for the new one to be ready
        ({"replicas": 2}, "o0r o1r n0r", (1,), ("o1",)),  # o1 leaves, n1 starts
        ({"replicas": 2}, "o0r n0r n1r", (), ("o0",)),
        ({"replicas": 2}, "n0r n1r", (), ()),
        ({"replicas": 2}, "o0n o1r", (0, 1), ("o0",)),  # unready old ones may go at once
        # maxUnavailable 1, maxSurge 0: remove first, then create
        (
            {"replicas": 2, "strategy": {"rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}},
            "o0r o1r",
            (0,),
            ("o1",),
        ),
        (
            {"replicas": 3, "strategy": {"rollingUpdate": {"maxSurge": "100%"}}},
            "o0r o1r o2r",
            (0, 1, 2),
            (),
        ),
        ({"replicas": 2, "strategy": {"type": "Recreate"}}, "o0r o1r", (), ("o0", "o1")),
        ({"replicas": 2, "strategy": {"type": "Recreate"}}, "", (0, 1), ()),
        ({"replicas": 1}, "n0r n1r", (), ("n1",)),  # scale down
        ({"replicas": 3}, "n1r", (0, 2), ()),  # self-heal: missing slots come back
    ],
)
def test_deployment_steps(
    spec: dict[str, Any], live: str, create: tuple[int, ...], remove: tuple[str, ...]
) -> None:
    step = plan_deployment(spec, "n", views(live) if live else [])
    assert (step.create, tuple(sorted(step.remove))) == (create, tuple(sorted(remove)))


@pytest.mark.parametrize(
    ("spec", "live", "create", "remove"),
    [
        ({"replicas": 3}, "", (0,), ()),
        ({"replicas": 3}, "n0n", (), ()),  # OrderedReady: wait for ordinal 0
        ({"replicas": 3}, "n0r", (1,), ()),
        ({"replicas": 3, "podManagementPolicy": "Parallel"}, "n0n", (1, 2), ()),
        ({"replicas": 2}, "o0r o1r", (), ("o1",)),  # update from the highest ordinal down
        ({"replicas": 2}, "o0r n1r", (), ("o0",)),
        ({"replicas": 1}, "n0r n1r n2r", (), ("n2",)),
    ],
)
def test_statefulset_steps(
    spec: dict[str, Any], live: str, create: tuple[int, ...], remove: tuple[str, ...]
) -> None:
    step = plan_statefulset(spec, "n", views(live) if live else [])
    assert (step.create, step.remove) == (create, remove)


def pod(containers: list[dict[str, Any]] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "d"},
        "spec": {"containers": containers or [{"name": "c", "image": "img"}], **extra},
    }


@pytest.mark.parametrize(
    ("obj", "path"),
    [
        ({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}}, "kind"),
        ({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "r"}}, "kind"),
        (
            pod([{"name": "a", "image": "i"}, {"name": "b", "image": "i", "livenessProbe": {}}]),
            "spec.containers[1].livenessProbe",
        ),
        (pod(ephemeralContainers=[]), "spec.ephemeralContainers"),
        (
            pod(initContainers=[{"name": "i", "image": "i", "readinessProbe": {"exec": {}}}]),
            "spec.initContainers[0].readinessProbe",
        ),
        (pod([{"name": "c", "image": "i", "lifecycle": {}}]), "spec.containers[0].lifecycle"),
        (
            pod([{"name": "c", "image": "i", "resources": {"limits": {"nvidia.com/gpu": 1}}}]),
            "spec.containers[0].resources.limits.nvidia.com/gpu",
        ),
        (
            pod([{"name": "c", "image": "i", "readinessProbe": {"grpc": {"port": 1}}}]),
            "spec.containers[0].readinessProbe",
        ),
        (
            pod(
                [
                    {
                        "name": "c",
                        "image": "i",
                        "env": [
                            {"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
                        ],
                    }
                ]
            ),
            "spec.containers[0].env[0].valueFrom.fieldRef",
        ),
        (pod(volumes=[{"name": "h", "hostPath": {"path": "/"}}]), "spec.volumes[0].hostPath"),
        (
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "s"},
                "spec": {"type": "ExternalName"},
            },
            "spec.type",
        ),
        (
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "s"},
                "spec": {"sessionAffinity": "ClientIP"},
            },
            "spec.sessionAffinity",
        ),
        (
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "s"},
                "spec": {"externalIPs": ["1.2.3.4"]},
            },
            "spec.externalIPs",
        ),
        (
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "d"},
                "spec": {
                    "selector": {"matchLabels": {"app": "x"}},
                    "template": {
                        "metadata": {"labels": {"app": "y"}},
                        "spec": {"containers": [{"name": "c", "image": "i"}]},
                    },
                },
            },
            "spec.selector",
        ),
    ],
)
def test_unsupported_kinds_and_fields_are_rejected_with_their_path(
    obj: dict[str, Any], path: str
) -> None:
    with pytest.raises(SpecError) as caught:
        validate(obj, host_limits=LIMITS, previous=None)
    assert caught.value.path == path


def test_limits_the_host_cannot_enforce_are_rejected() -> None:
    obj = pod([{"name": "c", "image": "i", "resources": {"limits": {"memory": "64Mi"}}}])
    validate(obj, host_limits=LIMITS, previous=None)
    with pytest.raises(SpecError, match="cgroups do not allow"):
        validate(obj, host_limits=frozenset({"cpu"}), previous=None)


def test_job_template_is_immutable() -> None:
    def job(image: str) -> dict[str, Any]:
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "j"},
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "c", "image": image}],
                    }
                }
            },
        }

    validate(job("a"), host_limits=LIMITS, previous=job("a")["spec"] and job("a"))
    with pytest.raises(SpecError, match="immutable"):
        validate(job("b"), host_limits=LIMITS, previous=job("a"))


STORE: dict[tuple[str, str], dict[str, bytes]] = {
    ("ConfigMap", "cfg"): {"mode": b"prod", "app.conf": b"x=1"},
    ("Secret", "db"): {"password": b"s3cr3t"},
}
CTX = PodContext(
    target="local",
    namespace="demo",
    pod="web-abc-0",
    network="conveyor-demo",
    aliases=("web-abc-0", "web"),
    labels={"app": "web"},
    claims={},
)


def test_run_plan_maps_the_container_spec_to_podman_flags() -> None:
    spec = {
        "securityContext": {"runAsUser": 1000},
        "volumes": [
            {
                "name": "conf",
                "configMap": {
                    "name": "cfg",
                    "items": [{"key": "app.conf", "path": "etc/app.conf", "mode": 0o600}],
                },
            },
            {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "scratch", "emptyDir": {}},
        ],
        "containers": [
            {
                "name": "web",
                "image": "img:1",
                "command": ["sh", "-c"],
                "args": ["echo $(MODE)"],
                "workingDir": "/srv",
                "imagePullPolicy": "Always",
                "env": [
                    {
                        "name": "MODE",
                        "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "mode"}},
                    },
                    {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                ],
                "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}},
                "volumeMounts": [
                    {"name": "conf", "mountPath": "/etc/conf"},
                    {"name": "data", "mountPath": "/data"},
                    {"name": "scratch", "mountPath": "/tmp/s"},
                ],
            }
        ],
    }
    plan = plan_container(spec, CTX, lambda kind, name: STORE.get((kind, name)))
    flags = " ".join(plan.flags)
    assert plan.env == (("MODE", "prod"), ("NS", "demo"))
    assert plan.command == ("echo prod",)
    for part in (
        "--network conveyor-demo",
        "--network-alias web",
        "--user 1000",
        "--workdir /srv",
        "--pull always",
        "--cpus 0.5",
        "--memory 67108864",
        "-v {run}/conf:/etc/conf:ro",
        "-v conveyor-demo_data:/data:rw",
        "-v {run}/scratch:/tmp/s:rw",
        '--entrypoint ["sh", "-c"]',
        "--label app=web",
    ):
        assert part in flags
    files = {f.path: (f.data, f.mode) for f in plan.files}
    assert files["conf/etc/app.conf"] == (b"x=1", 0o600)


def test_missing_references_are_create_container_config_errors() -> None:
    spec = {
        "containers": [{"name": "c", "image": "i", "envFrom": [{"secretRef": {"name": "nope"}}]}]
    }
    with pytest.raises(SpecError, match='secret "nope" not found'):
        plan_container(spec, CTX, lambda kind, name: STORE.get((kind, name)))
    optional = {
        "containers": [
            {
                "name": "c",
                "image": "i",
                "envFrom": [{"secretRef": {"name": "nope", "optional": True}}],
            }
        ]
    }
    assert plan_container(optional, CTX, lambda k, n: None).env == ()


@pytest.mark.parametrize(
    ("text", "env", "out"),
    [("$(A)-$(B)", {"A": "1"}, "1-$(B)"), ("$$(A)", {"A": "1"}, "$(A)"), ("plain", {}, "plain")],
)
def test_dependent_env_expansion(text: str, env: dict[str, str], out: str) -> None:
    assert expand(text, env) == out


def test_secret_data_is_base64_and_string_data_plain() -> None:
    secret = {
        "kind": "Secret",
        "data": {"a": base64.b64encode(b"\x00\x01").decode()},
        "stringData": {"b": "two"},
    }
    assert decoded(secret) == {"a": b"\x00\x01", "b": b"two"}


@pytest.mark.parametrize(
    ("value", "cpus", "memory"),
    [("500m", "0.5", "0"), ("2", "2", "2"), ("1Gi", "1.07374e+09", "1073741824")],
)
def test_quantities(value: str, cpus: str, memory: str) -> None:
    assert quantity.cpus(value) == cpus
    assert quantity.memory_bytes(value) == memory


def test_probe_thresholds_follow_kubernetes() -> None:
    spec = ProbeSpec.of(
        {
            "tcpSocket": {"port": "http"},
            "periodSeconds": 5,
            "failureThreshold": 2,
            "successThreshold": 2,
        },
        {"http": 8080},
    )
    assert spec.port == 8080
    state = ProbeState(spec=spec, ok=False)
    state.record(True, 0.0)
    assert not state.ok and state.next_at == 0.25  # fast until first ready
    state.record(True, 1.0)
    assert state.ok and state.next_at == 6.0
    state.record(False, 6.0)
    assert state.ok  # one failure is below the threshold
    state.record(False, 11.0)
    assert not state.ok


def view(name: str, h: str, ready: bool) -> PodView:
    return PodView(
        name=name,
        spec_hash=h,
        state="running",
        exit_code=0,
        ready=ready,
        started_at=0,
        restarts=0,
        image="i",
        container="c",
        ip="10.0.0.1",
    )


@pytest.mark.parametrize(
    ("pods", "now", "status", "reason"),
    [
        ([view("a", "n", True), view("b", "n", True)], 5.0, "True", "NewReplicaSetAvailable"),
        ([view("a", "o", True), view("b", "n", False)], 5.0, "True", "ReplicaSetUpdated"),
        ([view("a", "o", True), view("b", "n", False)], 20.0, "False", "ProgressDeadlineExceeded"),
    ],
)
def test_deployment_progressing_condition(
    pods: list[PodView], now: float, status: str, reason: str
) -> None:
    spec = {"replicas": 2 if pods[0].spec_hash == "n" else 1, "progressDeadlineSeconds": 10}
    out = deployment(
        spec, generation=2, current="n", pods=pods, progress_at=0.0, failure="", now=now
    )
    progressing = next(c for c in out["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == (status, reason)


def test_exposed_ports_per_service_type() -> None:
    def svc(kind: str, **port: Any) -> dict[str, Any]:
        return {
            "metadata": {"name": "s", "namespace": "d"},
            "spec": {"type": kind, "ports": [{"port": 80, "targetPort": "http", **port}]},
        }

    assert exposed_ports(svc("NodePort", nodePort=30080)) == [(30080, "http")]
    assert exposed_ports(svc("LoadBalancer")) == [(80, "http")]
    assert exposed_ports(svc("ClusterIP")) == []
    allocated = exposed_ports(svc("NodePort"))[0][0]
    assert allocated == allocated_node_port({"name": "s", "namespace": "d"}, {"port": 80})
    assert 30000 <= allocated < 32768
    labels = {"conveyor.dev/container": '{"ports": [{"name": "http", "containerPort": 8080}]}'}
    assert resolve_port("http", labels) == 8080
    assert resolve_port(9090, labels) == 9090


@pytest.mark.parametrize(
    ("target", "container", "network", "volume"),
    [
        # the default target keeps the names it had before scoping (its volumes' data)
        ("local", "demo_web-abc-0", "conveyor-demo", "conveyor-demo_data"),
        ("dev", "dev_demo_web-abc-0", "conveyor-dev_demo", "conveyor-dev_demo_data"),
        ("t-1.b", "t-1.b_demo_web-abc-0", "conveyor-t-1.b_demo", "conveyor-t-1.b_demo_data"),
    ],
)
def test_names_are_scoped_by_target(target: str, container: str, network: str, volume: str) -> None:
    assert names.container_name(target, "demo", "web-abc-0") == container
    assert names.network_name(target, "demo") == network
    assert names.volume_name(target, "demo", "data") == volume


@pytest.mark.parametrize("target", ["a_b", "a b", "-x", "Ünï", ""])
def test_scopes_of_unusual_target_names_are_valid_and_distinct(target: str) -> None:
    scope = names.scope(target)
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9.-]*_", scope), scope
    assert scope not in {names.scope("a-b"), names.scope("x"), names.scope("local")}
    assert scope == names.scope(target)  # stable across restarts


def test_slots_still_being_removed_are_not_reused() -> None:
    # rolling back to a template whose old replica n0 is still draining: use slot 1
    step = plan_deployment({"replicas": 2}, "n", views("o0r o1r"), frozenset({0}))
    assert step.create == (1,)


def test_startup_probe_gates_readiness_and_liveness() -> None:
    container = {
        "startupProbe": {"tcpSocket": {"port": 1}, "failureThreshold": 2, "periodSeconds": 1},
        "livenessProbe": {"tcpSocket": {"port": 1}, "failureThreshold": 1},
    }
    health = ReplicaHealth.of(container, 0.0, ready=False)
    assert not health.started and not health.ready and not health.needs_restart
    assert health.startup is not None and health.liveness is not None
    health.startup.record(False, 0.0)
    assert not health.needs_restart  # one failure of two allowed
    health.startup.record(False, 1.0)
    assert health.needs_restart  # never started: restart, as the kubelet does
    fresh = ReplicaHealth.of(container, 0.0, ready=False)
    assert fresh.startup is not None and fresh.liveness is not None
    fresh.startup.record(True, 0.0)
    assert fresh.started and fresh.ready  # no readiness probe: ready once started
    fresh.liveness.record(False, 1.0)
    assert fresh.needs_restart
