"""What an event learns from the Git repository besides HEAD: identity, actor, test merge, diff.

Owns `RepoFacts` (owner/name, clone URL, default branch and the `repository` payload),
`repository_from_url`, `local_name`, `actor_for` (`github.actor`), `test_merge` (a pull
request's `GITHUB_SHA`) and `pr_diff` (a pull request's lazily computed changed files).
Called by `conveyor.workflow.events`, both when it synthesizes an event from the local
repository and when it completes a `-e` payload file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from conveyor.clients.errors import GitError
from conveyor.clients.git import BranchInfo, Commit, Git, Person
from conveyor.workflow.plan.event import LazyPaths, Payload


@dataclass(frozen=True, slots=True, kw_only=True)
class RepoFacts:
    """Repository identity for payloads: `owner/name`, clone URL and default branch."""

    owner: str
    name: str
    clone_url: str
    branches: BranchInfo

    @classmethod
    def read(cls, git: Git, repo_dir: Path) -> RepoFacts:
        url = git.remote_url()
        owner, name = repository_from_url(url) if url else ("local", repo_dir.resolve().name)
        clone_url = url or repo_dir.resolve().as_uri()
        return cls(owner=owner, name=name, clone_url=clone_url, branches=git.branches())

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def payload(self) -> Payload:
        default = self.branches.default or "main"
        html = f"https://github.com/{self.full_name}"
        return {
            "name": self.name,
            "full_name": self.full_name,
            "owner": {"login": self.owner, "name": self.owner, "type": "User"},
            "private": False,
            "fork": False,
            "html_url": html,
            "url": f"https://api.github.com/repos/{self.full_name}",
            "clone_url": self.clone_url,
            "default_branch": default,
            "master_branch": default,
        }


def repository_from_url(url: str) -> tuple[str, str]:
    """`owner, name` from a remote URL: https, ssh, scp-like `git@host:o/n.git`, or a path."""
    text = url.strip().rstrip("/").removesuffix(".git")
    if "://" in text:
        text = text.split("://", 1)[1].partition("/")[2]
    elif ":" in text and not text.startswith("/"):
        text = text.split(":", 1)[1]
    parts = [part for part in text.split("/") if part]
    if not parts:
        return "local", "repository"
    return (parts[-2] if len(parts) > 1 else "local"), parts[-1]


def local_name(git: Git) -> str:
    try:
        url = git.remote_url()
    except GitError:
        url = None
    owner, name = repository_from_url(url) if url else ("local", git.repo_dir.resolve().name)
    return f"{owner}/{name}"


def actor_for(head: Commit | None) -> str:
    """`github.actor`: $GITHUB_ACTOR, else the HEAD commit's author as a login-like name."""
    from_env = os.environ.get("GITHUB_ACTOR", "").strip()
    if from_env:
        return from_env
    if head is None or not head.author.name.strip():
        return "local"
    return "-".join(head.author.name.split())


def test_merge(git: Git, base_sha: str, head_sha: str, local_head: Commit | None) -> str | None:
    """GITHUB_SHA of a pull request: GitHub's test merge of head into base (the commit behind
    `refs/pull/N/merge`), made locally without touching the work tree or any ref; None when
    the sides conflict (GitHub would not run the workflow) or the commits are not here."""
    date = local_head.committer.date if local_head is not None else "2000-01-01T00:00:00+00:00"
    merger = Person(name="GitHub", email="noreply@github.com", date=date)
    return git.merge_commit(base_sha, head_sha, committer=merger)


def pr_diff(git: Git, base_sha: str, head_sha: str) -> LazyPaths:
    """Files of a pull request: three-dot diff, merge-base(base, head)..head, as GitHub."""

    def load() -> tuple[str, ...]:
        merge_base = git.merge_base(base_sha, head_sha) or base_sha
        return git.changed_files(merge_base, head_sha)

    return LazyPaths(load)


__all__ = ["RepoFacts", "actor_for", "local_name", "pr_diff", "repository_from_url", "test_merge"]
