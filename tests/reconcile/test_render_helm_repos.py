"""Charts from a Helm repository (a real HTTP server on 127.0.0.1 serving an index made by
`helm repo index`) and from an OCI registry (Debian's `docker-registry`), at exact
versions and semver ranges, synced end to end on the memory target; and chart
dependencies: `charts/`, `file://` and a Helm repository."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conveyor.reconcile.charts import Charts
from tests.registry import free_port, running_registry

from .conftest import World
from .helmcharts import package, publish_http, push_oci, serving, write_chart

LIBRARY_CHART = """\
apiVersion: v2
name: common
version: 0.3.0
type: library
"""
LIBRARY_TEMPLATE = """\
{{- define "common.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-{{ .name }}
data:
  from: library
{{- end -}}
"""


@pytest.fixture(scope="module")
def helm_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An HTTP Helm repository holding `web` 1.0.0, 1.1.0 and 2.0.0."""
    root = tmp_path_factory.mktemp("helm-repo")
    served = root / "served"
    served.mkdir()
    with serving(served) as url:
        charts = [
            write_chart(
                root / f"src-{v}" / "web",
                version=v,
                values=f"replicas: 1\nimage: {{repository: web, tag: '{v}'}}\ngreeting: v{v}\n",
            )
            for v in ("1.0.0", "1.1.0", "2.0.0")
        ]
        publish_http(charts, served, url)
        yield url


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A registry holding `charts/web` 1.0.0 and 1.4.0."""
    root = tmp_path_factory.mktemp("registry")
    with running_registry(root) as address:
        for version in ("1.0.0", "1.4.0"):
            chart = write_chart(root / f"src-{version}" / "web", version=version)
            push_oci(chart, address, root / "packages")
        yield address


def _app(source: dict[str, Any], name: str = "web") -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name},
            "spec": {
                "source": source,
                "destination": {"name": "memory", "namespace": "prod"},
                "syncPolicy": {"automated": {"prune": True}},
            },
        }
    )


def _sync(world: World, doc: str) -> dict[str, Any]:
    status: dict[str, Any] = asyncio.run(world.reconciler(doc).reconcile_all())["web"]
    return status


def _image(world: World) -> str:
    found = [world.target.peek(r) for r in world.target.refs() if r.kind == "Deployment"]
    assert found and found[0] is not None
    return str(found[0]["spec"]["template"]["spec"]["containers"][0]["image"])


@pytest.mark.parametrize(
    ("wanted", "version"),
    [
        ("1.0.0", "1.0.0"),
        (">=1.0 <2", "1.1.0"),
        ("1.0.*", "1.0.0"),
        ("^1.0", "1.1.0"),
        ("*", "2.0.0"),
    ],
)
def test_a_chart_from_a_helm_repository_syncs_at_the_version_asked(
    world: World, helm_repo: str, wanted: str, version: str
) -> None:
    doc = _app({"repoURL": helm_repo, "chart": "web", "targetRevision": wanted})
    status = _sync(world, doc)
    assert status["conditions"][0]["status"] == "True", status["conditions"]
    assert status["sync"]["status"] == "Synced" and status["health"]["status"] == "Healthy"
    assert status["sync"]["revision"] == version
    assert _image(world) == f"web:{version}"


def test_a_missing_chart_version_is_a_fetch_failure_naming_it(world: World, helm_repo: str) -> None:
    doc = _app({"repoURL": helm_repo, "chart": "web", "targetRevision": "9.9.9"})
    ready = _sync(world, doc)["conditions"][0]
    assert ready["status"] == "False" and ready["reason"] == "FetchFailed"
    assert "cannot pull chart web 9.9.9" in ready["message"]
    assert world.target.refs() == []


def test_a_range_is_resolved_again_once_its_resolution_ages(world: World, tmp_path: Path) -> None:
    served = tmp_path / "served"
    served.mkdir()
    with serving(served) as url:
        publish_http([write_chart(tmp_path / "a" / "web", version="1.0.0")], served, url)
        doc = _app({"repoURL": url, "chart": "web", "targetRevision": "1.*"})
        rec = world.reconciler(doc)
        rec.env.charts = Charts(world.cache / "charts", ttl=0)
        assert asyncio.run(rec.reconcile_all())["web"]["sync"]["revision"] == "1.0.0"
        publish_http([write_chart(tmp_path / "b" / "web", version="1.5.0")], served, url)
        assert asyncio.run(rec.reconcile_all())["web"]["sync"]["revision"] == "1.5.0"


@pytest.mark.parametrize("style", ["oci", "argo"])
def test_a_chart_from_an_oci_registry_syncs(world: World, registry: str, style: str) -> None:
    repo_url = f"oci://{registry}/charts" if style == "oci" else f"{registry}/charts"
    doc = _app({"repoURL": repo_url, "chart": "web", "targetRevision": "1.*"})
    status = _sync(world, doc)
    assert status["conditions"][0]["status"] == "True", status["conditions"]
    assert status["sync"]["status"] == "Synced" and status["health"]["status"] == "Healthy"
    assert status["sync"]["revision"] == "1.4.0"
    assert sorted(r.name for r in world.target.refs()) == ["web-settings", "web-web"]


def test_a_git_chart_builds_its_file_and_repository_dependencies(
    world: World, helm_repo: str
) -> None:
    work = world.repo.work
    (work / "charts" / "common" / "templates").mkdir(parents=True)
    (work / "charts" / "common" / "Chart.yaml").write_text(LIBRARY_CHART)
    (work / "charts" / "common" / "templates" / "_cm.tpl").write_text(LIBRARY_TEMPLATE)
    umbrella = write_chart(
        work / "charts" / "shop",
        name="shop",
        templates={
            "cm.yaml": '{{ include "common.configmap" (dict "name" "lib" "Release" .Release) }}\n'
        },
        values="web:\n  greeting: from-the-umbrella\n",
    )
    (umbrella / "Chart.yaml").write_text(
        "apiVersion: v2\nname: shop\nversion: 0.1.0\ndependencies:\n"
        "  - name: common\n    version: 0.3.0\n    repository: file://../common\n"
        f"  - name: web\n    version: 1.1.0\n    repository: {helm_repo}\n"
    )
    world.repo.commit()
    doc = _app({"repoURL": world.repo.url, "path": "charts/shop", "targetRevision": "main"})
    status = _sync(world, doc)
    assert status["conditions"][0]["status"] == "True", status["conditions"]
    names = sorted(r.name for r in world.target.refs())
    assert names == ["web-lib", "web-settings", "web-web"]
    settings = next(world.target.peek(r) for r in world.target.refs() if r.name == "web-settings")
    assert settings is not None and settings["data"] == {"greeting": "from-the-umbrella"}
    assert not (work / "charts" / "shop" / "charts").exists()  # built in the cache, not in Git


def test_a_subchart_committed_in_charts_renders_without_a_download(
    world: World, tmp_path: Path
) -> None:
    umbrella = write_chart(world.repo.work / "app", name="shop", templates={})
    package(write_chart(tmp_path / "web", version="0.9.0"), umbrella / "charts")
    (umbrella / "Chart.yaml").write_text(
        "apiVersion: v2\nname: shop\nversion: 0.1.0\ndependencies:\n"
        "  - name: web\n    version: 0.9.0\n    repository: https://charts.invalid\n"
    )
    world.repo.commit()
    doc = _app({"repoURL": world.repo.url, "path": "app", "targetRevision": "main"})
    status = _sync(world, doc)
    assert status["conditions"][0]["status"] == "True", status["conditions"]
    assert _image(world) == "web:1.0"


def test_a_dependency_that_cannot_be_fetched_is_a_fetch_failure_naming_it(
    world: World,
) -> None:
    umbrella = write_chart(world.repo.work / "app", name="shop")
    (umbrella / "Chart.yaml").write_text(
        "apiVersion: v2\nname: shop\nversion: 0.1.0\ndependencies:\n"
        f"  - name: web\n    version: 1.0.0\n    repository: http://127.0.0.1:{free_port()}\n"
    )
    world.repo.commit()
    doc = _app({"repoURL": world.repo.url, "path": "app", "targetRevision": "main"})
    ready = _sync(world, doc)["conditions"][0]
    assert ready["status"] == "False" and ready["reason"] == "FetchFailed", ready
    assert "cannot build the dependencies (web) of app/Chart.yaml" in ready["message"]
    assert world.target.refs() == []


def test_a_repository_chart_with_values_from_a_git_ref_source(world: World, helm_repo: str) -> None:
    """Argo CD's most common multi-source shape: the chart from its Helm repository, the
    values from the team's Git repository."""
    world.repo.write("envs/prod/web.yaml", "replicas: 3\ngreeting: from-git\n")
    commit = world.repo.commit()
    doc = yaml.safe_dump(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web"},
            "spec": {
                "sources": [
                    {
                        "repoURL": helm_repo,
                        "chart": "web",
                        "targetRevision": "1.1.0",
                        "helm": {"valueFiles": ["$values/envs/prod/web.yaml"]},
                    },
                    {"repoURL": world.repo.url, "targetRevision": "main", "ref": "values"},
                ],
                "destination": {"name": "memory", "namespace": "prod"},
                "syncPolicy": {"automated": {"prune": True}},
            },
        }
    )
    status = _sync(world, doc)
    assert status["conditions"][0]["status"] == "True", status["conditions"]
    assert status["revisions"] == ["1.1.0", commit]
    settings = next(world.target.peek(r) for r in world.target.refs() if r.name == "web-settings")
    assert settings is not None and settings["data"] == {"greeting": "from-git"}
