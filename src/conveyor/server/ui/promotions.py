"""Promotion history of one application for its page: who promoted which image when, read
from the `Conveyor-*` trailers of the commits that changed the app's path in its config
repo (`promote.history` parses them; `conveyor promote history` reads the same record).

Only a config repo this server hosts can be read here (the app's `repoURL` is
`…/git/OWNER/NAME.git` or the hosted repository's path); for any other the page says so.
One `git log` on the hosted bare repository, limited to `LIMIT` promotions. Called by
`routes_apps`.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conveyor.ci.errors import NotFound
from conveyor.ci.service import CIService
from conveyor.clients.errors import GitError
from conveyor.clients.git import Git
from conveyor.promote.history import LOG_FORMAT, Entry, parse_log

LIMIT = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class Promotions:
    """The entries, newest first, or why there are none to show."""

    repo: str = ""  # the hosted repository's full name
    entries: tuple[Entry, ...] = ()
    unavailable: str = ""


def hosted_name(service: CIService, repo_url: str) -> str:
    """The full name of the hosted repository `repo_url` names, or ''."""
    names = set(service.repos())
    path = urllib.parse.urlsplit(repo_url).path if "://" in repo_url else ""
    if "/git/" in path:
        candidate = path.split("/git/", 1)[1].strip("/").removesuffix(".git")
        if candidate in names:
            return candidate
    for name in names:
        if repo_url.rstrip("/") == str(service.repo_path(name)):
            return name
    return ""


def of_app(service: CIService, status: Mapping[str, Any]) -> Promotions:
    """The promotions recorded for the app's source path (its primary source)."""
    source = status.get("source") or {}
    url, path = str(source.get("repoURL", "")), str(source.get("path", ""))
    name = hosted_name(service, url)
    if not name:
        return Promotions(unavailable=f"the config repo {url} is not hosted by this server")
    revision = str(source.get("targetRevision") or "HEAD")
    try:
        out = Git(service.repo_path(name)).run(
            "log",
            "-E",
            "--grep=^Conveyor-Image: ",
            f"--format={LOG_FORMAT}",
            f"--max-count={LIMIT}",
            "--end-of-options",
            revision,
            "--",
            path.strip("/") or ".",
        )
    except (GitError, NotFound) as exc:
        return Promotions(repo=name, unavailable=f"cannot read {name}'s history: {exc}")
    return Promotions(repo=name, entries=tuple(parse_log(out)))
