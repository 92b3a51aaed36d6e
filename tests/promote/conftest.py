"""Fixtures for write-back tests: a seeded bare config repo, reachable over `file://` and
over HTTP through `conveyor.server.githttp` (push needs the token `s3cret-token`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.server.githttp import GitHttpServer
from tests.gitutil import commit, git, init

TOKEN = "s3cret-token"
PROMOTION = """stages:
- name: dev
  paths: [envs/dev]
- name: staging
  paths: [envs/staging]
- name: prod
  rule: approval
  paths: [envs/prod]
"""
DEPLOY = """# {name}: managed by Conveyor
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  template:
    spec:
      containers:
      - name: {name}
        image: ghcr.io/acme/{name}:{tag}   # keep this comment
"""


def seed(root: Path, files: dict[str, str], name: str = "cfg.git") -> Path:
    """A bare repo `root/name` whose main branch holds `files` (one commit)."""
    bare = init(root / name, bare=True)
    work = init(root / f"{name}.seed")
    commit(work, "seed", files)
    git(work, "push", "-q", str(bare), "main")
    return bare


def default_files(services: int = 3) -> dict[str, str]:
    files = {"promotion.yaml": PROMOTION}
    for env in ("dev", "staging", "prod"):
        for i in range(services):
            name = f"svc{i}"
            files[f"envs/{env}/{name}.yaml"] = DEPLOY.format(name=name, tag="1.0.0")
    return files


def hand_commit(bare: Path, path: str, text: str, message: str = "hand edit") -> str:
    """Commit `text` to `path` on main as a human would (no Conveyor trailers)."""
    work = bare.parent / f"hand-{abs(hash((path, text, message)))}"
    git(bare.parent, "clone", "-q", str(bare), str(work))
    sha = commit(work, message, {path: text})
    git(work, "push", "-q", "origin", "main")
    return sha


def show(bare: Path, rev_path: str) -> str:
    return git(bare, "show", rev_path, strip=False)


def refs(bare: Path) -> str:
    return git(bare, "for-each-ref", "--format=%(refname) %(objectname)", strip=False)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[GitHttpServer]:
    (tmp_path / "srv").mkdir()
    with GitHttpServer(tmp_path / "srv", tokens={TOKEN: "ci"}) as srv:
        yield srv


@pytest.fixture(params=["file", "http"])
def remote_repo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """(bare repo path, URL to promote into) for file:// and for local HTTP."""
    (tmp_path / "srv").mkdir()
    bare = seed(tmp_path / "srv", default_files())
    if request.param == "file":
        yield bare, f"file://{bare}"
        return
    with GitHttpServer(tmp_path / "srv", tokens={TOKEN: "ci"}) as srv:
        yield bare, f"{srv.url}/cfg.git"
