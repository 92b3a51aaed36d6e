"""The two options that start more of Conveyor in the cluster: `reconciler.replicas` above 1
runs the replicas as Lease shards (`conveyor reconcile --shard-lease`), and
`runners.podPool.enabled` starts the server with the Kubernetes runner pool, its config file
rendered from the values and read back by the pool's own parser (`ci.kubepool_config`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conveyor.ci.kubepool_config import load_config
from tests.deploy.rendering import default_values, pod_specs, render_chart
from tests.deploy.test_workloads import option_names

POOL_CONFIG = "/etc/conveyor/runner-pool/runners.yaml"


def one(items: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in items if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} rendered"
    return found[0]


def container(items: list[dict[str, Any]], workload: str) -> dict[str, Any]:
    spec = dict(pod_specs(items))[workload]
    return dict(spec["containers"][0])


def assert_real_flags(main: dict[str, Any]) -> None:
    command, *flags = main["args"]
    known = option_names(command)
    assert [f for f in flags if f.partition("=")[0] not in known] == []


def test_three_reconciler_replicas_hold_leases_in_the_release_namespace() -> None:
    items = render_chart(default_values(replicas=3))
    assert one(items, "Deployment", "conveyor-reconciler")["spec"]["replicas"] == 3
    main = container(items, "conveyor-reconciler")
    assert "--shard-lease=conveyor" in main["args"]
    assert_real_flags(main)
    pod_name = next(v for v in main["env"] if v["name"] == "POD_NAME")
    assert pod_name["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    pdb = one(items, "PodDisruptionBudget", "conveyor-reconciler")
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] == "reconciler"
    assert one(items, "Role", "conveyor-reconciler-leases")["metadata"]["namespace"] == "conveyor"


def test_one_reconciler_replica_runs_unsharded() -> None:
    main = container(render_chart(default_values()), "conveyor-reconciler")
    assert not any(a.startswith("--shard-lease") for a in main["args"])
    assert "POD_NAME" not in [v["name"] for v in main["env"]]


def pool_values(**pool: Any) -> dict[str, Any]:
    return {**default_values(), "runners": {"podPool": {"enabled": True, **pool}}}


def test_the_pool_on_renders_its_config_the_flag_and_the_token(tmp_path: Path) -> None:
    items = render_chart(pool_values())
    configmap = one(items, "ConfigMap", "conveyor-server-runner-pool")
    main = container(items, "conveyor-server")
    assert f"--runner-pool=kubernetes:{POOL_CONFIG}" in main["args"]
    assert_real_flags(main)
    mount = next(m for m in main["volumeMounts"] if m["name"] == "runner-pool")
    assert f"{mount['mountPath']}/runners.yaml" == POOL_CONFIG
    spec = dict(pod_specs(items))["conveyor-server"]
    volume = next(v for v in spec["volumes"] if v["name"] == "runner-pool")
    assert volume["configMap"]["name"] == "conveyor-server-runner-pool"
    assert spec["automountServiceAccountToken"] is True
    assert one(items, "ServiceAccount", "conveyor-server")["automountServiceAccountToken"] is True
    # the pool's own parser accepts the file, with the chart's defaults filled in
    path = tmp_path / "runners.yaml"
    path.write_text(configmap["data"]["runners.yaml"])
    config = load_config(path)
    assert config.server == "https://conveyor-server.conveyor.svc:8080"
    (template,) = config.templates
    assert (template.name, template.namespace, template.maximum) == ("linux", "conveyor-jobs", 10)
    assert template.image == main["image"]


def test_the_pool_takes_its_templates_server_and_namespaces_from_the_values(
    tmp_path: Path,
) -> None:
    templates = [
        {"name": "linux", "labels": ["linux"], "namespace": "ci", "image": "r.example/c:1"},
        {
            "name": "warm",
            "labels": ["linux", "warm"],
            "namespace": "ci-warm",
            "min": 1,
            "max": 3,
            "scope": "org:acme",
            "startTimeout": 120,
        },
    ]
    items = render_chart(pool_values(server="https://ci.example.com", templates=templates))
    path = tmp_path / "runners.yaml"
    path.write_text(one(items, "ConfigMap", "conveyor-server-runner-pool")["data"]["runners.yaml"])
    config = load_config(path)
    assert config.server == "https://ci.example.com"
    assert [(t.image, t.minimum, t.scope) for t in config.templates] == [
        ("r.example/c:1", 0, ""),
        (container(items, "conveyor-server")["image"], 1, "org:acme"),
    ]
    roles = {
        o["metadata"]["namespace"]
        for o in items
        if o["kind"] in ("Role", "RoleBinding") and o["metadata"]["name"] == "conveyor-runner-pool"
    }
    assert roles == {"ci", "ci-warm"}


def test_the_pool_off_renders_no_config_flag_token_or_role() -> None:
    items = render_chart(default_values())
    main = container(items, "conveyor-server")
    assert not any(a.startswith("--runner-pool") for a in main["args"])
    assert "runner-pool" not in [m["name"] for m in main["volumeMounts"]]
    assert dict(pod_specs(items))["conveyor-server"]["automountServiceAccountToken"] is False
    assert [o["kind"] for o in items if "runner-pool" in o["metadata"]["name"]] == []
