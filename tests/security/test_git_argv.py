"""Finding 4 (git side): a value from a workflow, an event, a webhook or an API request is
never read by git as an option, and the server clones only what a webhook may name.

Each attack works against the code before the fix: `git fetch <url> --upload-pack=<cmd>`
runs the command, `git diff --output=<file>` writes the file, a webhook's `file://`
clone_url made the server mirror a repository from its own disk, and `create_repo` made
repositories no URL can reach. `test_argv_audit.py` keeps the whole class closed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conveyor.clients.git import Git
from conveyor.clients.gitmirror import GitMirror
from conveyor.core.errors import ConveyorError
from conveyor.workflow.run.actions.checkout import CheckoutFailed, checkout
from tests.gitutil import git
from tests.server.conftest import Server, push_workflows


@dataclass(frozen=True)
class _Event:
    sha: str = "f" * 40
    ref: str = "refs/heads/main"
    repository: str = "me/app"


def _served_repo(tmp: Path) -> Path:
    """`<tmp>/server/my-org/lib.git`, a bare repository with one commit."""
    work = tmp / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    (work / "README").write_text("lib\n")
    git(work, "add", ".")
    git(work, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    bare = tmp / "server" / "my-org" / "lib.git"
    bare.parent.mkdir(parents=True)
    git(tmp, "clone", "-q", "--bare", str(work), str(bare))
    return bare


def _checkout(inputs: dict[str, str], workspace: Path) -> dict[str, str]:
    return asyncio.run(
        checkout(inputs, workspace=workspace, event=_Event(), repo_dir=workspace, worktree=False)
    )


@pytest.mark.parametrize("ref", ["--upload-pack=touch {pwned}; false", "--upload-pack={script}"])
def test_checkout_ref_cannot_make_git_run_a_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref: str
) -> None:
    """`ref: ${{ github.head_ref }}` (or any input) reaches `git fetch <url> <ref>`."""
    _served_repo(tmp_path)
    monkeypatch.delenv("CONVEYOR_REPOSITORIES", raising=False)
    pwned = tmp_path / "pwned"
    script = tmp_path / "upload.sh"
    script.write_text(f"#!/bin/sh\ntouch {pwned}\nexit 1\n")
    script.chmod(0o755)
    ws = tmp_path / "ws"
    ws.mkdir()
    inputs = {
        "repository": "my-org/lib",
        "github-server-url": f"file://{tmp_path / 'server'}",
        "ref": ref.format(pwned=pwned, script=script),
    }
    with pytest.raises(CheckoutFailed) as failed:
        _checkout(inputs, ws)
    assert not pwned.exists()
    assert "not a valid ref name" in str(failed.value)


def test_checkout_repository_cannot_name_a_remote_helper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CONVEYOR_REPOSITORIES", raising=False)
    ws = tmp_path / "ws"
    ws.mkdir()
    inputs = {"repository": "my-org/lib", "github-server-url": "ext::sh -c touch% /tmp/x"}
    with pytest.raises(CheckoutFailed, match="remote helper"):
        _checkout(inputs, ws)
    inputs = {"repository": "../../etc/passwd#/x", "github-server-url": "https://example.com"}
    with pytest.raises(CheckoutFailed, match="repository"):
        _checkout(inputs, ws)


def test_checkout_of_a_branch_tag_and_sha_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = _served_repo(tmp_path)
    monkeypatch.delenv("CONVEYOR_REPOSITORIES", raising=False)
    sha = git(bare, "rev-parse", "HEAD")
    for index, ref in enumerate(["main", "refs/heads/main", sha]):
        ws = tmp_path / f"ws{index}"
        ws.mkdir()
        server = f"file://{tmp_path / 'server'}"
        inputs = {"repository": "my-org/lib", "github-server-url": server, "ref": ref}
        assert _checkout(inputs, ws)["commit"] == sha
        assert (ws / "README").read_text() == "lib\n"


def _repo_with_two_commits(tmp: Path) -> Path:
    repo = tmp / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    for text in ("a\n", "b\n"):
        (repo / "f").write_text(text)
        git(repo, "add", ".")
        git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", text)
    return repo


def test_affected_base_cannot_make_git_write_a_file(tmp_path: Path) -> None:
    """`conveyor affected --base ${{ github.event.before }}`: the event is data."""
    repo = _repo_with_two_commits(tmp_path)
    (repo / "conveyor-projects.yaml").write_text("projects: {}\n")
    written = tmp_path / "written"
    done = subprocess.run(
        [sys.executable, "-m", "conveyor.app", "affected", f"--base=--output={written}"],
        cwd=repo,
        capture_output=True,
        text=True,
        env={**os.environ, "CONVEYOR_WARM": "0"},
        check=False,
    )
    assert not written.exists(), done.stderr
    assert done.returncode != 0


def test_event_revisions_are_never_git_options(tmp_path: Path) -> None:
    """`before`/`after` of an event payload reach `git diff`, `git log`, `merge-base`."""
    repo = _repo_with_two_commits(tmp_path)
    client = Git(repo)
    written = tmp_path / "written"
    for call in (
        lambda: client.changed_files(f"--output={written}", "HEAD"),
        lambda: client.log(f"--output={written}"),
        lambda: client.merge_base(f"--output={written}", "HEAD"),
    ):
        with pytest.raises(Exception, match="output"):
            call()
        assert not written.exists()
    assert client.changed_files("HEAD~1", "HEAD") == ("f",)


def test_reconciler_refuses_remote_helpers_and_options_as_repo_urls(tmp_path: Path) -> None:
    for url in ("ext::sh -c touch% /tmp/pwned", "--upload-pack=touch /tmp/pwned", "fd::3"):
        mirror = GitMirror(url, tmp_path / "cache")
        with pytest.raises(ConveyorError, match=r"helper|URL"):
            asyncio.run(mirror.fetch())
    assert not (tmp_path / "cache" / "mirrors").exists()  # refused before git ran


# -- against a real server ------------------------------------------------------------


def _hook(server: Server, payload: dict[str, object]) -> httpx.Response:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
    headers = {
        "X-GitHub-Event": "push",
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature,
    }
    return httpx.post(f"{server.url}/hooks/github", content=body, headers=headers, timeout=30)


@pytest.mark.parametrize(
    "clone_url",
    [
        "file://{data}/git/acme/private.git",
        "{data}/git/acme/private.git",
        "--upload-pack=touch {data}/pwned",
        "ext::sh -c touch% {data}/pwned",
    ],
)
def test_webhook_clone_url_cannot_point_the_server_at_its_own_disk(
    server: Server, tmp_path: Path, clone_url: str
) -> None:
    sha = push_workflows(server, tmp_path, "acme/private", {"secret.txt": "s3cret\n"})
    payload = {
        "ref": "refs/heads/main",
        "before": "0" * 40,
        "after": sha,
        "repository": {
            "full_name": "evil/copy",
            "clone_url": clone_url.format(data=server.data),
        },
        "sender": {"login": "mallory"},
    }
    reply = _hook(server, payload)
    assert reply.status_code == 400, reply.text
    assert not (server.data / "mirrors" / "evil").exists()
    assert not (server.data / "pwned").exists()


@pytest.mark.parametrize(
    "name",
    ["acme/.hidden", "acme/a b", "acme/x:y", ".acme/app", "acme/..", "-acme/app", "a/" + "x" * 101],
)
def test_api_refuses_repository_names_github_would_refuse(server: Server, name: str) -> None:
    before = sorted((server.data / "git").rglob("*"))
    reply = server.api("POST", "/api/v1/repos", json={"name": name})
    assert reply.status_code == 400, (name, reply.status_code, reply.text)
    assert "repository" in reply.json()["detail"]
    assert sorted((server.data / "git").rglob("*")) == before


def test_api_still_creates_github_style_names(server: Server) -> None:
    for name in ("acme/app", "Acme-Corp/my_repo.v2", "a1/x"):
        reply = server.api("POST", "/api/v1/repos", json={"name": name})
        assert reply.status_code == 200, (name, reply.text)
