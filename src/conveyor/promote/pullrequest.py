"""`--mode pull-request`: push a promotion branch and open (or reuse) a pull request.

The branch is `conveyor/promote/<env>/<image>-<tag>` (image = the repository's last path
segment; the digest's first 12 hex digits stand in for a missing tag), force-pushed since
Conveyor owns it. On GitHub (remote host github.com, or any remote when an API URL is
given) an open pull request whose head branch starts `conveyor/promote/<env>/<image>-`
is reused: the new commit goes to its branch and its title and body are updated, so one
env and image never has two open promotion PRs. Otherwise `POST /repos/{owner}/{repo}/pulls`
opens one. If that call fails the branch just pushed is deleted again. Other remotes get
the branch and a compare URL.

REST calls follow docs.github.com/rest/pulls/pulls (list, create, update) with the
`application/vnd.github+json` media type, `X-GitHub-Api-Version: 2022-11-28`, a bearer
token and a User-Agent (GitHub rejects requests without one). Called by `service`.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from typing import Any

from conveyor.clients.gitwrite import mask
from conveyor.promote.errors import PromoteError, PromoteInputError
from conveyor.promote.planner import Plan
from conveyor.promote.writeback import Outcome, Status, Target, Writer, WriteRequest

API_VERSION = "2022-11-28"
GITHUB_API = "https://api.github.com"
_UNSAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class PullRequestOptions:
    api_url: str | None = None  # GitHub API base; None: api.github.com for github.com remotes
    token: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Repo:
    owner: str
    name: str
    web: str  # https://host/owner/name, for compare URLs


def branch_prefix(req: WriteRequest) -> str:
    spec = req.spec
    image = spec.image.path.rsplit("/", 1)[-1] if spec.image else "values"
    env = spec.env or "paths"
    return f"conveyor/promote/{_safe(env)}/{_safe(image)}-"


def branch_name(req: WriteRequest) -> str:
    spec = req.spec
    version = spec.tag or (spec.digest or "").partition(":")[2][:12] or "set"
    return branch_prefix(req) + _safe(version)


def _safe(text: str) -> str:
    return _UNSAFE_RE.sub("-", text).strip("-.") or "x"


def repo_of(url: str) -> Repo | None:
    """owner/name and web URL of an http(s) or scp-style remote, None for local paths."""
    match = re.match(r"^(?:https?://)?(?:[^@/]+@)?([^/:]+(?::\d+)?)[/:](.+?)(?:\.git)?/?$", url)
    if match is None or url.startswith(("/", "file:")):
        return None
    host, path = match[1], match[2]
    parts = path.split("/")
    if len(parts) < 2:
        return None
    scheme = "http" if url.startswith("http://") else "https"
    return Repo(owner=parts[-2], name=parts[-1], web=f"{scheme}://{host}/{path}")


class GitHub:
    """The three pull-request calls promotion needs, over urllib."""

    def __init__(self, api_url: str, token: str | None) -> None:
        self.api = api_url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.api + path, data=data, method=method)
        request.add_header("Accept", "application/vnd.github+json")
        request.add_header("X-GitHub-Api-Version", API_VERSION)
        request.add_header("User-Agent", "conveyor-promote")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise self._error(method, path, exc) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise PromoteInputError(
                f"GitHub API {mask(self.api)} unreachable: {exc}",
                hint="check --github-api and the network",
            ) from exc

    def _error(self, method: str, path: str, exc: urllib.error.HTTPError) -> PromoteError:
        try:
            detail = json.loads(exc.read() or b"{}").get("message", "")
        except (ValueError, AttributeError):
            detail = ""
        text = mask(f"GitHub API {method} {path}: {exc.code} {detail}".strip(), [self.token or ""])
        if exc.code in (401, 403):
            return PromoteInputError(
                text, hint="give a token with pull-request write access (GITHUB_TOKEN or --token)"
            )
        return PromoteInputError(text, hint="check the repository and base branch")

    def open_pulls(self, repo: Repo, base: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"state": "open", "base": base, "per_page": 100})
        found = self.call("GET", f"/repos/{repo.owner}/{repo.name}/pulls?{query}")
        return [p for p in found if isinstance(p, dict)] if isinstance(found, list) else []

    def create(self, repo: Repo, *, title: str, head: str, base: str, body: str) -> Any:
        return self.call(
            "POST",
            f"/repos/{repo.owner}/{repo.name}/pulls",
            {"title": title, "head": head, "base": base, "body": body},
        )

    def update(self, repo: Repo, number: int, *, title: str, body: str) -> Any:
        return self.call(
            "PATCH",
            f"/repos/{repo.owner}/{repo.name}/pulls/{number}",
            {"title": title, "body": body},
        )


def open_pull_request(req: WriteRequest, options: PullRequestOptions, writer: Writer) -> Outcome:
    """Commit on the base tip, push the promotion branch, then open or reuse the PR."""
    repo = repo_of(req.remote.url)
    api_url = options.api_url or (GITHUB_API if repo and _is_github(req.remote.url) else None)
    github = GitHub(api_url, options.token) if api_url and repo else None
    prefix, fresh_branch = branch_prefix(req), branch_name(req)
    found: dict[str, Any] = {}

    def redirect(sha: str, plan: Plan) -> Target:
        del sha, plan
        if github is not None and repo is not None:
            for pull in github.open_pulls(repo, req.branch):
                head = pull.get("head") or {}
                if str(head.get("ref", "")).startswith(prefix):
                    found.update(pull)
                    return Target(ref=f"refs/heads/{head['ref']}", force=True)
        return Target(ref=f"refs/heads/{fresh_branch}", force=True)

    outcome = writer.run(before_push=redirect)
    if outcome.status != Status.PROMOTED:
        return outcome
    title = req.title or f"Promote {req.spec.reference} to {req.spec.env or 'paths'}"
    body = _body(req, outcome)
    extra = {"branch": str((found.get("head") or {}).get("ref", fresh_branch))}
    if github is not None and repo is not None:
        if found:
            pull = github.update(repo, int(found["number"]), title=title, body=body)
            extra |= {"url": str(pull.get("html_url", "")), "reused": "true"}
        else:
            try:
                pull = github.create(
                    repo, title=title, head=fresh_branch, base=req.branch, body=body
                )
            except PromoteError:
                writer.cache.delete_remote_branch(fresh_branch)  # no stray branch
                raise
            extra |= {"url": str(pull.get("html_url", "")), "reused": "false"}
        extra["number"] = str(pull.get("number", ""))
    elif repo is not None:
        extra["url"] = f"{repo.web}/compare/{req.branch}...{extra['branch']}"
    return replace(
        outcome,
        status=Status.PULL_REQUEST,
        extra=extra,
        reason=f"pushed {extra['branch']}" + (f": {extra['url']}" if extra.get("url") else ""),
    )


def _is_github(url: str) -> bool:
    host = urllib.parse.urlsplit(url if "://" in url else f"ssh://{url}").hostname or ""
    return host == "github.com" or url.startswith("git@github.com:")


def _body(req: WriteRequest, outcome: Outcome) -> str:
    lines = [f"Promotes `{req.spec.reference}` to `{req.spec.env or 'paths'}`.", ""]
    lines += [f"- `{c.location}`: `{c.old}` → `{c.new}`" for c in outcome.changes if c.old != c.new]
    if req.source_commit:
        lines += ["", f"Source commit: {req.source_commit}"]
    if req.run:
        lines += [f"Run: {req.run}"]
    return "\n".join(lines) + "\n"
