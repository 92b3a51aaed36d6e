"""The Application's `kustomize` block, applied by the real kustomize (kubectl kustomize)
through a generated overlay, changes the rendered objects as Argo CD's `kustomize edit`
commands would; what an overlay cannot reproduce is refused with a RenderError."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from conveyor.reconcile import render_kustomize
from conveyor.reconcile.appmodel import KustomizeReplica, KustomizeSpec, Source, SourceKind
from conveyor.reconcile.errors import RenderError
from conveyor.reconcile.render import RenderCache

from .conftest import World

pytestmark = pytest.mark.skipif(
    not (shutil.which("kustomize") or shutil.which("kubectl")), reason="needs kustomize"
)

BASE = {
    "app/kustomization.yaml": """\
        resources: [web.yaml, svc.yaml]
        configMapGenerator:
        - name: settings
          literals: [mode=fast]
        """,
    "app/web.yaml": """\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, labels: {app: web}}
        spec:
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
              - name: main
                image: ghcr.io/acme/web:1.0
                envFrom: [{configMapRef: {name: settings}}]
        """,
    "app/svc.yaml": """\
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec: {selector: {app: web}, ports: [{port: 80}]}
        """,
}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(dedent(text))


def render(root: Path, extra: dict[str, str] | None = None, **options: Any) -> dict[str, Any]:
    """The objects by kind, rendered from BASE (plus `extra` files) with `options`."""
    write(root, {**BASE, **(extra or {})})
    spec = KustomizeSpec(**options)
    source = Source(repo_url="r", path="app", kind=SourceKind.KUSTOMIZE, kustomize=spec)
    rendered = asyncio.run(RenderCache().render(source, root=root, key="k"))
    return {o["kind"]: o for o in rendered.manifests}


def selectors(objs: dict[str, Any]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    web, svc = objs["Deployment"], objs["Service"]
    pod = web["spec"]["template"]["metadata"]["labels"]
    return web["spec"]["selector"]["matchLabels"], pod, svc["spec"]["selector"]


def test_name_suffix_on_every_name_and_on_references_kustomize_rewrites(tmp_path: Path) -> None:
    objs = render(tmp_path, name_suffix="-blue")
    assert objs["Deployment"]["metadata"]["name"] == "web-blue"
    assert objs["Service"]["metadata"]["name"] == "web-blue"
    generated = objs["ConfigMap"]["metadata"]["name"]
    assert generated.startswith("settings-blue-")  # kustomize puts the hash last
    env = objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["envFrom"]
    assert env == [{"configMapRef": {"name": generated}}]


def test_name_prefix_replaces_the_kustomizations_own_as_argo_cd_or_is_refused(
    tmp_path: Path,
) -> None:
    assert render(tmp_path, name_prefix="p-")["Service"]["metadata"]["name"] == "p-web"
    own = {"app/kustomization.yaml": "namePrefix: p-\nresources: [web.yaml, svc.yaml]\n"}
    assert render(tmp_path, own, name_prefix="p-")["Service"]["metadata"]["name"] == "p-web"
    with pytest.raises(RenderError, match="would replace the kustomization's own namePrefix"):
        render(tmp_path, own, name_prefix="q-")


def test_namespace_is_set_on_every_namespaced_object(tmp_path: Path) -> None:
    objs = render(tmp_path, namespace="team-a")
    assert {o["metadata"]["namespace"] for o in objs.values()} == {"team-a"}


def test_images_override_the_tag_and_follow_a_rename_in_the_kustomization(
    tmp_path: Path,
) -> None:
    def image(objs: dict[str, Any]) -> str:
        return str(objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["image"])

    assert image(render(tmp_path, images=("ghcr.io/acme/web:2.0",))) == "ghcr.io/acme/web:2.0"
    renamed = {
        "app/kustomization.yaml": """\
            resources: [web.yaml, svc.yaml]
            images: [{name: ghcr.io/acme/web, newName: mirror.local/web, newTag: "1.5"}]
            """
    }
    # `kustomize edit set image ghcr.io/acme/web:3.0` keeps the entry's newName
    assert image(render(tmp_path, renamed, images=("ghcr.io/acme/web:3.0",))) == (
        "mirror.local/web:3.0"
    )


def test_common_labels_reach_selectors_unless_label_without_selector(tmp_path: Path) -> None:
    objs = render(tmp_path, common_labels=(("team", "pay"),))
    assert objs["Service"]["metadata"]["labels"] == {"team": "pay"}
    assert all(s == {"app": "web", "team": "pay"} for s in selectors(objs))
    objs = render(tmp_path, common_labels=(("team", "pay"),), label_without_selector=True)
    assert objs["Deployment"]["metadata"]["labels"] == {"app": "web", "team": "pay"}
    assert all(s == {"app": "web"} for s in selectors(objs))


def test_force_common_labels_lets_the_application_win_over_the_kustomization(
    tmp_path: Path,
) -> None:
    own = {
        "app/kustomization.yaml": "commonLabels: {team: core}\nresources: [web.yaml, svc.yaml]\n"
    }
    with pytest.raises(RenderError, match="commonLabels team already set") as caught:
        render(tmp_path, own, common_labels=(("team", "pay"),))
    assert (
        caught.value.hint
        == "set kustomize.forceCommonLabels: true to let the Application's value win"
    )
    objs = render(tmp_path, own, common_labels=(("team", "pay"),), force_common_labels=True)
    assert all(s["team"] == "pay" for s in selectors(objs))


def test_common_annotations_and_their_force_flag(tmp_path: Path) -> None:
    objs = render(tmp_path, common_annotations=(("owner", "ops"),))
    assert all(o["metadata"]["annotations"] == {"owner": "ops"} for o in objs.values())
    own = {"app/kustomization.yaml": "commonAnnotations: {owner: dev}\nresources: [web.yaml]\n"}
    with pytest.raises(RenderError, match="forceCommonAnnotations"):
        render(tmp_path, own, common_annotations=(("owner", "ops"),))
    objs = render(
        tmp_path, own, common_annotations=(("owner", "ops"),), force_common_annotations=True
    )
    assert objs["Deployment"]["metadata"]["annotations"] == {"owner": "ops"}


def test_replicas_set_the_named_workload_count(tmp_path: Path) -> None:
    objs = render(tmp_path, name_prefix="x-", replicas=(KustomizeReplica(name="web", count=4),))
    assert objs["Deployment"]["spec"]["replicas"] == 4


def test_a_strategic_merge_and_a_json6902_patch_with_a_target_selector(tmp_path: Path) -> None:
    strategic = {
        "patch": "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
        "spec: {template: {spec: {containers: [{name: main, resources: {limits: {cpu: 500m}}}]}}}\n"
    }
    json6902 = {
        "target": {"kind": "Service", "name": "web"},
        "patch": "- op: replace\n  path: /spec/ports/0/port\n  value: 8080\n",
    }
    from_file = {"path": "patches/replicas.yaml", "target": {"kind": "Deployment"}}
    extra = {"app/patches/replicas.yaml": "- op: replace\n  path: /spec/replicas\n  value: 3\n"}
    objs = render(tmp_path, extra, patches=_json([strategic, json6902, from_file]))
    container = objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"limits": {"cpu": "500m"}}
    assert container["image"] == "ghcr.io/acme/web:1.0"  # merged, not replaced
    assert objs["Service"]["spec"]["ports"] == [{"port": 8080}]
    assert objs["Deployment"]["spec"]["replicas"] == 3


def test_patch_files_must_exist_inside_the_repository(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"patches\[0\].path: app/nope.yaml does not exist"):
        render(tmp_path, patches=_json([{"path": "nope.yaml"}]))
    with pytest.raises(RenderError, match="points outside the repository"):
        render(tmp_path, patches=_json([{"path": "../../../etc/hostname"}]))


COMPONENT = {
    "components/monitoring/kustomization.yaml": """\
        apiVersion: kustomize.config.k8s.io/v1alpha1
        kind: Component
        resources: [monitor.yaml]
        commonAnnotations: {monitored: "yes"}
        """,
    "components/monitoring/monitor.yaml": """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: scrape-config}
        data: {target: web}
        """,
}


def test_a_component_relative_to_the_app_path_adds_its_objects(tmp_path: Path) -> None:
    write(tmp_path, COMPONENT)
    source = Source(
        repo_url="r",
        path="app",
        kind=SourceKind.KUSTOMIZE,
        kustomize=KustomizeSpec(components=("../components/monitoring",)),
    )
    write(tmp_path, BASE)
    rendered = asyncio.run(RenderCache().render(source, root=tmp_path, key="k")).manifests
    assert sorted(o["metadata"]["name"] for o in rendered)[-1] == "web"
    assert "scrape-config" in {o["metadata"]["name"] for o in rendered}
    assert all(o["metadata"]["annotations"] == {"monitored": "yes"} for o in rendered)


def test_a_missing_component_is_an_error_unless_ignore_missing_components(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match=r"components\[0\]: 'gone' does not exist"):
        render(tmp_path, components=("gone",))
    objs = render(tmp_path, components=("gone",), ignore_missing_components=True)
    assert objs["Service"]["metadata"]["name"] == "web"


def test_api_versions_and_kube_version_are_refused_as_helm_only(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="only reach Helm charts that kustomize inflates"):
        render(tmp_path, kube_version="1.29")


def test_the_overlay_is_per_spec_and_removed_after_the_run(tmp_path: Path) -> None:
    spec = KustomizeSpec(name_suffix="-a")
    key = hashlib.sha256(repr(spec).encode()).hexdigest()[:16]
    assert render(tmp_path, name_suffix="-a")["Service"]["metadata"]["name"] == "web-a"
    assert render(tmp_path, name_suffix="-b")["Service"]["metadata"]["name"] == "web-b"
    assert not list(Path(tempfile.gettempdir()).glob(f"conveyor-kustomize-{key}-*"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app"]  # the export is untouched


def _json(patches: list[dict[str, Any]]) -> str:
    return json.dumps(patches, sort_keys=True)


KUSTOMIZE_APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: shop}
spec:
  project: default
  destination: {name: memory, namespace: shop}
  source:
    repoURL: REPO
    path: app
    targetRevision: main
    kustomize:
      nameSuffix: -v2
      commonLabels: {team: pay}
      images: [ghcr.io/acme/web:2.0]
      replicas: [{name: web, count: 2}]
      patches:
      - target: {kind: Service}
        patch: |-
          - op: add
            path: /metadata/annotations
            value: {exposed: "true"}
  syncPolicy: {automated: {prune: true, selfHeal: true}}
"""


def test_a_kustomize_application_syncs_synced_healthy_through_the_reconciler(
    world: World,
) -> None:
    for name, text in BASE.items():
        world.repo.write(name, text)
    world.repo.commit()
    doc = KUSTOMIZE_APP.replace("REPO", world.repo.url)
    status = asyncio.run(world.reconciler(doc).reconcile_all())["shop"]
    assert status["sync"]["status"] == "Synced", status["conditions"]
    assert status["health"]["status"] == "Healthy"
    refs = {r.kind: r for r in world.target.refs()}
    assert refs["Deployment"].name == "web-v2" and refs["Service"].name == "web-v2"
    deployment = asyncio.run(world.target.get(refs["Deployment"]))
    service = asyncio.run(world.target.get(refs["Service"]))
    assert deployment is not None and service is not None
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "web", "team": "pay"}
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "ghcr.io/acme/web:2.0"
    )
    assert service["metadata"]["annotations"]["exposed"] == "true"


def test_kustomize_output_over_the_limit_is_a_render_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render_kustomize, "MAX_OUTPUT", 100)
    with pytest.raises(RenderError, match="over the limit of 100"):
        render(tmp_path)
