"""What each destination receives, built from a rendered notice. Pure; called by
`notify.delivery`.

* webhook: a JSON document (below) signed like GitHub's `X-Hub-Signature-256`:
  `X-Conveyor-Signature: sha256=<hex HMAC-SHA256 of the exact body bytes, keyed with the
  destination's secret>`, plus `X-Conveyor-Event: <trigger>` and `X-Conveyor-Delivery: <id>`.
* slack: an incoming-webhook message, `text` (the fallback and notification line) and
  Block Kit `blocks` (header, section, context).
* teams: for Workflows webhooks a `message` whose attachment is an Adaptive Card
  (`application/vnd.microsoft.card.adaptive`); for legacy Office 365 connector webhooks a
  `MessageCard` (`format: messagecard`).
* github: a commit status, `POST {apiUrl}/repos/{owner}/{repo}/statuses/{sha}`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from conveyor.core.notices import Notice, Trigger
from conveyor.notify.destinations import Destination, TeamsFormat
from conveyor.notify.templates import Rendered, variables

SIGNATURE_HEADER = "X-Conveyor-Signature"
_GOOD = {Trigger.DRIFT_REPAIRED}
_PENDING = {Trigger.DRIFT_DETECTED, Trigger.APPROVAL_WAITING}


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpRequest:
    url: str
    body: bytes
    headers: dict[str, str]


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def document(notice: Notice, text: Rendered, delivery: int) -> dict[str, Any]:
    """The generic webhook's JSON body."""
    values = variables(notice)
    return {
        "delivery": delivery,
        "trigger": notice.trigger.value,
        "subject": {"kind": notice.subject.value, "name": notice.name},
        "revision": notice.revision,
        "repo": notice.repo,
        "url": notice.url,
        "message": notice.message,
        "time": values["time"],
        "facts": dict(notice.facts),
        "title": text.title,
        "body": text.body,
    }


def webhook(dest: Destination, notice: Notice, text: Rendered, delivery: int) -> HttpRequest:
    assert dest.url is not None and dest.secret is not None
    body = _json(document(notice, text, delivery))
    headers = {
        "Content-Type": "application/json",
        "X-Conveyor-Event": notice.trigger.value,
        "X-Conveyor-Delivery": str(delivery),
        SIGNATURE_HEADER: signature(dest.secret.value, body),
    }
    return HttpRequest(url=dest.url.value, body=body, headers=headers)


def slack(dest: Destination, notice: Notice, text: Rendered) -> HttpRequest:
    assert dest.url is not None
    context = f"{notice.trigger.value} · {notice.subject.value} {notice.name}"
    if notice.revision:
        context += f" · {notice.revision[:12]}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": text.title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _slack(text.body)[:3000] or " "}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _slack(context)}]},
    ]
    payload = {"text": _slack(text.title), "blocks": blocks}
    return HttpRequest(url=dest.url.value, body=_json(payload), headers=_JSON)


def _slack(text: str) -> str:
    """Slack's mrkdwn escapes: `&`, `<` and `>` (else `<…>` would read as a link)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams(dest: Destination, notice: Notice, text: Rendered) -> HttpRequest:
    assert dest.url is not None
    facts = _facts(notice)
    payload: dict[str, Any]
    if dest.teams_format == TeamsFormat.MESSAGECARD:
        payload = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": text.title,
            "themeColor": _colour(notice.trigger),
            "title": text.title,
            "text": text.body,
            "sections": [{"facts": [{"name": k, "value": v} for k, v in facts]}],
        }
    else:
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": text.title, "weight": "Bolder", "wrap": True},
                {"type": "TextBlock", "text": text.body, "wrap": True},
                {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts]},
            ],
        }
        attachment = {
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": card,
        }
        payload = {"type": "message", "attachments": [attachment]}
    return HttpRequest(url=dest.url.value, body=_json(payload), headers=_JSON)


def commit_status(dest: Destination, notice: Notice, text: Rendered) -> HttpRequest | str:
    """The GitHub status request, or why there is none (no commit, no repository)."""
    assert dest.token is not None
    repo = dest.repo or github_repo(notice.repo)
    if not repo:
        return f"no GitHub repository for {notice.repo!r}: set repo: owner/name"
    if not notice.revision:
        return "the notice names no commit to set a status on"
    body: dict[str, Any] = {
        "state": commit_state(notice.trigger),
        "description": text.title[:140],
        "context": dest.context or f"conveyor-notify/{notice.name}",
    }
    if notice.url.startswith(("http://", "https://")):
        body["target_url"] = notice.url
    headers = {
        **_JSON,
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {dest.token.value}",
        "X-GitHub-Api-Version": "2022-11-28",
    }
    url = f"{dest.api_url}/repos/{repo}/statuses/{notice.revision}"
    return HttpRequest(url=url, body=_json(body), headers=headers)


def commit_state(trigger: Trigger) -> str:
    if trigger in _GOOD:
        return "success"
    return "pending" if trigger in _PENDING else "failure"


def github_repo(repo: str) -> str:
    """`owner/name` from `owner/name` or a clone URL (`https://host/owner/name.git`)."""
    path = urlsplit(repo).path if "://" in repo else repo
    parts = [p for p in path.removesuffix(".git").split("/") if p]
    return "/".join(parts[-2:]) if len(parts) >= 2 else ""


def email(dest: Destination, notice: Notice, text: Rendered, to: tuple[str, ...]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = text.title
    message["From"] = dest.sender
    message["To"] = ", ".join(to)
    message["X-Conveyor-Event"] = notice.trigger.value
    lines = [text.body, "", *(f"{k}: {v}" for k, v in _facts(notice))]
    message.set_content("\n".join(lines) + "\n")
    return message


def _facts(notice: Notice) -> list[tuple[str, str]]:
    facts = [("trigger", notice.trigger.value), (notice.subject.value, notice.name)]
    if notice.revision:
        facts.append(("revision", notice.revision))
    if notice.url:
        facts.append(("url", notice.url))
    return [*facts, *notice.facts]


def _colour(trigger: Trigger) -> str:
    return {"success": "2EB67D", "pending": "ECB22E"}.get(commit_state(trigger), "E01E5A")


_JSON = {"Content-Type": "application/json"}


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
