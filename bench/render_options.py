"""Render time of Jsonnet directories and kustomize overlays (issue 14), cached and not.

Run with `.venv/bin/python bench/render_options.py [--files 50] [--runs 5]`. Builds, in
a scratch directory: a directory of `--files` Jsonnet files (each imports a shared
library and emits a Deployment and a Service) and, as the peer, the same objects as
plain YAML files; a kustomization rendered with every option of the Application's
`kustomize` block set (but apiVersions/kubeVersion, which are refused) and, as the peer,
the same kustomization without options. Prints the median of `--runs` uncached renders
(a fresh RenderCache each time: the Jsonnet worker process, or kustomize plus the
overlay) and of 1,000 cached renders, and each uncached time as a ratio to its peer's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conveyor.reconcile.appmodel import (
    DirectorySpec,
    JsonnetSpec,
    JsonnetVar,
    KustomizeReplica,
    KustomizeSpec,
    Source,
    SourceKind,
)
from conveyor.reconcile.render import RenderCache

LIB = """{
  deployment(name, image, replicas):: {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name: name},
    spec: {
      replicas: replicas, selector: {matchLabels: {app: name}},
      template: {metadata: {labels: {app: name}},
                 spec: {containers: [{name: 'main', image: image}]}},
    },
  },
  service(name):: {apiVersion: 'v1', kind: 'Service', metadata: {name: name},
                   spec: {selector: {app: name}, ports: [{port: 80}]}},
}
"""


def _objects(name: str) -> list[dict[str, object]]:
    app = {"app": name}
    pod = {"metadata": {"labels": app}, "spec": {"containers": [{"name": "main", "image": "w:1"}]}}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": app}, "template": pod},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": app, "ports": [{"port": 80}]},
        },
    ]


def build(root: Path, files: int) -> None:
    (root / "jsonnet").mkdir(parents=True)
    (root / "yaml").mkdir()
    (root / "jsonnet" / "k.libsonnet").write_text(LIB)
    for i in range(files):
        name = f"svc-{i:03d}"
        (root / "jsonnet" / f"{name}.jsonnet").write_text(
            "local k = import 'k.libsonnet';\n"
            f"[k.deployment('{name}', std.extVar('image'), 1), k.service('{name}')]\n"
        )
        (root / "yaml" / f"{name}.yaml").write_text(yaml.safe_dump_all(_objects(name)))
    (root / "kust" / "components" / "extra").mkdir(parents=True)
    resources = [f"svc-{i:03d}.yaml" for i in range(files)]
    for name in resources:
        (root / "kust" / name).write_text((root / "yaml" / name).read_text())
    (root / "kust" / "kustomization.yaml").write_text(yaml.safe_dump({"resources": resources}))
    (root / "kust" / "components" / "extra" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
        "commonAnnotations: {extra: 'yes'}\n"
    )


EVERY_OPTION = KustomizeSpec(
    name_prefix="p-",
    name_suffix="-s",
    namespace="bench",
    images=("w:2",),
    common_labels=(("team", "bench"),),
    common_annotations=(("owner", "bench"),),
    force_common_labels=True,
    force_common_annotations=True,
    replicas=(KustomizeReplica(name="svc-000", count=3),),
    patches=json.dumps(
        [
            {
                "target": {"kind": "Service"},
                "patch": "- op: add\n  path: /spec/type\n  value: NodePort\n",
            }
        ]
    ),
    components=("components/extra",),
    ignore_missing_components=True,
)
SOURCES = {
    "jsonnet directory": Source(
        repo_url="r",
        path="jsonnet",
        directory=DirectorySpec(
            jsonnet=JsonnetSpec(ext_vars=(JsonnetVar(name="image", value="w:1"),))
        ),
    ),
    "  peer: YAML directory": Source(repo_url="r", path="yaml"),
    "kustomize, every option": Source(
        repo_url="r", path="kust", kind=SourceKind.KUSTOMIZE, kustomize=EVERY_OPTION
    ),
    "  peer: kustomize, no option": Source(repo_url="r", path="kust", kind=SourceKind.KUSTOMIZE),
}


async def measure(source: Source, root: Path, runs: int) -> tuple[float, float, int]:
    uncached = []
    for _ in range(runs):
        started = time.perf_counter()
        rendered = await RenderCache().render(source, root=root, key="k")
        uncached.append(time.perf_counter() - started)
    cache = RenderCache()
    await cache.render(source, root=root, key="k")
    started = time.perf_counter()
    for _ in range(1000):
        await cache.render(source, root=root, key="k")
    cached = (time.perf_counter() - started) / 1000
    return statistics.median(uncached), cached, len(rendered.manifests)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        build(root, args.files)
        print(f"{'source':32} {'objects':>7} {'uncached ms':>12} {'cached µs':>10}")
        peer = 0.0
        for label, source in SOURCES.items():
            uncached, cached, count = asyncio.run(measure(source, root, args.runs))
            ratio = f"  (x{peer / uncached:.1f} of the peer)" if label.startswith("  peer") else ""
            peer = uncached
            print(f"{label:32} {count:7d} {uncached * 1e3:12.1f} {cached * 1e6:10.1f}{ratio}")


if __name__ == "__main__":
    main()
