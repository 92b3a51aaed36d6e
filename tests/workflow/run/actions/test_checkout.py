"""Built-in actions/checkout against real temporary Git repositories."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from conveyor.workflow.run.actions.checkout import CheckoutFailed, checkout
from tests.gitutil import git


@dataclass(frozen=True)
class FakeEvent:
    sha: str
    ref: str
    repository: str = "local/repo"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    git(src, "init", "-q", "-b", "main")
    for n in (1, 2, 3):
        (src / f"f{n}.txt").write_text(f"{n}\n")
        git(src, "add", ".")
        git(src, "commit", "-qm", f"c{n}")
    git(src, "tag", "v1", "HEAD~1")
    return src


def run(
    inputs: dict[str, str], workspace: Path, event: FakeEvent, repo: Path, **kw: bool
) -> dict[str, str]:
    return asyncio.run(
        checkout(
            inputs,
            workspace=workspace,
            event=event,
            repo_dir=repo,
            worktree=kw.get("worktree", False),
        )
    )


def test_checks_out_the_event_commit_on_its_branch_with_depth_one(
    repo: Path, tmp_path: Path
) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    head = git(repo, "rev-parse", "HEAD~1")
    out = run({}, ws, FakeEvent(sha=head, ref="refs/heads/main"), repo)
    assert out == {"ref": "refs/heads/main", "commit": head}
    assert sorted(p.name for p in ws.iterdir() if p.name != ".git") == ["f1.txt", "f2.txt"]
    assert git(ws, "rev-parse", "HEAD") == head
    assert git(ws, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(ws, "rev-list", "--count", "HEAD") == "1"


def test_fetch_depth_zero_brings_all_history(repo: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    head = git(repo, "rev-parse", "HEAD")
    run({"fetch-depth": "0"}, ws, FakeEvent(sha=head, ref="refs/heads/main"), repo)
    assert git(ws, "rev-list", "--count", "HEAD") == "3"


def test_ref_input_and_path_input(repo: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    head = git(repo, "rev-parse", "HEAD")
    out = run(
        {"ref": "v1", "path": "sub/dir"}, ws, FakeEvent(sha=head, ref="refs/heads/main"), repo
    )
    assert out["commit"] == git(repo, "rev-parse", "v1^{commit}")
    assert (ws / "sub/dir/f2.txt").exists()
    assert not (ws / "sub/dir/f3.txt").exists()


def test_path_outside_workspace_is_refused(repo: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    with pytest.raises(CheckoutFailed, match="outside the workspace"):
        run({"path": "../escape"}, ws, FakeEvent(sha="", ref="refs/heads/main"), repo)


def test_worktree_mode_takes_uncommitted_changes(repo: Path, tmp_path: Path) -> None:
    (repo / "f1.txt").write_text("changed\n")
    (repo / "new.txt").write_text("new\n")
    (repo / "f2.txt").unlink()
    ws = tmp_path / "ws"
    ws.mkdir()
    head = git(repo, "rev-parse", "HEAD")
    run({}, ws, FakeEvent(sha=head, ref="refs/heads/main"), repo, worktree=True)
    assert (ws / "f1.txt").read_text() == "changed\n"
    assert (ws / "new.txt").read_text() == "new\n"
    assert not (ws / "f2.txt").exists()


def test_clean_removes_previous_content(repo: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "stale.txt").write_text("x")
    head = git(repo, "rev-parse", "HEAD")
    run({}, ws, FakeEvent(sha=head, ref="refs/heads/main"), repo)
    assert not (ws / "stale.txt").exists()


def test_unknown_repository_says_it_is_not_available_offline(repo: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    with pytest.raises(CheckoutFailed, match="not available offline"):
        run(
            {"repository": "my-org/gitops-config"},
            ws,
            FakeEvent(sha="", ref="refs/heads/main"),
            repo,
        )


def test_unknown_ref_names_the_ref(repo: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    with pytest.raises(CheckoutFailed, match="'nope' was not found"):
        run({"ref": "nope"}, ws, FakeEvent(sha="", ref="refs/heads/main"), repo)
