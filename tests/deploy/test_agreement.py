"""The plain manifests (deploy/kubernetes, built by the real `kubectl kustomize`) and the Helm
chart produce the same objects for the default values: same kinds and names, and the same
content, so neither install drifts from the other."""

from __future__ import annotations

from typing import Any

from tests.deploy.rendering import (
    MANIFESTS,
    ROOT,
    default_values,
    key,
    kustomize,
    pod_specs,
    render_chart,
    schema_problems,
)

HINT = "run `.venv/bin/python -m tests.deploy.regenerate` after changing the chart"


def by_key(items: list[dict[str, Any]]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    keyed = {key(obj): obj for obj in items}
    assert len(keyed) == len(items), "two objects share apiVersion, kind, namespace and name"
    return keyed


def test_chart_and_manifests_produce_the_same_kinds_and_names() -> None:
    chart = by_key(render_chart(default_values()))
    plain = by_key(kustomize(MANIFESTS))
    assert sorted(plain) == sorted(chart), HINT
    kinds = {k[1] for k in chart}
    assert {"Deployment", "Service", "Role", "RoleBinding", "PodDisruptionBudget"} <= kinds


def test_chart_and_manifests_produce_the_same_objects() -> None:
    chart = by_key(render_chart(default_values()))
    plain = by_key(kustomize(MANIFESTS))
    different = [k for k in chart if chart[k] != plain.get(k)]
    assert different == [], HINT


def test_the_example_overlay_sets_the_apps_repository_and_the_image() -> None:
    """deploy/overlay-example (the README's way to use the plain manifests) builds, stays
    schema-valid, and replaces the placeholder `--apps` (its `test` op fails the build if the
    argument moved) and every image."""
    built = kustomize(ROOT / "deploy" / "overlay-example")
    assert [p for p in map(schema_problems, built) if p] == []
    specs = dict(pod_specs(built))
    args = specs["conveyor-reconciler"]["containers"][0]["args"]
    assert "--apps=https://git.example.com/platform/config.git" in args
    images = {c["image"] for spec in specs.values() for c in spec["containers"]}
    assert images == {"registry.example.com/conveyor:0.1.0"}
