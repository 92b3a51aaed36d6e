"""The event that starts a run: its payload (`github.event`), ref, sha and changed files.

`synthesize()` is called once per `conveyor run` by the CLI (`conveyor.app.cmd_run`). With
`-e/--eventpath FILE` the payload is that JSON object; without it, a realistic payload is
built from the local Git repository (ref, before/after, commits, head_commit, repository,
sender, pusher, pull_request, inputs, …) through `conveyor.clients.git`. The resulting
frozen `Event` (a pure value defined in `conveyor.workflow.plan.event`, re-exported here)
is read by `conveyor.workflow.plan.filters` (does a workflow trigger) and by the run layer
(the `github` context, `GITHUB_REF`, `GITHUB_SHA`, `GITHUB_EVENT_PATH`).

A pull request's `GITHUB_SHA` is GitHub's test merge of head into base (the commit behind
`refs/pull/N/merge`), written to the object store without touching the work tree or refs.
The repository facts both paths share (identity, actor, that test merge, a pull request's
diff) live in `conveyor.workflow.event_repo`.

Start-up time matters (a one-step workflow must run as fast as act), so a push costs three
git processes (`log`, `config`, `for-each-ref`) and a pull request's diff is computed only
when a path filter asks for it (`changed_files` is lazy).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from conveyor.clients.errors import GitError
from conveyor.clients.git import ZERO_SHA, Commit, Git
from conveyor.core.errors import UserError
from conveyor.core.location import Location
from conveyor.workflow.event_repo import RepoFacts, actor_for, local_name, pr_diff, test_merge
from conveyor.workflow.model import Raw
from conveyor.workflow.plan.event import Event, LazyPaths, Payload

PR_NUMBER = 1


class EventError(UserError):
    """The event cannot be built: unreadable payload file, or no Git commit to describe."""


def with_schedule(event: Event, cron: str) -> Event:
    """The schedule event for one workflow: `github.event.schedule` is the cron that fired
    (the run layer calls this per triggered workflow with its first `on.schedule` cron)."""
    return replace(event, payload={**event.payload, "schedule": cron})


def synthesize(
    name: str,
    *,
    repo_dir: Path,
    payload_file: Path | None = None,
    inputs: Mapping[str, str] | None = None,
    ref_override: str | None = None,
    action: str | None = None,
) -> Event:
    """Build the event `name` from `payload_file` or, without one, from the Git repository."""
    given = dict(inputs or {})
    git = Git(repo_dir)
    if payload_file is not None:
        payload = read_payload(payload_file)
        return _from_payload(name, payload, git=git, inputs=given, ref_override=ref_override)
    # the repository facts (two `git` processes) are read while `git log` describes HEAD
    with ThreadPoolExecutor(max_workers=1) as pool:
        facts = pool.submit(RepoFacts.read, git, repo_dir)
        head = _head(git, repo_dir, with_changes=name == "push")
        repo = facts.result()
    local = _Local(name=name, head=head, repo=repo, git=git, inputs=given, action=action)
    return local.event(ref_override)


def read_payload(path: Path) -> Payload:
    """The JSON object in `path`; errors name the file (and line:col for bad JSON)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EventError(
            f"cannot read event payload: {exc.strerror or exc}",
            location=Location(file=str(path)),
            hint="pass -e with an existing JSON file",
        ) from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EventError(
            f"invalid JSON in event payload: {exc.msg}",
            location=Location(file=str(path), line=exc.lineno, col=exc.colno),
            hint="fix the JSON or omit -e to synthesize the payload from Git",
        ) from exc
    if not isinstance(value, dict):
        raise EventError(
            f"the event payload must be a JSON object, not {type(value).__name__}",
            location=Location(file=str(path), line=1, col=1),
            hint='wrap it in an object, e.g. {"ref": "refs/heads/main"}',
        )
    return value


def _head(git: Git, repo_dir: Path, *, with_changes: bool) -> Commit:
    try:
        return git.head(with_changes=with_changes)
    except GitError as exc:
        raise EventError(
            f"cannot describe the event from Git in {repo_dir}: {exc.stderr or exc}",
            hint="run in a Git repository with at least one commit, or pass -e PAYLOAD.json",
        ) from exc


# --- payloads synthesized from the local repository ---------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _Local:
    """An event synthesized from the local repository (no payload file given)."""

    name: str
    head: Commit
    repo: RepoFacts
    git: Git
    inputs: dict[str, str]
    action: str | None

    def event(self, ref_override: str | None) -> Event:
        if self.name in ("pull_request", "pull_request_target"):
            return self._pull_request(ref_override)
        ref = self._ref(ref_override)
        payload = self._common()
        changed: Sequence[str] | None = None
        if self.name == "push":
            payload, changed = self._push(ref), tuple(c.path for c in self.head.changes)
        elif self.name == "workflow_dispatch":
            payload |= {"inputs": dict(self.inputs), "ref": ref, "workflow": ""}
        elif self.name == "schedule":
            payload["schedule"] = ""
        elif self.name == "repository_dispatch":
            branch = ref.removeprefix("refs/heads/")
            payload |= {"action": self.action or "", "branch": branch}
            payload["client_payload"] = dict(self.inputs)
        elif self.action is not None:
            payload["action"] = self.action
        return Event(
            name=self.name,
            payload=payload,
            ref=ref,
            sha=self.head.sha,
            actor=actor_for(self.head),
            repository=self.repo.full_name,
            changed_files=changed,
            inputs=self.inputs,
        )

    def _ref(self, override: str | None) -> str:
        if override:
            if override.startswith("refs/"):
                return override
            kind = "tags" if override in self.head.tags else "heads"
            return f"refs/{kind}/{override}"
        if self.head.head_branch:
            return f"refs/heads/{self.head.head_branch}"
        if self.head.tags:
            return f"refs/tags/{self.head.tags[0]}"
        return f"refs/heads/{self.repo.branches.default or 'main'}"

    def _common(self) -> Payload:
        return {"repository": self.repo.payload(), "sender": self._sender()}

    def _sender(self) -> Payload:
        return {"login": actor_for(self.head), "type": "User"}

    def _push(self, ref: str) -> Payload:
        head = _commit_payload(self.head)
        is_tag = ref.startswith("refs/tags/")
        before = ZERO_SHA if is_tag else (self.head.first_parent or ZERO_SHA)
        html = f"https://github.com/{self.repo.full_name}"
        return {
            "ref": ref,
            "before": before,
            "after": self.head.sha,
            "created": before == ZERO_SHA,
            "deleted": False,
            "forced": False,
            "base_ref": None,
            "compare": f"{html}/compare/{before[:12]}...{self.head.sha[:12]}",
            "commits": [] if is_tag else [head],
            "head_commit": head,
            "pusher": {"name": self.head.author.name, "email": self.head.author.email},
            **self._common(),
        }

    def _pull_request(self, ref_override: str | None) -> Event:
        head_branch = self._ref(ref_override).removeprefix("refs/heads/")
        base = self.repo.branches.default or head_branch
        base_sha = self.repo.branches.tips.get(base, self.head.sha)
        merge_sha = test_merge(self.git, base_sha, self.head.sha, self.head)
        subject, _, body = self.head.message.strip().partition("\n")
        repo = self.repo.payload()
        owner = self.repo.owner
        pull: Payload = {
            "number": PR_NUMBER,
            "state": "open",
            "draft": False,
            "merged": False,
            "title": subject,
            "body": body.strip(),
            "user": self._sender(),
            "html_url": f"{repo['html_url']}/pull/{PR_NUMBER}",
            "head": {
                "ref": head_branch,
                "sha": self.head.sha,
                "label": f"{owner}:{head_branch}",
                "repo": repo,
            },
            "base": {"ref": base, "sha": base_sha, "label": f"{owner}:{base}", "repo": repo},
            "merge_commit_sha": merge_sha,
        }
        payload: Payload = {
            "action": self.action or "opened",
            "number": PR_NUMBER,
            "pull_request": pull,
            **self._common(),
        }
        return Event(
            name=self.name,
            payload=payload,
            ref=f"refs/pull/{PR_NUMBER}/merge",
            sha=merge_sha or self.head.sha,
            base_ref=base,
            head_ref=head_branch,
            actor=actor_for(self.head),
            repository=self.repo.full_name,
            changed_files=pr_diff(self.git, base_sha, self.head.sha),
            inputs=self.inputs,
        )


def _commit_payload(commit: Commit) -> Payload:
    def files(*statuses: str) -> list[Raw]:
        return [c.path for c in commit.changes if c.status in statuses]

    return {
        "id": commit.sha,
        "tree_id": "",
        "distinct": True,
        "message": commit.message.rstrip("\n"),
        "timestamp": commit.author.date,
        "url": "",
        "author": {"name": commit.author.name, "email": commit.author.email},
        "committer": {"name": commit.committer.name, "email": commit.committer.email},
        "added": files("A"),
        "removed": files("D"),
        "modified": files("M", "T"),
    }


# --- events from a payload file (-e) -------------------------------------------------------


def _from_payload(
    name: str, payload: Payload, *, git: Git, inputs: dict[str, str], ref_override: str | None
) -> Event:
    head: Commit | None
    try:
        head = git.head(with_changes=False)
    except GitError:
        head = None  # a payload file needs no repository; sha falls back to the payload's
    pull = _dict(payload.get("pull_request"))
    base, head_side = _dict(pull.get("base")), _dict(pull.get("head"))
    ref = ref_override or _str(payload.get("ref"))
    if pull and not ref:
        ref = f"refs/pull/{pull.get('number', PR_NUMBER)}/merge"
    if not ref and head is not None and head.head_branch:
        ref = f"refs/heads/{head.head_branch}"
    sha = _str(payload.get("after"))
    base_sha, head_sha = _str(base.get("sha")), _str(head_side.get("sha"))
    if not sha and base_sha and head_sha:
        sha = test_merge(git, base_sha, head_sha, head) or head_sha
    sha = sha or head_sha or (head.sha if head is not None else ZERO_SHA)
    given = {
        k: v if isinstance(v, str) else json.dumps(v)
        for k, v in _dict(payload.get("inputs")).items()
    }
    return Event(
        name=name,
        payload=payload,
        ref=ref,
        sha=sha,
        base_ref=_str(base.get("ref")),
        head_ref=_str(head_side.get("ref")),
        actor=_str(_dict(payload.get("sender")).get("login")) or actor_for(head),
        repository=_str(_dict(payload.get("repository")).get("full_name")) or local_name(git),
        changed_files=_payload_diff(git, payload, pull),
        inputs={**given, **inputs},
    )


def _payload_diff(git: Git, payload: Payload, pull: Payload) -> LazyPaths | None:
    if pull:
        base_sha = _str(_dict(pull.get("base")).get("sha"))
        head_sha = _str(_dict(pull.get("head")).get("sha"))
        return pr_diff(git, base_sha, head_sha) if base_sha and head_sha else None
    before, after = _str(payload.get("before")), _str(payload.get("after"))
    if not after or not before or before == ZERO_SHA:
        return None

    def load() -> tuple[str, ...]:
        return git.changed_files(before, after)

    return LazyPaths(load)


def _dict(value: Raw) -> Payload:
    return value if isinstance(value, dict) else {}


def _str(value: Raw) -> str:
    return value if isinstance(value, str) else ""


__all__ = [
    "ZERO_SHA",
    "Event",
    "EventError",
    "LazyPaths",
    "Payload",
    "read_payload",
    "synthesize",
    "with_schedule",
]
