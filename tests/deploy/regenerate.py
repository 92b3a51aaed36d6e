"""Write deploy/kubernetes/ (the plain manifests) from the Helm chart's default values:
`.venv/bin/python -m tests.deploy.regenerate`. The chart is the one source; test_agreement
fails when the manifests were not regenerated after a chart change.
"""

from __future__ import annotations

from tests.deploy.rendering import (
    CHART,
    MANIFESTS,
    PLACEHOLDER_APPS,
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
    print(f"wrote {MANIFESTS} from {CHART}")


if __name__ == "__main__":
    main()
