"""Small manifest builders for the Podman target's tests and bench."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from conveyor.targets.base import OWNER_LABEL
from tests.gitutil import git

WEB = "localhost/conveyor-test/web"


def readiness(period: int = 1, failure: int = 3, path: str = "/") -> dict[str, Any]:
    """Kubernetes' default threshold: one probe slowed by a busy CI host is not a failure."""
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "failureThreshold": failure,
        "timeoutSeconds": 2,
    }


def deployment(
    name: str,
    *,
    image: str = f"{WEB}:v1",
    replicas: int = 2,
    app: str = "demo",
    probe: dict[str, Any] | None = None,
    deadline: int = 600,
    extra_container: dict[str, Any] | None = None,
    pod_spec: dict[str, Any] | None = None,
    strategy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "web",
        "image": image,
        "ports": [{"name": "http", "containerPort": 8080}],
        "readinessProbe": probe if probe is not None else readiness(),
        **(extra_container or {}),
    }
    spec: dict[str, Any] = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "progressDeadlineSeconds": deadline,
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [container], **(pod_spec or {})},
        },
    }
    if strategy is not None:
        spec["strategy"] = strategy
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "demo", "labels": {OWNER_LABEL: app}},
        "spec": spec,
    }


def service(name: str, node_port: int, *, app: str = "demo") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "demo", "labels": {OWNER_LABEL: app}},
        "spec": {
            "type": "NodePort",
            "selector": {"app": name},
            "ports": [{"port": 80, "targetPort": "http", "nodePort": node_port}],
        },
    }


def config_map(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "demo", "labels": {OWNER_LABEL: "demo"}},
        "data": data,
    }


def secret(name: str, data: dict[str, str]) -> dict[str, Any]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": name, "namespace": "demo", "labels": {OWNER_LABEL: "demo"}},
        "data": encoded,
    }


def bare(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as it is written in Git: no namespace, no labels."""
    del obj["metadata"]["namespace"]  # the Application's destination sets it
    obj["metadata"]["labels"] = {}
    return obj


def commit_objects(work: Path, objects: list[dict[str, Any]], message: str) -> None:
    """Write `objects` to `app/all.yaml` of the work clone, commit and push to main."""
    (work / "app").mkdir(exist_ok=True)
    (work / "app" / "all.yaml").write_text(yaml.safe_dump_all(objects))
    git(work, "add", "-A")
    git(work, "commit", "-qm", message)
    git(work, "push", "-q", "origin", "HEAD:main")
