"""Applications, config, directory rendering, Kustomize image syntax and metrics output."""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.appspec import parse_duration
from conveyor.reconcile.config import load_config
from conveyor.reconcile.errors import ApplicationInvalid, RenderError
from conveyor.reconcile.metrics import Metrics
from conveyor.reconcile.model import HealthStatus, SyncStatus
from conveyor.reconcile.render_directory import expand_braces, render_directory
from conveyor.reconcile.render_kustomize import parse_image

ARGO = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: guestbook, namespace: argocd}
spec:
  project: default
  source:
    repoURL: https://github.com/argoproj/argocd-example-apps.git
    targetRevision: HEAD
    path: guestbook
    directory: {recurse: true, include: '*.yaml', exclude: '{a.yaml,b.yaml}'}
  destination: {server: https://kubernetes.default.svc, namespace: guestbook}
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
    retry: {limit: 5, backoff: {duration: 5s, factor: 2, maxDuration: 3m}}
  ignoreDifferences:
    - {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}
    - {kind: ConfigMap, name: cfg, jqPathExpressions: ['.data.x']}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-an-app}
"""


def test_argo_cd_application_is_read_as_is() -> None:
    (app,) = parse_applications(ARGO, "apps/guestbook.yaml")
    assert app.name == "guestbook" and app.target == "in-cluster"
    assert app.namespace == "guestbook"
    assert (app.source.kind, app.source.recurse, app.source.exclude) == (
        "directory",
        True,
        "{a.yaml,b.yaml}",
    )
    policy = app.sync_policy
    assert (policy.automated, policy.prune, policy.self_heal, policy.allow_empty) == (
        True,
        True,
        True,
        False,
    )
    assert (policy.retry.limit, policy.retry.max_duration) == (5, 180)
    assert policy.sync_options == ("CreateNamespace=true",)
    assert [r.json_pointers or r.jq_paths for r in app.ignore_differences] == [
        ("/spec/replicas",),
        (".data.x",),
    ]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "apiVersion: conveyor.dev/v2\nkind: Application\nmetadata: {name: a}\nspec: {}\n",
            "a.yaml:1:1",
            "unsupported apiVersion",
        ),
        (
            "apiVersion: conveyor.dev/v1alpha1\nkind: Application\nmetadata: {name: Bad_Name}\n"
            "spec: {}\n",
            "a.yaml:3:12",
            "is not a valid name",
        ),
        (
            "apiVersion: conveyor.dev/v1alpha1\nkind: Application\nmetadata: {name: a}\nspec:\n"
            "  destination: {}\n  source: {path: x}\n",
            "a.yaml:6:3",
            "repoURL is required",
        ),
        (
            "apiVersion: conveyor.dev/v1alpha1\nkind: Application\nmetadata: {name: a}\nspec:\n"
            "  destination: {}\n  source: {repoURL: r}\n  dependsOn: web\n",
            "a.yaml:7:3",
            "dependsOn must be a list",
        ),
        ("kind: [\n", "a.yaml:2:1", "invalid YAML"),
        (
            "apiVersion: conveyor.dev/v1alpha1\nkind: Application\nmetadata: {name: a}\nspec:\n"
            "  destination: {}\n  source: {repoURL: r}\n  ignoreDifferences:\n"
            "    - {kind: Deployment, jqPathExpressions: [spec.replicas]}\n",
            "a.yaml:8:7",
            "unsupported jq path",
        ),
    ],
)
def test_invalid_applications_point_at_file_line_col(text: str, where: str, message: str) -> None:
    with pytest.raises(ApplicationInvalid) as info:
        parse_applications(text, "a.yaml")
    assert str(info.value.location) == where and message in info.value.message
    assert info.value.hint


def test_durations() -> None:
    assert [parse_duration(x) for x in ("5s", "3m", "1h30m", 7, "0.5s")] == [5, 180, 5400, 7, 0.5]
    with pytest.raises(ApplicationInvalid):
        parse_duration("soon")


def test_config_defaults_to_one_podman_target_named_local(tmp_path: Path) -> None:
    assert [(t.name, t.type) for t in load_config(None).targets] == [("local", "podman")]
    file = tmp_path / "conveyor.yaml"
    file.write_text("targets: {staging: {type: memory, readyAfter: 2s}}\nstate: s.db\n")
    config = load_config(file)
    assert [(t.name, t.type, t.options) for t in config.targets] == [
        ("staging", "memory", {"readyAfter": "2s"})
    ]
    assert config.state == str(tmp_path / "s.db")
    file.write_text("targets: [{name: x, type: nomad}]\n")
    with pytest.raises(ApplicationInvalid, match="unknown type 'nomad'"):
        load_config(file)


def test_directory_render_recurse_include_exclude(tmp_path: Path) -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {}}}\n"
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.yaml").write_text(cm.format("a"))
    (tmp_path / "b.yml").write_text(cm.format("b") + "---\n" + cm.format("b2"))
    (tmp_path / "c.json").write_text(
        '{"apiVersion": "v1", "kind": "List", "items": ['
        '{"apiVersion": "v1", "kind": "ConfigMap", '
        '"metadata": {"name": "c"}}]}'
    )
    (tmp_path / "sub" / "d.yaml").write_text(cm.format("d"))
    (tmp_path / "notes.txt").write_text("ignored")

    def names(**options: object) -> list[str]:
        params = {"recurse": False, "include": "", "exclude": "", **options}
        objects = render_directory(tmp_path, **params)  # type: ignore[arg-type]
        return [o["metadata"]["name"] for o in objects]

    assert names() == ["a", "b", "b2", "c"]
    assert names(recurse=True) == ["a", "b", "b2", "c", "d"]
    assert names(recurse=True, include="*.yaml") == ["a", "d"]
    assert names(recurse=True, exclude="{a.yaml,sub/*}") == ["b", "b2", "c"]
    assert expand_braces("{a,b}/{c,d}.yaml") == ["a/c.yaml", "a/d.yaml", "b/c.yaml", "b/d.yaml"]


def test_render_errors_carry_a_location(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: [\n")
    with pytest.raises(RenderError) as info:
        render_directory(
            tmp_path, recurse=False, include="", exclude="", display_root=tmp_path.parent
        )
    assert str(info.value.location).startswith(f"{tmp_path.name}/bad.yaml:4:")
    (tmp_path / "bad.yaml").write_text("kind: ConfigMap\nmetadata: {name: half}\n")
    with pytest.raises(RenderError, match="not a Kubernetes object"):
        render_directory(tmp_path, recurse=False, include="", exclude="")


def test_files_argo_cd_skips_are_skipped(tmp_path: Path) -> None:
    """Argo CD's marker comment, and YAML that is not Kubernetes at all (a `.sops.yaml`,
    Helm values, a list of plain mappings); a Kubernetes-looking file still counts."""
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept}\n"
    (tmp_path / "kept.yaml").write_text(cm)
    (tmp_path / "marked.yaml").write_text("# +argocd:skip-file-rendering\n" + cm)
    (tmp_path / ".sops.yaml").write_text("creation_rules:\n  - age: age1x\n")
    (tmp_path / "values.yml").write_text("replicas: 2\n---\n- name: a\n")
    objects = render_directory(tmp_path, recurse=False, include="", exclude="")
    assert [o["metadata"]["name"] for o in objects] == ["kept"]
    (tmp_path / "config.json").write_text('{"creation_rules": []}')
    with pytest.raises(RenderError, match=r"config\.json: document 1 is not a Kubernetes"):
        render_directory(tmp_path, recurse=False, include="", exclude="")


@pytest.mark.parametrize(
    ("spec", "entry"),
    [
        ("nginx:1.25", {"name": "nginx", "newTag": "1.25"}),
        ("ghcr.io/acme/web:1.2.3", {"name": "ghcr.io/acme/web", "newTag": "1.2.3"}),
        ("localhost:5000/web", {"name": "localhost:5000/web"}),
        (
            "web=registry.local/web:2",
            {"name": "web", "newName": "registry.local/web", "newTag": "2"},
        ),
        ("web@sha256:abc", {"name": "web", "digest": "sha256:abc"}),
    ],
)
def test_kustomize_image_overrides(spec: str, entry: dict[str, str]) -> None:
    assert parse_image(spec) == entry


def test_metrics_text_format() -> None:
    metrics = Metrics()
    metrics.observe_reconcile("web", 0.03)
    metrics.count_sync("web", "Succeeded")
    metrics.count_drift("web")
    metrics.count_fetch_error('https://x/"r"')
    metrics.set_app("web", HealthStatus.PROGRESSING, SyncStatus.SYNCED)
    text = metrics.render()
    assert 'conveyor_reconcile_duration_seconds_bucket{app="web",le="0.025"} 0' in text
    assert 'conveyor_reconcile_duration_seconds_bucket{app="web",le="0.05"} 1' in text
    assert 'conveyor_reconcile_duration_seconds_bucket{app="web",le="+Inf"} 1' in text
    assert 'conveyor_reconcile_duration_seconds_count{app="web"} 1' in text
    assert 'conveyor_app_syncs_total{app="web",result="Succeeded"} 1' in text
    assert 'conveyor_git_fetch_errors_total{repo="https://x/\\"r\\""} 1' in text
    assert 'conveyor_app_health_status{app="web",status="Progressing"} 1' in text
    assert 'conveyor_app_health_status{app="web",status="Healthy"} 0' in text
    assert "# TYPE conveyor_app_sync_status gauge" in text
