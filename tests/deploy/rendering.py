"""Rendering Conveyor's own install (deploy/) offline: the Helm chart through Conveyor's Helm
binding (`conveyor.clients.helm`, Helm's Go library in-process), the plain manifests through
the real `kubectl kustomize`, and every object checked against the Kubernetes API's OpenAPI
schemas that the `kubernetes-validate` package ships, in strict mode (an unknown field fails).

Used by the tests in this directory and by `regenerate` (which writes deploy/kubernetes/ from
the chart). Nothing here talks to a cluster: none runs on these machines.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

from conveyor.clients import helm

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "conveyor"
MANIFESTS = ROOT / "deploy" / "kubernetes"
RELEASE = "conveyor"
NAMESPACE = "conveyor"
#: The plain manifests' `--apps`: a name that never resolves (RFC 2606), to be patched.
PLACEHOLDER_APPS = "https://git.example.invalid/config.git"
#: The newest Kubernetes API schemas kubernetes-validate ships.
KUBE_VERSION = kubernetes_validate.utils.latest_version()


def chart_templates(values: dict[str, Any]) -> dict[str, str]:
    """Template path (`templates/x.yaml`) → rendered text, release `conveyor` in `conveyor`."""
    output = helm.render(
        CHART,
        values,
        release=RELEASE,
        namespace=NAMESPACE,
        kube_version=f"v{KUBE_VERSION}",
    )
    return {path.removeprefix(f"{CHART.name}/"): text for path, text in output.templates}


def default_values(**extra: Any) -> dict[str, Any]:
    """The chart's defaults plus the one required value (`reconciler.apps`) and `extra`
    reconciler values."""
    return {"reconciler": {"apps": PLACEHOLDER_APPS, **extra}}


def objects(text: str) -> list[dict[str, Any]]:
    """The non-empty YAML documents of `text`."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


def render_chart(values: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object the chart renders for `values`."""
    return [obj for text in chart_templates(values).values() for obj in objects(text)]


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize DIRECTORY`'s objects."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise RuntimeError("kubectl is missing: `make install` installs it (kustomize)")
    done = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl kustomize {directory} failed: {done.stderr.strip()}")
    return objects(done.stdout)


def schema_problems(obj: dict[str, Any]) -> str:
    """What the API schema of `obj`'s kind refuses in it (strict: unknown fields too); ""
    when it is valid. A kind without a schema is a problem, not a pass."""
    where = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    try:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(part) for part in exc.path)
        return f"{where}: {path}: {exc.message}"
    except kubernetes_validate.SchemaNotFoundError as exc:
        return f"{where}: {exc.message}"
    return ""


def key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace, name): what identifies an object in a cluster."""
    meta = obj["metadata"]
    return (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])


def pod_specs(items: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(workload name, pod spec) of every workload in `items`."""
    for obj in items:
        template = obj.get("spec", {}).get("template")
        if template is not None:
            yield obj["metadata"]["name"], template["spec"]


def rbac_rules(items: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(Kind/namespace/name, rule) of every rule of every Role and ClusterRole."""
    for obj in items:
        if obj["kind"] in ("Role", "ClusterRole"):
            meta = obj["metadata"]
            label = f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"
            for rule in obj.get("rules") or ():
                yield label, rule
