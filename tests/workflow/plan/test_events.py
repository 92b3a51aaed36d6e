"""Event synthesis in real temporary Git repositories, and `-e` payload files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import conveyor.clients.git as client_module
from conveyor.clients.errors import GitError
from conveyor.clients.git import ZERO_SHA, Git
from conveyor.workflow.event_repo import repository_from_url
from conveyor.workflow.events import (
    Event,
    EventError,
    LazyPaths,
    read_payload,
    synthesize,
    with_schedule,
)
from tests import gitutil
from tests.gitutil import git_env

# The repository's own config names the author (Mona Lisa): no fixed identity over it.
REPO_CONFIG = git_env(identity=None)


def git(repo: Path, *args: str) -> str:
    return gitutil.git(repo, *args, env=REPO_CONFIG)


def commit(repo: Path, message: str, files: dict[str, str | None]) -> str:
    return gitutil.commit(repo, message, files, env=REPO_CONFIG)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("GITHUB_ACTOR", raising=False)
    path = tmp_path / "my-app"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Mona Lisa")
    git(path, "config", "user.email", "mona@example.com")
    commit(path, "first", {"README.md": "hi\n", "src/app.py": "print(1)\n", "old.txt": "x"})
    return path


def test_push_payload_from_git(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    second = commit(
        repo,
        "change things\n\nwith a body",
        {"src/app.py": "print(2)\n", "docs/new.md": "new", "old.txt": None},
    )
    event = synthesize("push", repo_dir=repo)
    assert (event.name, event.ref, event.sha) == ("push", "refs/heads/main", second)
    assert event.repository == "local/my-app"
    assert event.actor == "Mona-Lisa"
    assert sorted(event.changed_files or ()) == ["docs/new.md", "old.txt", "src/app.py"]
    payload = event.payload
    assert (payload["ref"], payload["before"], payload["after"]) == (
        "refs/heads/main",
        first,
        second,
    )
    assert payload["created"] is False
    head = payload["head_commit"]
    assert isinstance(head, dict)
    assert head["id"] == second
    assert head["message"] == "change things\n\nwith a body"
    assert head["author"] == {"name": "Mona Lisa", "email": "mona@example.com"}
    assert (head["added"], head["removed"], head["modified"]) == (
        ["docs/new.md"],
        ["old.txt"],
        ["src/app.py"],
    )
    assert isinstance(head["timestamp"], str) and "T" in head["timestamp"]
    assert payload["commits"] == [head]
    repository = payload["repository"]
    assert isinstance(repository, dict)
    assert repository["full_name"] == "local/my-app"
    assert repository["owner"] == {"login": "local", "name": "local", "type": "User"}
    assert repository["default_branch"] == "main"
    assert str(repository["clone_url"]).startswith("file://")
    assert payload["sender"] == {"login": "Mona-Lisa", "type": "User"}
    assert payload["pusher"] == {"name": "Mona Lisa", "email": "mona@example.com"}


def test_first_commit_has_zero_before_and_all_files(repo: Path) -> None:
    event = synthesize("push", repo_dir=repo)
    assert event.payload["before"] == ZERO_SHA
    assert event.payload["created"] is True
    assert sorted(event.changed_files or ()) == ["README.md", "old.txt", "src/app.py"]


def test_repository_and_default_branch_from_origin(repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", "git@github.com:octo-org/octo-repo.git")
    git(repo, "checkout", "-q", "-b", "trunk")
    git(repo, "update-ref", "refs/remotes/origin/trunk", "HEAD")
    git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    event = synthesize("push", repo_dir=repo)
    assert event.repository == "octo-org/octo-repo"
    repository = event.payload["repository"]
    assert isinstance(repository, dict)
    assert repository["default_branch"] == "trunk"
    assert repository["clone_url"] == "git@github.com:octo-org/octo-repo.git"
    assert event.ref == "refs/heads/trunk"


def test_actor_from_environment(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_ACTOR", "octocat")
    assert synthesize("push", repo_dir=repo).actor == "octocat"


@pytest.mark.parametrize(
    ("override", "ref"),
    [
        ("v1.0", "refs/tags/v1.0"),  # HEAD carries the tag
        ("feature", "refs/heads/feature"),
        ("refs/heads/x", "refs/heads/x"),
    ],
)
def test_ref_override(repo: Path, override: str, ref: str) -> None:
    git(repo, "tag", "v1.0")
    event = synthesize("push", repo_dir=repo, ref_override=override)
    assert event.ref == ref == event.payload["ref"]


def test_tag_push_has_no_commits_and_zero_before(repo: Path) -> None:
    commit(repo, "second", {"a": "1"})
    git(repo, "tag", "v2")
    event = synthesize("push", repo_dir=repo, ref_override="v2")
    assert event.payload["before"] == ZERO_SHA
    assert event.payload["commits"] == []
    assert isinstance(event.payload["head_commit"], dict)


def test_detached_head_on_a_tag_pushes_the_tag(repo: Path) -> None:
    git(repo, "tag", "v3")
    git(repo, "checkout", "-q", "--detach")
    assert synthesize("push", repo_dir=repo).ref == "refs/tags/v3"


def test_pull_request_from_a_feature_branch(repo: Path) -> None:
    base_sha = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "feature")
    head_sha = commit(repo, "Add feature\n\nDetails.", {"src/feature.py": "x"})
    git(repo, "checkout", "-q", "main")
    main_sha = commit(repo, "main moves on", {"unrelated.txt": "y"})
    git(repo, "checkout", "-q", "feature")
    event = synthesize("pull_request", repo_dir=repo)
    assert event.ref == "refs/pull/1/merge"
    # GITHUB_SHA is GitHub's test merge: parents base then head, both sides' files, no ref.
    assert git(repo, "rev-parse", f"{event.sha}^1", f"{event.sha}^2").split() == [
        main_sha,
        head_sha,
    ]
    assert "feature.py" in git(repo, "ls-tree", "-r", "--name-only", event.sha)
    assert "unrelated.txt" in git(repo, "ls-tree", "-r", "--name-only", event.sha)
    assert event.sha not in git(repo, "for-each-ref", "--format=%(objectname)")
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "log", "-1", "--format=%an %s", event.sha) == (
        f"GitHub Merge {head_sha} into {main_sha}"
    )
    assert synthesize("pull_request", repo_dir=repo).sha == event.sha  # deterministic
    assert (event.base_ref, event.head_ref) == ("main", "feature")
    assert isinstance(event.changed_files, LazyPaths)
    assert list(event.changed_files) == ["src/feature.py"]  # three-dot: not unrelated.txt
    payload = event.payload
    assert payload["action"] == "opened"
    assert payload["number"] == 1
    pull = payload["pull_request"]
    assert isinstance(pull, dict)
    assert pull["number"] == 1
    assert pull["merge_commit_sha"] == event.sha
    assert pull["title"] == "Add feature"
    assert pull["body"] == "Details."
    assert pull["head"] == {
        "ref": "feature",
        "sha": head_sha,
        "label": "local:feature",
        "repo": payload["repository"],
    }
    base = pull["base"]
    assert isinstance(base, dict)
    assert (base["ref"], base["sha"]) == ("main", main_sha)
    assert base_sha != main_sha


def test_pull_request_action_can_be_chosen(repo: Path) -> None:
    event = synthesize("pull_request", repo_dir=repo, action="closed")
    assert event.payload["action"] == "closed"


def test_workflow_dispatch_carries_string_inputs(repo: Path) -> None:
    event = synthesize("workflow_dispatch", repo_dir=repo, inputs={"flag": "true", "n": "3"})
    assert event.payload["inputs"] == {"flag": "true", "n": "3"}
    assert event.payload["ref"] == "refs/heads/main"
    assert event.inputs == {"flag": "true", "n": "3"}
    assert event.changed_files is None


def test_schedule_and_with_schedule(repo: Path) -> None:
    event = synthesize("schedule", repo_dir=repo)
    fired = with_schedule(event, "*/15 * * * *")
    assert fired.payload["schedule"] == "*/15 * * * *"
    assert (fired.ref, fired.sha, fired.name) == (event.ref, event.sha, "schedule")


def test_repository_dispatch(repo: Path) -> None:
    event = synthesize("repository_dispatch", repo_dir=repo, inputs={"k": "v"}, action="deploy")
    assert event.payload["action"] == "deploy"
    assert event.payload["client_payload"] == {"k": "v"}
    assert event.action == "deploy"


def test_payload_file_is_used_as_given(repo: Path, tmp_path: Path) -> None:
    data: dict[str, Any] = {
        "ref": "refs/heads/release",
        "before": git(repo, "rev-parse", "HEAD"),
        "after": commit(repo, "two", {"docs/x.md": "x"}),
        "repository": {"full_name": "acme/widget"},
        "sender": {"login": "hubot"},
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(data))
    event = synthesize("push", repo_dir=repo, payload_file=path)
    assert event.payload == data
    assert (event.ref, event.sha, event.repository, event.actor) == (
        "refs/heads/release",
        data["after"],
        "acme/widget",
        "hubot",
    )
    assert list(event.changed_files or ()) == ["docs/x.md"]


def test_pull_request_payload_file(repo: Path, tmp_path: Path) -> None:
    data = {
        "action": "synchronize",
        "pull_request": {"number": 7, "base": {"ref": "main"}, "head": {"ref": "fix"}},
    }
    path = tmp_path / "pr.json"
    path.write_text(json.dumps(data))
    event = synthesize("pull_request", repo_dir=repo, payload_file=path)
    assert (event.ref, event.base_ref, event.head_ref) == ("refs/pull/7/merge", "main", "fix")
    assert event.sha == git(repo, "rev-parse", "HEAD")
    assert event.changed_files is None  # no shas in the payload: the diff is unknown
    assert event.repository == "local/my-app"


def test_payload_file_outside_a_git_repository(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text('{"inputs": {"n": 1}}')
    event = synthesize("workflow_dispatch", repo_dir=tmp_path, payload_file=path, inputs={"m": "2"})
    assert event.sha == ZERO_SHA
    assert event.inputs == {"n": "1", "m": "2"}


@pytest.mark.parametrize(
    ("text", "message", "where"),
    [
        ("[1, 2]", "must be a JSON object, not list", ":1:1"),
        ('{"a": 1,\n  oops}', "invalid JSON in event payload", ":2:3"),
    ],
)
def test_bad_payload_files_name_the_file(
    tmp_path: Path, text: str, message: str, where: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(EventError) as info:
        read_payload(path)
    assert message in info.value.message
    assert str(info.value).startswith(f"{path}{where}: ")


def test_missing_payload_file(tmp_path: Path) -> None:
    with pytest.raises(EventError, match="cannot read event payload") as info:
        synthesize("push", repo_dir=tmp_path, payload_file=tmp_path / "none.json")
    assert info.value.location is not None
    assert info.value.location.file.endswith("none.json")


def test_not_a_git_repository(tmp_path: Path) -> None:
    with pytest.raises(EventError, match="cannot describe the event from Git") as info:
        synthesize("push", repo_dir=tmp_path)
    assert isinstance(info.value.__cause__, GitError)
    assert info.value.hint is not None and "-e" in info.value.hint


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/octo/repo.git", ("octo", "repo")),
        ("https://github.com/octo/repo", ("octo", "repo")),
        ("git@github.com:octo/repo.git", ("octo", "repo")),
        ("ssh://git@example.com:2222/group/sub/repo.git", ("sub", "repo")),
        ("/srv/git/app.git", ("git", "app")),
        ("file:///srv/git/app.git/", ("git", "app")),
        ("app", ("local", "app")),
    ],
)
def test_repository_from_url(url: str, expected: tuple[str, str]) -> None:
    assert repository_from_url(url) == expected


def test_event_defaults() -> None:
    event = Event(name="push", repository="octo/repo", payload={"action": 3})
    assert (event.repository_owner, event.action, event.changed_files) == ("octo", None, None)


def test_git_client_reads_log_tags_and_merge_base(repo: Path) -> None:
    client = Git(repo)
    first = client.rev_parse("HEAD")
    second = commit(repo, "two", {"b": "2"})
    git(repo, "tag", "v1")
    assert client.current_branch() == "main"
    assert client.tags_at() == ("v1",)
    assert [c.sha for c in client.log(f"{first}..HEAD")] == [second]
    assert client.merge_base(first, second) == first
    assert client.changed_files(first, second) == ("b",)
    assert client.remote_url() is None
    assert client.head().tags == ("v1",)
    with pytest.raises(GitError, match="rev-parse"):
        client.rev_parse("no-such-rev")


def count_git_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    calls: list[list[str]] = []
    real = client_module.subprocess.run

    def spy(argv: list[str], **kwargs: Any) -> Any:
        calls.append(argv[3:])  # drop `git -C <dir>`
        return real(argv, **kwargs)

    monkeypatch.setattr(client_module.subprocess, "run", spy)
    return calls


def test_push_costs_three_git_processes(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = count_git_calls(monkeypatch)
    event = synthesize("push", repo_dir=repo)
    assert list(event.changed_files or ()) != []
    # the repository facts are read alongside `git log`: any order
    assert sorted(argv[0] for argv in calls) == ["config", "for-each-ref", "log"]


def test_pull_request_diff_runs_only_when_asked(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "f", {"f.txt": "f"})
    calls = count_git_calls(monkeypatch)
    event = synthesize("pull_request", repo_dir=repo)
    made = ["log", "config", "for-each-ref", "merge-tree", "commit-tree"]
    assert sorted(argv[0] for argv in calls[:3]) == sorted(made[:3])  # read side by side
    assert [argv[0] for argv in calls[3 : len(made)]] == made[3:]
    assert list(event.changed_files or ()) == ["f.txt"]
    assert list(event.changed_files or ()) == ["f.txt"]  # remembered: no second diff
    assert [argv[0] for argv in calls[len(made) :]] == ["merge-base", "diff"]


def test_conflicting_pull_request_falls_back_to_the_head_commit(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    head_sha = commit(repo, "theirs", {"README.md": "feature\n"})
    git(repo, "checkout", "-q", "main")
    commit(repo, "ours", {"README.md": "main\n"})
    git(repo, "checkout", "-q", "feature")
    event = synthesize("pull_request", repo_dir=repo)
    assert event.sha == head_sha
    pull = event.payload["pull_request"]
    assert isinstance(pull, dict)
    assert pull["merge_commit_sha"] is None


def test_pull_request_payload_file_with_shas_gets_a_test_merge(repo: Path, tmp_path: Path) -> None:
    base_sha = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "-b", "feature")
    head_sha = commit(repo, "f", {"f.txt": "f"})
    data = {
        "action": "opened",
        "pull_request": {
            "number": 7,
            "base": {"ref": "main", "sha": base_sha},
            "head": {"ref": "feature", "sha": head_sha},
        },
    }
    path = tmp_path / "pr.json"
    path.write_text(json.dumps(data))
    event = synthesize("pull_request", repo_dir=repo, payload_file=path)
    assert event.sha not in (base_sha, head_sha)
    assert git(repo, "rev-parse", f"{event.sha}^2") == head_sha
    assert list(event.changed_files or ()) == ["f.txt"]
