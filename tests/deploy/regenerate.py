"""Write deploy/kubernetes/ (the plain manifests) from the Helm chart's default values:
`.venv/bin/python -m tests.deploy.regenerate`. The chart is the one source; test_agreement
fails when the manifests were not regenerated after a chart change.
"""

from __future__ import annotations

from tests.deploy.rendering import (
    CHART,
    MANIFESTS,
    PLACEHOLDER_APPS,
    RUNNER_POOL_COMPONENT,
    chart_templates,
    default_values,
)

HEADER = (
    "# Generated from deploy/helm/conveyor (default values, release and namespace `conveyor`)\n"
    "# by `python -m tests.deploy.regenerate`: change the chart, then regenerate.\n"
)
BASE = f"""{HEADER}# `--apps` is {PLACEHOLDER_APPS}: patch it in an overlay (see the README).
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
"""
COMPONENT = f"""{HEADER}# The pod-per-job runner pool's RBAC: list it in an overlay's components.
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
  - runner-pool-rbac.yaml
# the pool runs in the server, which then mounts its service account's token
patches:
  - target: {{kind: ServiceAccount, name: conveyor-server}}
    patch: |-
      - {{op: replace, path: /automountServiceAccountToken, value: true}}
  - target: {{kind: Deployment, name: conveyor-server}}
    patch: |-
      - {{op: replace, path: /spec/template/spec/automountServiceAccountToken, value: true}}
"""
POOL = "templates/runner-pool-rbac.yaml"


def main() -> None:
    base = chart_templates(default_values())
    names = []
    for path, text in sorted(base.items()):
        if not text.strip():
            continue
        name = path.removeprefix("templates/")
        (MANIFESTS / name).write_text(HEADER + text.lstrip("\n") + "\n")
        names.append(name)
    (MANIFESTS / "kustomization.yaml").write_text(BASE + "".join(f"  - {n}\n" for n in names))
    values = default_values()
    values["runners"] = {"podPool": {"rbac": True}}
    pool = chart_templates(values)[POOL]
    RUNNER_POOL_COMPONENT.mkdir(parents=True, exist_ok=True)
    (RUNNER_POOL_COMPONENT / "runner-pool-rbac.yaml").write_text(HEADER + pool.lstrip("\n"))
    (RUNNER_POOL_COMPONENT / "kustomization.yaml").write_text(COMPONENT)
    print(f"wrote {MANIFESTS} from {CHART}")


if __name__ == "__main__":
    main()
