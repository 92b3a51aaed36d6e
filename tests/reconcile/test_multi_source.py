"""Multi-source Applications (`spec.sources`, Argo CD ≥2.6): every source renders into one
app, `ref` sources lend their files and render nothing, and each Git source is fetched
and pinned to its own commit."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.errors import ApplicationInvalid

from .conftest import World, config_repo, configmap


def _app(sources: list[dict[str, Any]]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "web"},
            "spec": {
                "sources": sources,
                "destination": {"name": "memory", "namespace": "prod"},
                "syncPolicy": {"automated": {"prune": True}},
            },
        }
    )


def _status(world: World, doc: str) -> dict[str, Any]:
    status: dict[str, Any] = asyncio.run(world.reconciler(doc).reconcile_all())["web"]
    return status


def test_sources_from_two_repositories_render_into_one_app(world: World, tmp_path: Path) -> None:
    other = config_repo(tmp_path, "values", "values-work")
    world.repo.write_objects("app/a.yaml", configmap("from-config"))
    first = world.repo.commit()
    other.write_objects("extra/b.yaml", configmap("from-values"))
    second = other.commit()
    doc = _app(
        [
            {"repoURL": world.repo.url, "path": "app", "targetRevision": "main"},
            {"repoURL": other.url, "path": "extra", "targetRevision": "main"},
        ]
    )
    status = _status(world, doc)
    assert status["conditions"][0]["status"] == "True", status["conditions"]
    names = sorted(ref.name for ref in world.target.refs())
    assert names == ["from-config", "from-values"]
    assert status["revisions"] == [first, second]
    assert [s["path"] for s in status["sources"]] == ["app", "extra"]


def test_a_ref_source_renders_nothing_of_its_own(world: World, tmp_path: Path) -> None:
    other = config_repo(tmp_path, "values", "values-work")
    world.repo.write_objects("app/a.yaml", configmap("only"))
    world.repo.commit()
    other.write_objects("b.yaml", configmap("not-rendered"))
    other.commit()
    doc = _app(
        [
            {"repoURL": world.repo.url, "path": "app", "targetRevision": "main"},
            {"repoURL": other.url, "targetRevision": "main", "ref": "values"},
        ]
    )
    status = _status(world, doc)
    assert status["conditions"][0]["status"] == "True", status["conditions"]
    assert [ref.name for ref in world.target.refs()] == ["only"]


def test_an_object_rendered_by_two_sources_is_a_render_error(world: World) -> None:
    world.repo.write_objects("one/a.yaml", configmap("same"))
    world.repo.write_objects("two/a.yaml", configmap("same"))
    world.repo.commit()
    doc = _app(
        [
            {"repoURL": world.repo.url, "path": "one", "targetRevision": "main"},
            {"repoURL": world.repo.url, "path": "two", "targetRevision": "main"},
        ]
    )
    ready = _status(world, doc)["conditions"][0]
    assert ready["reason"] == "RenderFailed" and "more than once" in ready["message"]
    assert world.target.refs() == []


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ([], "spec.sources is empty"),
        (
            [{"repoURL": "r", "ref": "v"}, {"repoURL": "s", "ref": "v"}],
            "two sources share ref 'v'",
        ),
        (
            [{"repoURL": "r", "path": "p", "helm": {"valueFiles": ["$nope/values.yaml"]}}],
            "value file '$nope/values.yaml' names no source's ref",
        ),
    ],
)
def test_bad_sources_are_refused_where_they_are(
    sources: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(ApplicationInvalid) as caught:
        parse_applications(_app(sources), "apps/web.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("apps/web.yaml:")


def test_source_and_sources_together_are_refused() -> None:
    data = yaml.safe_load(_app([{"repoURL": "r", "path": "p"}]))
    data["spec"]["source"] = {"repoURL": "r", "path": "p"}
    with pytest.raises(ApplicationInvalid, match="both source and sources"):
        parse_applications(yaml.safe_dump(data), "apps/web.yaml")
