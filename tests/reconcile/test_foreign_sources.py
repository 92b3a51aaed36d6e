"""Sources that need a renderer Conveyor does not have yet (Helm, plugins) fail with
SourceNotSupported naming the files, instead of syncing an empty or partial render as
"Synced, Healthy" (issue 11, section 4.2); Jsonnet is evaluated beside the YAML (issue
14), and a path that renders nothing over a kustomization below is still refused.
Layouts follow argocd-example-apps."""

from __future__ import annotations

import asyncio
from typing import Any

import yaml

from .conftest import World, application, configmap

AUTO = {"prune": True, "selfHeal": True}

GUESTBOOK_JSONNET = """\
local params = import 'params.libsonnet';
[{
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: params.name },
  spec: { selector: { app: params.name }, ports: [{ port: 80 }] },
}]
"""


def _app(world: World, **source: Any) -> str:
    """The app's document with `source` merged into spec.source."""
    data = yaml.safe_load(application("web", world.repo, "app", automated=AUTO))
    data["spec"]["source"].update(source)
    return yaml.safe_dump(data)


def _status(world: World) -> dict[str, Any]:
    world.repo.commit()
    doc = application("web", world.repo, "app", automated=AUTO)
    status: dict[str, Any] = asyncio.run(world.reconciler(doc).reconcile_all())["web"]
    return status


def _refused(status: dict[str, Any], world: World) -> tuple[str, str]:
    ready, _, stalled = status["conditions"]
    assert ready["status"] == "False" and ready["reason"] == "SourceNotSupported"
    assert stalled["status"] == "True" and stalled["message"] == ready["message"]
    assert status["sync"]["status"] != "Synced" and world.target.refs() == []
    return ready["reason"], ready["message"]


def test_a_jsonnet_directory_syncs_its_evaluated_objects(world: World) -> None:
    world.repo.write("app/guestbook-ui.jsonnet", GUESTBOOK_JSONNET)
    world.repo.write("app/params.libsonnet", "{ name: 'guestbook-ui' }\n")
    status = _status(world)
    assert status["sync"]["status"] == "Synced", status["conditions"]
    assert [r.name for r in world.target.refs()] == ["guestbook-ui"]


def test_jsonnet_beside_yaml_renders_both(world: World) -> None:
    world.repo.write_objects("app/cfg.yaml", configmap("cfg"))
    world.repo.write("app/extra.jsonnet", GUESTBOOK_JSONNET.replace("params.name", "'extra'"))
    status = _status(world)
    assert status["sync"]["status"] == "Synced", status["conditions"]
    assert sorted(r.name for r in world.target.refs()) == ["cfg", "extra"]


def test_jsonnet_left_out_by_directory_exclude_syncs_the_yaml(world: World) -> None:
    world.repo.write_objects("app/cfg.yaml", configmap("cfg"))
    world.repo.write("app/extra.jsonnet", "error 'never evaluated'\n")
    world.repo.commit()
    doc = _app(world, directory={"exclude": "*.jsonnet"})
    ready = asyncio.run(world.reconciler(doc).reconcile_all())["web"]["conditions"][0]
    assert ready["status"] == "True", ready
    assert [r.name for r in world.target.refs()] == ["cfg"]


def test_an_empty_render_over_a_kustomization_below_says_where_it_is(world: World) -> None:
    world.repo.write("app/README.md", "overlays live below\n")
    world.repo.write("app/base/kustomization.yaml", "resources: [cfg.yaml]\n")
    world.repo.write_objects("app/base/cfg.yaml", configmap("cfg"))
    _, message = _refused(_status(world), world)
    assert "app renders no objects, but holds files for Kustomize: " in message
    assert "app/base/kustomization.yaml" in message
