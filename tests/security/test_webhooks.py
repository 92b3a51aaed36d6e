"""Finding 9: webhook deliveries against a real server.

Attacks: replaying a captured delivery (before: a second run, after a restart too); naming
a `file://` (or foreign host) clone URL so the server mirrors what the URL points at;
claiming a commit that is not on the pushed branch; signing with the global secret for a
repository that has its own; a non-ASCII signature (before: 500).
"""

from __future__ import annotations

from pathlib import Path

from tests.gitutil import git
from tests.security.hooks import deliver, push_payload
from tests.server.conftest import Server, push_workflows

HELLO = """on: [push, workflow_dispatch]
jobs:
  hello:
    runs-on: ubuntu-latest
    steps:
      - run: echo hello
"""


def _hosted(server: Server, tmp_path: Path, repo: str = "acme/hooked") -> str:
    return push_workflows(server, tmp_path, repo, {".github/workflows/ci.yml": HELLO})


def test_a_replayed_delivery_starts_nothing_even_after_a_restart(
    server: Server, tmp_path: Path
) -> None:
    sha = _hosted(server, tmp_path)
    before = len(server.runs("acme/hooked"))
    first = deliver(server, "push", push_payload("acme/hooked", sha), delivery="d-42")
    assert first.status_code == 200 and len(first.json()["runs"]) == 1, first.text
    again = deliver(server, "push", push_payload("acme/hooked", sha), delivery="d-42")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["runs"] == first.json()["runs"]
    server.stop()
    server.start()
    later = deliver(server, "push", push_payload("acme/hooked", sha), delivery="d-42")
    assert later.status_code == 200 and later.json()["duplicate"] is True
    assert len(server.runs("acme/hooked")) == before + 1


def test_clone_urls_other_than_https_github_are_refused(server: Server, tmp_path: Path) -> None:
    source = tmp_path / "local-source"
    source.mkdir()
    git(source, "init", "-q", "-b", "main")
    (source / ".github/workflows").mkdir(parents=True)
    (source / ".github/workflows/ci.yml").write_text(HELLO)
    git(source, "add", "-A")
    git(source, "commit", "-q", "-m", "local")
    sha = git(source, "rev-parse", "HEAD")
    for url in (
        f"file://{source}",
        str(source),
        "http://github.com/acme/remote.git",
        "https://evil.example/acme/remote.git",
        "https://github.com/other/repo.git",
        "https://x:y@github.com/acme/remote.git",
        "ext::sh -c touch% /tmp/pwned",
    ):
        answer = deliver(server, "push", push_payload("acme/remote", sha, url=url))
        assert answer.status_code == 403, (url, answer.status_code, answer.text)
        assert "https://github.com/acme/remote.git" in answer.json()["detail"]
    assert not (server.data / "mirrors").exists()
    assert server.runs("acme/remote") == []


def test_a_commit_that_is_not_on_the_pushed_branch_is_refused(
    server: Server, tmp_path: Path
) -> None:
    main_tip = _hosted(server, tmp_path)
    work = tmp_path / "work-acme-hooked"
    git(work, "checkout", "-q", "-b", "unreviewed")
    (work / "evil").write_text("x")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "not on main")
    other = git(work, "rev-parse", "HEAD")
    git(
        work,
        "-c",
        f"http.extraHeader=Authorization: Bearer {server.admin}",
        "push",
        "-q",
        "origin",
        "HEAD:refs/heads/unreviewed",
    )
    before = len(server.runs("acme/hooked"))
    answer = deliver(server, "push", push_payload("acme/hooked", other))  # "main" at `other`
    assert answer.status_code == 409, answer.text
    missing = deliver(server, "push", push_payload("acme/hooked", "f" * 40))
    assert missing.status_code == 409, missing.text
    assert len(server.runs("acme/hooked")) == before
    dispatch = {**push_payload("acme/hooked", other), "sha": other, "inputs": {}}
    dispatch["ref"] = "main"  # a dispatch runs at the tip of its branch, not at `sha`
    ran = deliver(server, "workflow_dispatch", dispatch)
    assert ran.status_code == 200 and len(ran.json()["runs"]) == 1, ran.text
    run = server.api("GET", f"/api/v1/runs/{ran.json()['runs'][0]}").json()
    assert run["ref"] == "refs/heads/main" and run["sha"] == main_tip


def test_a_repository_with_its_own_secret_refuses_the_global_one(
    server: Server, tmp_path: Path
) -> None:
    sha = _hosted(server, tmp_path)
    own = "per-repo-hook-secret"
    put = server.api("PUT", "/api/v1/repos/acme/hooked/hooks/secret", json={"value": own})
    assert put.status_code == 204
    writer = server.api("POST", "/api/v1/tokens", json={"name": "dev", "role": "write"})
    denied = server.api(
        "PUT",
        "/api/v1/repos/acme/hooked/hooks/secret",
        json={"value": "x"},
        token=writer.json()["token"],
    )
    assert denied.status_code == 403
    payload = push_payload("acme/hooked", sha)
    mine = "/hooks/github/acme/hooked"
    assert deliver(server, "push", payload).status_code == 401  # global secret, global URL
    assert deliver(server, "push", payload, secret=own).status_code == 401  # own, global URL
    assert deliver(server, "push", payload, path=mine).status_code == 401  # global, own URL
    # signed with the global secret at the URL of a repository without its own secret, but
    # about acme/hooked: refused, or the global secret would still reach acme/hooked
    elsewhere = deliver(server, "push", payload, path="/hooks/github/acme/other")
    assert elsewhere.status_code == 400, elsewhere.text
    good = deliver(server, "push", payload, secret=own, path=mine)
    assert good.status_code == 200 and len(good.json()["runs"]) == 1, good.text
    assert own not in server.log.read_text()


def test_a_non_ascii_signature_is_401_not_500(server: Server, tmp_path: Path) -> None:
    sha = _hosted(server, tmp_path)
    answer = deliver(
        server, "push", push_payload("acme/hooked", sha), signature="sha256=é".encode()
    )
    assert answer.status_code == 401, answer.text
