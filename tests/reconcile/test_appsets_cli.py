"""`conveyor reconcile --once --apps REPO_URL` with an ApplicationSet and an app of apps in
the repository's apps/ directory: every generated and rendered app ends Synced/Healthy,
and a bad ApplicationSet exits 2 naming its line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conveyor.app.cli import run

from .conftest import ConfigRepo, application, configmap

APPSET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: teams
spec:
  generators:
  - git:
      repoURL: {url}
      revision: main
      directories:
      - path: teams/*
  template:
    metadata:
      name: 'team-{{{{path.basename}}}}'
    spec:
      source: {{repoURL: {url}, targetRevision: main, path: '{{{{path}}}}'}}
      destination: {{name: memory, namespace: '{{{{path.basename}}}}'}}
      syncPolicy: {{automated: {{prune: true}}}}
"""


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "conveyor.yaml"
    target = {"name": "memory", "type": "memory"}
    config.write_text(yaml.safe_dump({"targets": [target], "state": "s.db", "cache": "c"}))
    return config


def test_once_reconciles_generated_and_rendered_apps(
    repo: ConfigRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for team in ("red", "blue"):
        repo.write_objects(f"teams/{team}/cm.yaml", configmap(f"{team}-cm"))
    repo.write_objects("platform/cm.yaml", configmap("platform-cm"))
    child = yaml.safe_load(application("platform", repo, "platform", automated={}))
    child["apiVersion"] = "argoproj.io/v1alpha1"
    repo.write_objects("root/platform.yaml", child)
    repo.write("apps/teams.yaml", APPSET.format(url=repo.url))
    repo.write("apps/root.yaml", application("root", repo, "root", automated={"prune": True}))
    repo.commit()
    code = run(
        ["reconcile", "--apps", f"file://{repo.url}", "--config", str(_config(tmp_path)), "--once"]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    for name in ("platform", "root", "team-blue", "team-red"):
        assert any(
            line.startswith(name) and "Synced     Healthy" in line for line in out.splitlines()
        )


def test_a_bad_application_set_exits_2_naming_its_line(
    repo: ConfigRepo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write_objects("teams/red/cm.yaml", configmap("red-cm"))
    repo.write("apps/teams.yaml", APPSET.format(url=repo.url).replace("path.basename", "base"))
    repo.commit()
    code = run(
        ["reconcile", "--apps", f"file://{repo.url}", "--config", str(_config(tmp_path)), "--once"]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "apps/teams.yaml:14:7: ApplicationSet teams: {{base}} names no parameter" in err
