"""Strict Application specs (issue 14): every field is read or refused where it stands,
with file:line:col and what to do; an invalid document gets the InvalidSpec condition,
is never synced, leaves its objects alone, and makes `reconcile --once` exit 2."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from conveyor.app.cmd_reconcile import load_apps, reconcile
from conveyor.reconcile.applications import load_catalog, parse_applications
from conveyor.reconcile.errors import ApplicationInvalid
from conveyor.reconcile.sources import Sources

from .conftest import ConfigRepo, World, application, configmap

BASE = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: web
spec:
  project: default
  source:
    repoURL: https://example.com/config.git
    path: app
    targetRevision: main
  destination:
    server: https://kubernetes.default.svc
    namespace: prod
  syncPolicy:
    automated: {prune: true, selfHeal: true}
    syncOptions: [CreateNamespace=true]
"""


def _refusal(text: str) -> str:
    with pytest.raises(ApplicationInvalid) as caught:
        parse_applications(text, "apps/web.yaml")
    return str(caught.value)


def _with(path: list[str | int], value: Any) -> str:
    data = yaml.safe_load(BASE)
    node = data
    for key in path[:-1]:
        node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
    node[path[-1]] = value
    return yaml.safe_dump(data, sort_keys=False)


def test_the_base_document_is_valid() -> None:
    (app,) = parse_applications(BASE, "apps/web.yaml")
    assert app.project == "default" and app.sync_policy.enabled("CreateNamespace")


def test_a_misspelt_field_names_its_line_and_column_and_the_likely_field() -> None:
    text = BASE.replace("    targetRevision: main", "    targetRevison: main")
    message = _refusal(text)
    assert message.startswith("apps/web.yaml:10:5: unknown field spec.source.targetRevison")
    assert "did you mean 'targetRevision'?" in message


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["spec", "source", "kustomize", "commonLable"], {"a": "b"}, "did you mean 'commonLabels'"),
        (["spec", "source", "plugin"], {"name": "cdk8s"}, "render with the plugin in CI"),
        (["spec", "sourceHydrator"], {"drySource": {}}, "source hydration is not supported"),
        (["spec", "syncPolicy", "syncOptions"], ["BogusOption=yes"], "unknown sync option"),
        (["spec", "syncPolicy", "syncOptions"], ["PruneLast=maybe"], "PruneLast takes true or"),
        (["spec", "syncPolicy", "syncOptions"], ["Prune=false"], "only valid on an object"),
        (["spec", "syncPolicy", "retry"], {"limit": -2}, "retry.limit -2 is not valid"),
        (["spec", "syncPolicy", "retry"], {"refresh": True}, "a retry always syncs"),
        (["spec", "syncPolicy", "automated", "selfheal"], True, "did you mean 'selfHeal'"),
        (["spec", "source", "helm"], {"version": "v2"}, "Helm 3 semantics"),
        (["spec", "source", "kustomize", "version"], "v4.5.7", "only the bundled kustomize"),
        (["spec", "revisionHistoryLimit"], -1, "must not be negative"),
        (["spec", "revisionHistoryLimit"], "ten", "must be an integer"),
        (["spec", "destination", "name"], "memory", "both name and server"),
        (["metadata", "finalizers"], ["example.com/keep"], "finalizer 'example.com/keep'"),
        (["metadata", "annotations"], {"argocd.argoproj.io/bogus": "x"}, "is not read"),
        (["status"], {"sync": {}}, "the reconciler writes it"),
        (["operation"], {"sync": {}}, "conveyor app sync"),
        (["spec", "ignoreDifferences"], [{"kind": "Deployment", "jsonPointer": []}], "did you"),
        (["spec", "source", "directory"], {"recurse": "yes"}, "must be true or false"),
    ],
)
def test_unknown_and_unimplemented_fields_are_refused_where_they_stand(
    path: list[str | int], value: Any, expected: str
) -> None:
    message = _refusal(_with(path, value))
    assert expected in message
    location = message.split(" ", 1)[0]
    file, line, col = location.rstrip(":").split(":")
    assert file == "apps/web.yaml" and int(line) > 0 and int(col) > 0


def test_fields_argo_cd_exports_from_a_cluster_are_accepted() -> None:
    data = yaml.safe_load(BASE)
    data["metadata"].update(uid="1", resourceVersion="7", generation=2)
    (app,) = parse_applications(yaml.safe_dump(data), "apps/web.yaml")
    assert app.name == "web"


def test_one_invalid_document_does_not_hide_the_others(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(BASE + "---\n" + BASE.replace("name: web", "name: api"))
    (tmp_path / "b.yaml").write_text(
        BASE.replace("name: web", "name: bad").replace("path:", "pth:")
    )
    (tmp_path / "c.yaml").write_text("key: [unclosed\n")
    catalog = load_catalog([tmp_path])
    assert sorted(a.name for a in catalog.apps) == ["api", "web"]
    assert [(i.name, i.message.split(":")[1]) for i in catalog.invalid] == [
        ("bad", "9"),
        (str(tmp_path / "c.yaml"), "2"),
    ]


def test_an_app_defined_twice_is_invalid_and_not_synced(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(BASE)
    (tmp_path / "b.yaml").write_text(BASE)
    catalog = load_catalog([tmp_path])
    assert catalog.apps == ()
    assert "defined twice" in catalog.invalid[0].message


def _invalid(doc: str) -> str:
    data = yaml.safe_load(doc)
    data["spec"]["syncPolicy"]["syncOptions"] = ["BogusOption=yes"]
    return yaml.safe_dump(data)


def test_an_app_whose_file_turns_invalid_keeps_its_objects_and_stops_syncing(
    world: World, tmp_path: Path
) -> None:
    world.repo.write_objects("app/cfg.yaml", configmap("cfg"))
    world.repo.commit()
    good = application("web", world.repo, "app", automated={"prune": True})
    rec = world.reconciler(good)
    assert asyncio.run(rec.reconcile_all())["web"]["conditions"][0]["status"] == "True"
    world.repo.remove("app/cfg.yaml")
    world.repo.write_objects("app/other.yaml", configmap("other"))
    world.repo.commit()
    bad = tmp_path / "apps.yaml"
    bad.write_text(_invalid(good))
    rec.set_catalog(load_catalog([bad]))
    status = asyncio.run(rec.reconcile_all())["web"]
    ready, _, stalled = status["conditions"]
    assert ready["reason"] == "InvalidSpec" and "unknown sync option" in ready["message"]
    assert ready["message"].startswith(f"{bad}:") and stalled["status"] == "True"
    assert [ref.name for ref in world.target.refs()] == ["cfg"]  # not pruned, not synced


def test_reconcile_once_exits_2_naming_the_invalid_file(repo: ConfigRepo, tmp_path: Path) -> None:
    config = tmp_path / "conveyor.yaml"
    config.write_text(yaml.safe_dump({"targets": [{"name": "memory", "type": "memory"}]}))
    repo.write_objects("app/cfg.yaml", configmap("cfg"))
    repo.commit()
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "good.yaml").write_text(application("good", repo, "app", automated={}))
    (apps / "bad.yaml").write_text(_invalid(application("bad", repo, "app", automated={})))
    args = ["--apps", str(apps), "--config", str(config), "--once"]
    result = CliRunner().invoke(reconcile, args)
    assert result.exit_code == 2, result.output
    assert "good " in result.output and "Synced" in result.output
    assert f"bad: InvalidSpec: {apps / 'bad.yaml'}:" in result.stderr


def test_a_file_that_is_not_yaml_any_more_deletes_none_of_its_apps(
    world: World, tmp_path: Path
) -> None:
    world.repo.write_objects("app/cfg.yaml", configmap("cfg"))
    world.repo.commit()
    data = yaml.safe_load(application("web", world.repo, "app", automated={"prune": True}))
    data["metadata"]["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "web.yaml").write_text(yaml.safe_dump(data))
    rec = world.reconciler()
    rec.set_catalog(load_catalog([apps]))
    assert asyncio.run(rec.reconcile_all())["web"]["conditions"][0]["status"] == "True"
    (apps / "web.yaml").write_text("metadata: [unclosed\n")
    for _ in range(2):  # a deletion would start on the first pass and finish on the next
        rec.set_catalog(load_catalog([apps]))
        statuses = asyncio.run(rec.reconcile_all())
    assert [ref.name for ref in world.target.refs()] == ["cfg"]
    assert statuses["web"]["conditions"][0]["status"] == "True"
    broken = statuses[str(apps / "web.yaml")]["conditions"][0]
    assert broken["reason"] == "InvalidSpec" and "invalid YAML" in broken["message"]


def test_argo_cd_oci_source_form_names_the_chart_in_the_reference() -> None:
    text = BASE.replace(
        "    repoURL: https://example.com/config.git\n    path: app\n",
        "    repoURL: oci://127.0.0.1:5000/charts/web\n    path: .\n",
    )
    (app,) = parse_applications(text, "apps/web.yaml")
    assert (app.source.repo_url, app.source.chart, app.source.kind) == (
        "oci://127.0.0.1:5000/charts",
        "web",
        "helm",
    )
    message = _refusal(text.replace("    path: .\n", "    path: manifests\n"))
    assert "inside an OCI artifact is not supported" in message


def test_apps_read_from_git_are_named_by_their_path_in_the_repository(
    world: World, tmp_path: Path
) -> None:
    """The checkout directory changes with every commit; `Application.file` and messages
    use the path in the repository, so an unchanged app compares equal across commits."""
    world.repo.write("apps/web.yaml", application("web", world.repo, "app", automated={}))
    world.repo.write("apps/bad.yaml", _invalid(application("bad", world.repo, "app", automated={})))
    world.repo.commit()
    sources = Sources(tmp_path / "apps-cache")
    url = f"file://{world.repo.url}"  # a URL: a plain path would be read as a directory
    first = asyncio.run(load_apps(url, sources=sources))
    world.repo.write("unrelated.txt", "a commit that changes no app\n")
    world.repo.commit()
    second = asyncio.run(load_apps(url, sources=sources))
    assert [a.file for a in first.apps] == ["apps/web.yaml"] and first.apps == second.apps
    assert second.invalid[0].message.startswith("apps/bad.yaml:")
