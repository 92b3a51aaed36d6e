"""Fixtures for reconciler behaviour tests: a real Git config repo, a memory target,
a SQLite store, and a reconciler wired to them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest
import yaml

from conveyor.reconcile.applications import parse_applications
from conveyor.reconcile.reconciler import Reconciler
from conveyor.reconcile.sources import Sources
from conveyor.reconcile.steps import Env
from conveyor.reconcile.sync import SyncOptions
from conveyor.store import Store
from conveyor.targets.memory import MemoryTarget
from tests.gitutil import git


@dataclass
class ConfigRepo:
    """A bare 'origin' plus a work clone where tests write and commit."""

    origin: Path
    work: Path

    @property
    def url(self) -> str:
        return str(self.origin)

    def write(self, path: str, text: str) -> None:
        file = self.work / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(dedent(text))

    def write_objects(self, path: str, *objects: dict[str, Any]) -> None:
        self.write(path, yaml.safe_dump_all(objects))

    def remove(self, path: str) -> None:
        git(self.work, "rm", "-rq", path)

    def commit(self, message: str = "change") -> str:
        git(self.work, "add", "-A")
        git(self.work, "commit", "-qm", message, "--allow-empty")
        git(self.work, "push", "-q", "origin", "HEAD:main")
        return git(self.work, "rev-parse", "HEAD")

    def pull(self) -> None:
        git(self.work, "pull", "-q", "origin", "main")


def config_repo(root: Path, name: str = "origin", work: str = "work") -> ConfigRepo:
    """A new bare `root/<name>.git` with a work clone `root/<work>` on branch main."""
    origin = root / f"{name}.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(origin))
    clone = root / work
    git(root, "clone", "-q", str(origin), str(clone))
    git(clone, "checkout", "-qb", "main")
    return ConfigRepo(origin=origin, work=clone)


@pytest.fixture
def repo(tmp_path: Path) -> ConfigRepo:
    return config_repo(tmp_path)


def deployment(name: str, image: str = "web:1", replicas: int = 1, **notes: str) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }
    if notes:
        obj["metadata"]["annotations"] = notes
    return obj


def configmap(name: str, data: dict[str, str] | None = None, **notes: str) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": data or {"k": "v"},
    }
    if notes:
        obj["metadata"]["annotations"] = notes
    return obj


def service(name: str, **notes: str) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80}]},
    }
    if notes:
        obj["metadata"]["annotations"] = notes
    return obj


def job(name: str, image: str = "tool:1", **notes: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "annotations": notes},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": image}]}
            }
        },
    }


def application(
    name: str,
    repo: ConfigRepo,
    path: str,
    *,
    automated: dict[str, Any] | None = None,
    namespace: str = "prod",
    extra: dict[str, Any] | None = None,
    target: str = "memory",
) -> str:
    spec: dict[str, Any] = {
        "source": {"repoURL": repo.url, "path": path, "targetRevision": "main"},
        "destination": {"name": target, "namespace": namespace},
    }
    if automated is not None:
        spec["syncPolicy"] = {"automated": automated}
    spec.update(extra or {})
    return yaml.safe_dump(
        {
            "apiVersion": "conveyor.dev/v1alpha1",
            "kind": "Application",
            "metadata": {"name": name},
            "spec": spec,
        }
    )


@dataclass
class World:
    repo: ConfigRepo
    target: MemoryTarget
    store: Store
    cache: Path
    reconcilers: list[Reconciler] = field(default_factory=list)

    def reconciler(self, *docs: str, **options: Any) -> Reconciler:
        apps = [a for doc in docs for a in parse_applications(doc, "apps.yaml")]
        env = Env(
            targets={"memory": self.target},
            store=self.store,
            sources=Sources(self.cache),
            sync_options=SyncOptions(wave_timeout=options.pop("wave_timeout", 5.0), poll=0.005),
        )
        reconciler = Reconciler(apps, env, **options)
        self.reconcilers.append(reconciler)
        return reconciler


@pytest.fixture
def world(repo: ConfigRepo, tmp_path: Path) -> Iterator[World]:
    store = Store.open(tmp_path / "state.db")
    yield World(repo=repo, target=MemoryTarget(), store=store, cache=tmp_path / "cache")
    store.close()
