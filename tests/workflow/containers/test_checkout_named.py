"""Built-in checkout of a named repository: a local mirror directory or a Git server URL,
with `token` sent (and persisted) the way actions/checkout does."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from pathlib import Path

import pytest

from conveyor.workflow.run.actions.checkout import CheckoutFailed, checkout
from tests.workflow.containers.conftest import git


@dataclass(frozen=True)
class Event:
    sha: str = "f" * 40
    ref: str = "refs/heads/main"
    repository: str = "me/app"


def _bare(tmp: Path) -> Path:
    work = tmp / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "trunk")
    (work / "cfg.yaml").write_text("image: old\n")
    git(work, "add", ".")
    git(work, "commit", "-qm", "one")
    git(work, "tag", "v1")
    (work / "cfg.yaml").write_text("image: new\n")
    git(work, "commit", "-qam", "two")
    bare = tmp / "server/my-org/gitops-config.git"
    bare.parent.mkdir(parents=True)
    git(tmp, "clone", "-q", "--bare", str(work), str(bare))
    return bare


def _run(inputs: dict[str, str], workspace: Path, repo_dir: Path) -> dict[str, str]:
    return asyncio.run(
        checkout(inputs, workspace=workspace, event=Event(), repo_dir=repo_dir, worktree=False)
    )


def test_named_repository_from_a_mirror_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bare(tmp_path)
    monkeypatch.setenv("CONVEYOR_REPOSITORIES", str(tmp_path / "server"))
    ws = tmp_path / "ws"
    ws.mkdir()
    out = _run({"repository": "my-org/gitops-config", "path": "cfg"}, ws, tmp_path)
    assert out["ref"] == "refs/heads/trunk"  # its default branch, not the run's ref
    assert (ws / "cfg/cfg.yaml").read_text() == "image: new\n"
    assert git(ws / "cfg", "rev-parse", "--abbrev-ref", "HEAD") == "trunk"
    tagged = _run({"repository": "my-org/gitops-config", "ref": "v1", "path": "t"}, ws, tmp_path)
    assert (ws / "t/cfg.yaml").read_text() == "image: old\n"
    assert tagged["ref"] == "v1"


def test_named_repository_from_a_git_server_with_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bare(tmp_path)
    monkeypatch.delenv("CONVEYOR_REPOSITORIES", raising=False)
    ws = tmp_path / "ws"
    ws.mkdir()
    inputs = {
        "repository": "my-org/gitops-config",
        "github-server-url": f"file://{tmp_path / 'server'}",
        "token": "s3cret",
    }
    out = _run(inputs, ws, tmp_path)
    assert out["ref"] == "refs/heads/trunk"
    assert (ws / "cfg.yaml").read_text() == "image: new\n"
    header = git(ws, "config", "--get", "http.extraheader")
    assert header == "AUTHORIZATION: basic " + base64.b64encode(b"x-access-token:s3cret").decode()
    assert git(ws, "remote", "get-url", "origin").endswith("my-org/gitops-config.git")


def test_unknown_named_repository_says_where_it_was_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONVEYOR_REPOSITORIES", raising=False)
    monkeypatch.delenv("CONVEYOR_GIT_URL", raising=False)
    with pytest.raises(CheckoutFailed, match="CONVEYOR_REPOSITORIES"):
        _run({"repository": "my-org/none"}, tmp_path, tmp_path)
