"""The workloads: every container has resources and a hardened securityContext, every one
that serves a port has readiness and liveness probes on it, the commands use only flags the
`conveyor` CLI has, secrets reach the processes through Secret references (never literal
values), and the chart refuses values it cannot honour with a message naming the value."""

from __future__ import annotations

import re
from typing import Any

import click
import helm_python
import pytest

from conveyor.app.cli import cli
from conveyor.clients import helm
from tests.deploy.rendering import (
    CHART,
    MANIFESTS,
    ROOT,
    default_values,
    kustomize,
    pod_specs,
    render_chart,
)

#: Containers that serve nothing to probe (the README says why): the runner agents.
UNPROBED = {"runner"}


def containers(items: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(spec, c) for _, spec in pod_specs(items) for c in spec["containers"]]


@pytest.fixture(scope="module")
def items() -> list[dict[str, Any]]:
    return kustomize(MANIFESTS)


def test_every_container_has_requests_and_limits(items: list[dict[str, Any]]) -> None:
    for _, container in containers(items):
        resources = container["resources"]
        assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}


def test_every_pod_runs_non_root_with_the_runtime_seccomp_profile(
    items: list[dict[str, Any]],
) -> None:
    for spec, container in containers(items):
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] > 0
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
        own = container["securityContext"]
        assert own["allowPrivilegeEscalation"] is False
        assert own["readOnlyRootFilesystem"] is True
        assert own["capabilities"] == {"drop": ["ALL"]}
        assert "add" not in own["capabilities"] and "privileged" not in own


def test_containers_that_serve_have_readiness_and_liveness_on_their_port(
    items: list[dict[str, Any]],
) -> None:
    seen = set()
    for _, container in containers(items):
        seen.add(container["name"])
        if container["name"] in UNPROBED:
            assert "ports" not in container
            continue
        ports = {p["name"] for p in container["ports"]}
        for probe in ("readinessProbe", "livenessProbe"):
            check = container[probe]["httpGet"]
            assert check["path"] == "/healthz" and check["port"] in ports
    assert seen == {"server", "reconciler", "runner"}


def test_the_server_probes_over_https_and_serves_with_the_mounted_certificate(
    items: list[dict[str, Any]],
) -> None:
    server = next(c for _, c in containers(items) if c["name"] == "server")
    assert server["readinessProbe"]["httpGet"]["scheme"] == "HTTPS"
    mounts = {m["mountPath"] for m in server["volumeMounts"]}
    assert "/etc/conveyor/tls" in mounts
    assert "--tls-cert=/etc/conveyor/tls/tls.crt" in server["args"]
    assert "--tls-key=/etc/conveyor/tls/tls.key" in server["args"]


def option_names(command: str) -> set[str]:
    found = cli.get_command(click.Context(cli), command)
    assert found is not None
    return {opt for param in found.params for opt in param.opts}


def test_every_argument_is_a_real_conveyor_flag(items: list[dict[str, Any]]) -> None:
    """No invented flag: each `--x=…` is an option of the `conveyor` subcommand it runs."""
    for _, container in containers(items):
        command, *flags = container["args"]
        known = option_names(command)
        for flag in flags:
            assert flag.partition("=")[0] in known, f"{container['name']}: {flag}"


def test_environment_variables_name_the_ones_conveyor_reads(items: list[dict[str, Any]]) -> None:
    """Each variable set is one Conveyor reads (a rename in the code must fail here)."""
    source = "\n".join(p.read_text() for p in (ROOT / "src" / "conveyor").rglob("*.py"))
    for _, container in containers(items):
        for var in container["env"]:
            if var["name"] in ("HOME", "CONVEYOR_DATABASE"):
                continue  # HOME is the OS's; CONVEYOR_DATABASE is expanded into --database
            assert f'"{var["name"]}"' in source, var["name"]


def test_secrets_come_from_secret_references_only() -> None:
    """Only secretKeyRefs, and the sharded reconciler's pod name and IP from the downward
    API."""
    values = {
        **default_values(replicas=3),
        "server": {"secretKey": {"secretName": "key"}, "webhookSecret": {"secretName": "hook"}},
    }
    for _, container in containers(render_chart(values)):
        for var in container["env"]:
            if var["name"] == "POD_NAME":
                assert var["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
            elif var["name"] == "POD_IP":
                assert var["valueFrom"] == {"fieldRef": {"fieldPath": "status.podIP"}}
            elif var["name"] != "HOME":
                assert set(var) == {"name", "valueFrom"}, var["name"]
                assert "secretKeyRef" in var["valueFrom"], var["name"]


def test_the_server_database_flag_is_expanded_from_its_secret_variable(
    items: list[dict[str, Any]],
) -> None:
    server = next(c for _, c in containers(items) if c["name"] == "server")
    assert "--database=$(CONVEYOR_DATABASE)" in server["args"]
    names = [v["name"] for v in server["env"]]
    # Kubernetes expands $(VAR) only from variables defined earlier in the list
    assert "CONVEYOR_DATABASE" in names


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"reconciler": {}}, "reconciler.apps is required"),
        (
            default_values(config={"targets": [{"name": "a"}], "state": "postgresql://x"}),
            "reconciler.config.state",
        ),
        ({**default_values(), "extra": 1}, "'extra' not allowed"),
        (
            default_values(managedResources=[{"apiGroup": "*", "resources": ["*"]}]),
            "managedResources/0/apiGroup",
        ),
        (
            {**default_values(), "runners": {"podPool": {"templates": [{"name": "x"}]}}},
            "podPool/templates/0",
        ),
    ],
    ids=["apps-missing", "state-in-config", "unknown-key", "wildcard", "pool-template-incomplete"],
)
def test_the_chart_refuses_values_it_cannot_honour(values: dict[str, Any], message: str) -> None:
    with pytest.raises(helm.HelmError, match=re.escape(message)):
        render_chart(values)


@pytest.mark.parametrize(
    "values",
    [
        default_values(),
        {**default_values(replicas=3), "runners": {"podPool": {"enabled": True}}},
    ],
    ids=["defaults", "sharded-with-pool"],
)
def test_helm_lint_finds_nothing_beyond_information(values: dict[str, Any]) -> None:
    """`helm lint --strict` through the SDK (Helm's own lint rules, values schema included)."""
    report = helm_python.lint(CHART, values, strict=True, namespace="conveyor")
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_the_image_runs_as_the_charts_user() -> None:
    text = (ROOT / "deploy" / "Containerfile").read_text()
    values = helm.values_from_yaml((CHART / "values.yaml").read_text())
    user = values["user"]
    assert f"USER {user['uid']}:{user['gid']}" in text
    assert 'ENTRYPOINT ["conveyor"]' in text
