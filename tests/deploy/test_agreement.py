"""The plain manifests (deploy/kubernetes, built by the real `kubectl kustomize`) and the Helm
chart produce the same objects for the default values: same kinds and names, and the same
content, so neither install drifts from the other."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.deploy.rendering import (
    MANIFESTS,
    default_values,
    key,
    kustomize,
    render_chart,
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


def test_runner_pool_component_matches_the_chart_option(tmp_path: Path) -> None:
    """An overlay of base + component equals the chart with `runners.podPool.rbac: true`."""
    overlay = tmp_path / "overlay"
    shutil.copytree(MANIFESTS, overlay / "base")
    (overlay / "kustomization.yaml").write_text(
        "resources: [base]\ncomponents: [base/components/runner-pool-rbac]\n"
    )
    values = default_values()
    values["runners"] = {"podPool": {"rbac": True}}
    chart = by_key(render_chart(values))
    plain = by_key(kustomize(overlay))
    assert sorted(plain) == sorted(chart), HINT
    assert [k for k in chart if chart[k] != plain[k]] == [], HINT
    assert ("v1", "ServiceAccount", "conveyor", "conveyor-runner-pool") in chart
