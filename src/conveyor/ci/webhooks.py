"""GitHub webhook deliveries: whose secret signs them, which ones were seen, where their
commits come from, and whether their commits are what they claim (issue 12 §7, §9).

Called by the server's `/hooks/github` route (`conveyor.server.webhooks`), which reads the
body (capped) and hands it here before anything is acted on:

- `signer(repo)`: the HMAC a delivery is checked with, known before its body is read (so
  the body can stream through it instead of waiting in memory): for the per-repository
  URL `/hooks/github/<owner>/<name>` the repository's own secret (`put_secret`, admin
  only; encrypted in the store under the scope `hook:<owner>/<name>`, which no job ever
  gets), else the server's global one (`CONVEYOR_WEBHOOK_SECRET`); for `/hooks/github`
  the global one, and a delivery there about a repository with its own secret is refused.
  `Signer.matches` compares bytes, so a signature that is not ASCII is a mismatch (401),
  not a crash.
- `deliver`: the `X-GitHub-Delivery` id is claimed in the store first; a replay of a
  delivery already taken starts nothing and answers the runs of the first one (durable
  across restarts). A delivery that fails before it starts runs is released, so GitHub's
  redelivery can try again.
- commits come from the hosted repository of that name, else from a mirror cloned from
  the payload's `clone_url`, which must be `https://<github host>/<owner>/<name>[.git]` of
  the delivery's own repository (a `file://` URL made the server mirror its own files);
  git runs with only the https protocol allowed.
- the commit is checked against the mirror: a push's `after` must be the tip of its ref
  (or an ancestor of it, when the ref moved on before the delivery was handled); a pull
  request's head must be the tip of `refs/pull/<n>/head` where GitHub provides it;
  `pull_request_target` runs at the tip of the base branch and `workflow_dispatch` at the
  tip of its ref (`refs/heads/<ref>` when short), whatever commit the payload names.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import subprocess
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conveyor.ci import tracespans
from conveyor.ci.errors import CIError, Conflict, Forbidden
from conveyor.ci.events import ZERO
from conveyor.ci.refs import commit_of
from conveyor.ci.service import CIService
from conveyor.workflow.plan.event import Event

log = logging.getLogger(__name__)

SECRET_NAME = "WEBHOOK_SECRET"


def hook_scope(repo: str) -> str:
    return f"hook:{repo}"


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookConfig:
    global_secret: str = ""  # CONVEYOR_WEBHOOK_SECRET: repositories without their own
    github_host: str = "github.com"  # the only host clone URLs may name


class Webhooks:
    """Webhook rules of one server (see the module docstring)."""

    def __init__(self, service: CIService, config: WebhookConfig) -> None:
        self.service = service
        self.config = config
        if config.global_secret:
            service.masker.add(config.global_secret)

    # -- secrets -----------------------------------------------------------------------

    def put_secret(self, repo: str, value: str) -> None:
        if not value.strip():
            raise CIError("a webhook secret cannot be empty")
        self.service.repo_path(repo)  # the name must be a valid owner/name
        self.service.masker.add(value)
        self.service.store.config.put_secret(
            hook_scope(repo), SECRET_NAME, self.service.box.seal(value)
        )

    def delete_secret(self, repo: str) -> bool:
        return self.service.store.config.delete_secret(hook_scope(repo), SECRET_NAME)

    def has_own_secret(self, repo: str) -> bool:
        return bool(self.service.store.config.secret_names(hook_scope(repo)))

    def secret_for(self, repo: str) -> str:
        own = self.service.store.config.secret_values(hook_scope(repo)).get(SECRET_NAME)
        return self.service.box.open(own) if own is not None else self.config.global_secret

    def signer(self, repo: str | None) -> Signer | None:
        """The HMAC to check a delivery with: `repo`'s own secret (else the global one) for
        the per-repository URL, the global one for `repo=None`; None when there is none."""
        secret = self.secret_for(repo) if repo else self.config.global_secret
        return Signer(secret) if secret else None

    # -- deliveries --------------------------------------------------------------------

    async def deliver(
        self, event: Event, payload: dict[str, Any], delivery: str, *, traceparent: str = ""
    ) -> dict[str, Any]:
        """Runs for a verified delivery (none for a replay); a W3C `traceparent` the request
        carried is linked from the commit's trace (`tracespans.webhook_received`)."""
        started = time.time()
        earlier = self.service.store.config.claim_delivery(
            delivery, repo=event.repository, event=event.name
        )
        if earlier is not None:
            log.warning(
                "webhook delivery %s (%s) was already received: nothing starts",
                delivery,
                event.name,
            )
            return {"event": event.name, "duplicate": True, "runs": earlier["runs"]}
        try:
            git_dir = await asyncio.to_thread(self.git_dir, event.repository, payload)
            event = await asyncio.to_thread(checked, git_dir, event)
            ids = await self.service.handle_event(event, git_dir=git_dir)
        except BaseException:
            self.service.store.config.release_delivery(delivery)
            raise
        self.service.store.config.finish_delivery(delivery, ids)
        tracespans.webhook_received(event, ids, started=started, traceparent=traceparent)
        return {"event": event.name, "runs": ids}

    # -- repositories ------------------------------------------------------------------

    def git_dir(self, full_name: str, payload: dict[str, Any]) -> Path:
        """The hosted repository, else a mirror of the delivery's GitHub repository."""
        hosted = self.service.repo_path(full_name)
        if hosted.exists():
            return hosted
        mirror = self.service.config.data_dir / "mirrors" / f"{full_name}.git"
        if mirror.exists():
            _git(
                None,
                "--git-dir",
                str(mirror),
                "fetch",
                "--quiet",
                "--prune",
                "origin",
                "+refs/*:refs/*",
                what=f"fetch {full_name}",
            )
            return mirror
        repo = payload.get("repository")
        url = str(repo.get("clone_url", "")) if isinstance(repo, dict) else ""
        allowed_clone_url(url, full_name, self.config.github_host)
        _git(None, "clone", "--quiet", "--mirror", "--", url, str(mirror), what=f"clone {url}")
        return mirror


def allowed_clone_url(url: str, full_name: str, host: str) -> None:
    """Raise Forbidden unless `url` is `https://<host>/<full_name>[.git]`."""
    parts = urlsplit(url)
    path = parts.path.removesuffix(".git").strip("/")
    if (
        parts.scheme != "https"
        or (parts.hostname or "").lower() != host.lower()
        or parts.username is not None
        or parts.port not in (None, 443)
        or parts.query
        or parts.fragment
        or path.lower() != full_name.lower()
    ):
        raise Forbidden(
            f"clone URL {url[:200]!r} of {full_name} is refused: only "
            f"https://{host}/{full_name}.git is fetched (set the server's GitHub host with "
            "--github-host for GitHub Enterprise)"
        )


_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def checked(git_dir: Path, event: Event) -> Event:
    """`event` once its commit is verified against `git_dir` (see the module docstring)."""
    found = event.payload.get("pull_request")
    pr = found if isinstance(found, dict) else {}
    if event.name in ("push", "pull_request") and not _SHA.match(event.sha):
        raise Conflict(f"the delivery's commit {event.sha[:80]!r} is not a commit id")
    if event.name == "push" and event.sha and event.sha != ZERO:
        _on_ref(git_dir, event.ref, event.sha)
    elif event.name == "pull_request":
        head_ref = f"refs/pull/{event.payload.get('number', pr.get('number', 0))}/head"
        if commit_of(git_dir, head_ref) is not None:
            _on_ref(git_dir, head_ref, event.sha)
    elif event.name in ("pull_request_target", "workflow_dispatch"):
        ref = event.ref if event.ref.startswith("refs/") else f"refs/heads/{event.ref}"
        tip = commit_of(git_dir, ref)
        if tip is None:
            raise Conflict(f"{event.repository} has no {ref}: nothing runs")
        return replace(event, ref=ref, sha=tip)
    return event


def _on_ref(git_dir: Path, ref: str, sha: str) -> None:
    tip = commit_of(git_dir, ref)
    if tip is None:
        raise Conflict(f"the delivery names {ref}, which the repository does not have")
    if tip == sha:
        return
    ancestor = subprocess.run(
        [
            "git",
            "--git-dir",
            str(git_dir),
            "merge-base",
            "--is-ancestor",
            "--end-of-options",
            sha,
            tip,
        ],
        capture_output=True,
        check=False,
    )
    if ancestor.returncode != 0:
        raise Conflict(
            f"the delivery's commit {sha[:40]!r} is not on {ref} (its tip is {tip[:12]}): "
            "nothing runs"
        )


def _git(cwd: Path | None, *args: str, what: str) -> None:
    # only https, whatever a URL, a redirect or a submodule asks for
    argv = ["git", "-c", "protocol.allow=never", "-c", "protocol.https.allow=always", *args]
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CIError(f"cannot {what}: {done.stderr.strip()[:200]}; GitHub may redeliver")


class Signer:
    """HMAC-SHA256 of a body fed in pieces, as `X-Hub-Signature-256` carries it."""

    def __init__(self, secret: str) -> None:
        self._mac = hmac.new(secret.encode(), digestmod=hashlib.sha256)

    def update(self, piece: bytes) -> None:
        self._mac.update(piece)

    def matches(self, signature: str) -> bool:
        """Bytes compared in constant time: a signature that is not ASCII is a mismatch."""
        if not signature.startswith("sha256="):
            return False
        given = signature.removeprefix("sha256=").encode("utf-8", "surrogateescape")
        return hmac.compare_digest(given, self._mac.hexdigest().encode())
