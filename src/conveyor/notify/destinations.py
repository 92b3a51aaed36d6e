"""Destinations of the `notifications:` section: where notices go, and the secrets they
need, read from an environment variable or a file (never from the YAML in clear).

```yaml
destinations:
  ops:   {type: webhook, url: https://hooks.example/conveyor, secretEnv: OPS_HOOK_SECRET}
  chat:  {type: slack, urlEnv: SLACK_WEBHOOK_URL}            # or url / urlFile
  teams: {type: teams, urlFile: /run/secrets/teams-url, format: adaptive}  # or messagecard
  mail:  {type: email, host: smtp.example.com, port: 587, starttls: true,
          from: conveyor@example.com, to: [ops@example.com], username: conveyor,
          passwordEnv: SMTP_PASSWORD, caFile: /etc/ssl/private-ca.pem}
  commits: {type: github, apiUrl: https://api.github.com, tokenEnv: GITHUB_TOKEN,
            repo: owner/name, context: conveyor-notify/web}  # default: per app/workflow
```
Every destination may add `rateLimit: {count: 20, per: 1m}` (notices over it are recorded
as rate-limited, not sent) and `timeout: 10s`. Called by `notify.config`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from conveyor.notify.reader import Key, Reader


class Kind(StrEnum):
    WEBHOOK = "webhook"
    SLACK = "slack"
    TEAMS = "teams"
    EMAIL = "email"
    GITHUB = "github"


class TeamsFormat(StrEnum):
    ADAPTIVE = "adaptive"  # Teams Workflows webhooks: a message with an Adaptive Card
    MESSAGECARD = "messagecard"  # legacy Office 365 connector webhooks


@dataclass(frozen=True, slots=True)
class Secret:
    """A secret value and where it came from; `repr` and `str` never show the value."""

    value: str = field(repr=False)
    source: str

    def __str__(self) -> str:
        return f"<secret from {self.source}>"


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimit:
    count: int
    per: float  # seconds


@dataclass(frozen=True, slots=True, kw_only=True)
class Destination:
    name: str
    kind: Kind
    url: Secret | None = None  # webhook, slack, teams (incoming webhook URLs are secrets)
    secret: Secret | None = None  # webhook: the HMAC key
    token: Secret | None = None  # github
    password: Secret | None = None  # email
    teams_format: TeamsFormat = TeamsFormat.ADAPTIVE
    host: str = ""  # email
    port: int = 25
    starttls: bool = False
    sender: str = ""
    to: tuple[str, ...] = ()
    username: str = ""
    ca_file: str = ""  # email: the CA bundle STARTTLS checks the server against ("" = system)
    api_url: str = "https://api.github.com"  # github
    repo: str = ""  # github: owner/name; "" = the notice's repository
    context: str = ""  # github: the status context; "" = conveyor-notify/<subject name>
    rate: RateLimit | None = None
    timeout: float = 10.0

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value it holds (masked out of recorded errors)."""
        held = (self.url, self.secret, self.token, self.password)
        return tuple(s.value for s in held if s is not None and s.value)


_COMMON = ("type", "rateLimit", "timeout")
_URL = ("url", "urlEnv", "urlFile")
_ALLOWED = {
    Kind.WEBHOOK: (*_COMMON, *_URL, "secretEnv", "secretFile"),
    Kind.SLACK: (*_COMMON, *_URL),
    Kind.TEAMS: (*_COMMON, *_URL, "format"),
    Kind.EMAIL: (
        *_COMMON,
        *(
            "host",
            "port",
            "starttls",
            "from",
            "to",
            "username",
            "passwordEnv",
            "passwordFile",
            "caFile",
        ),
    ),
    Kind.GITHUB: (*_COMMON, "apiUrl", "tokenEnv", "tokenFile", "repo", "context"),
}
_IN_CLEAR = {"secret": "secret", "token": "token", "password": "password"}


def destination(read: Reader, name: str, raw: Any, *path: Key) -> Destination:
    """One destination, checked: known keys for its type, secrets from env or files."""
    if not isinstance(raw, dict):
        raise read.invalid("expected a mapping with a type", *path, hint="type: webhook")
    kind_text = read.text(raw.get("type"), *path, "type")
    if kind_text not in {k.value for k in Kind}:
        known = ", ".join(k.value for k in Kind)
        raise read.invalid(f"unknown type {kind_text!r}", *path, "type", hint=f"one of {known}")
    kind = Kind(kind_text)
    for key in raw:
        if key in _IN_CLEAR:
            raise read.invalid(
                f"a {key} is never written in the YAML",
                *path,
                str(key),
                hint=f"use {key}Env (an environment variable) or {key}File (a file)",
            )
    data = read.mapping(raw, *path, allowed=_ALLOWED[kind])
    common = {
        "name": name,
        "kind": kind,
        "rate": _rate(read, data.get("rateLimit"), *path, "rateLimit"),
        "timeout": read.seconds(data.get("timeout"), *path, "timeout", default=10.0),
    }
    built: Destination = _BUILDERS[kind](read, data, path, common)
    return built


def _webhook(read: Reader, data: dict[str, Any], path: tuple[Key, ...], common: Any) -> Destination:
    secret = _secret(read, data, "secret", path, required=True)
    return Destination(**common, url=_url(read, data, path), secret=secret)


def _chat(read: Reader, data: dict[str, Any], path: tuple[Key, ...], common: Any) -> Destination:
    fmt = read.text(data.get("format"), *path, "format", default=TeamsFormat.ADAPTIVE)
    if fmt not in {f.value for f in TeamsFormat}:
        raise read.invalid(
            f"unknown format {fmt!r}", *path, "format", hint="adaptive or messagecard"
        )
    return Destination(**common, url=_url(read, data, path), teams_format=TeamsFormat(fmt))


def _email(read: Reader, data: dict[str, Any], path: tuple[Key, ...], common: Any) -> Destination:
    for key in ("host", "from", "to"):
        if not data.get(key):
            raise read.invalid(f"an email destination needs {key}", *path, hint=f"add {key}:")
    return Destination(
        **common,
        host=read.text(data["host"], *path, "host"),
        port=read.number(data.get("port"), *path, "port", default=25),
        starttls=read.boolean(data.get("starttls"), *path, "starttls", default=False),
        sender=read.text(data["from"], *path, "from"),
        to=read.names(data["to"], *path, "to"),
        username=read.text(data.get("username"), *path, "username"),
        password=_secret(read, data, "password", path, required=False),
        ca_file=read.text(data.get("caFile"), *path, "caFile"),
    )


def _github(read: Reader, data: dict[str, Any], path: tuple[Key, ...], common: Any) -> Destination:
    repo = read.text(data.get("repo"), *path, "repo")
    if repo and repo.count("/") != 1:
        raise read.invalid(f"repo {repo!r} is not owner/name", *path, "repo", hint="owner/name")
    api = read.text(data.get("apiUrl"), *path, "apiUrl", default="https://api.github.com")
    if not api.startswith(("http://", "https://")):
        raise read.invalid("apiUrl must be an http(s) URL", *path, "apiUrl", hint=api)
    return Destination(
        **common,
        token=_secret(read, data, "token", path, required=True),
        api_url=api.rstrip("/"),
        repo=repo,
        context=read.text(data.get("context"), *path, "context"),
    )


_BUILDERS = {
    Kind.WEBHOOK: _webhook,
    Kind.SLACK: _chat,
    Kind.TEAMS: _chat,
    Kind.EMAIL: _email,
    Kind.GITHUB: _github,
}


def _url(read: Reader, data: dict[str, Any], path: tuple[Key, ...]) -> Secret:
    given = [k for k in _URL if k in data]
    if len(given) != 1:
        raise read.invalid(
            "give exactly one of url, urlEnv, urlFile", *path, hint="urlEnv keeps it out of Git"
        )
    key = given[0]
    if key == "url":
        text = read.text(data["url"], *path, "url")
        found = Secret(text, "the config")
    else:
        found = _read_secret(read, key, data[key], path)
    if not found.value.startswith(("http://", "https://")):
        raise read.invalid("the URL must be http(s)", *path, key, hint="https://…")
    return found


def _secret(
    read: Reader, data: dict[str, Any], stem: str, path: tuple[Key, ...], *, required: bool
) -> Secret | None:
    given = [k for k in (f"{stem}Env", f"{stem}File") if k in data]
    if len(given) > 1:
        raise read.invalid(f"give {stem}Env or {stem}File, not both", *path, hint="pick one")
    if not given:
        if required:
            raise read.invalid(
                f"a {stem} is required", *path, hint=f"add {stem}Env: NAME or {stem}File: PATH"
            )
        return None
    return _read_secret(read, given[0], data[given[0]], path)


def _read_secret(read: Reader, key: str, ref: Any, path: tuple[Key, ...]) -> Secret:
    name = read.text(ref, *path, key)
    if key.endswith("Env"):
        value = os.environ.get(name, "")
        if not value:
            raise read.invalid(
                f"environment variable {name} is not set", *path, key, hint=f"export {name}=…"
            )
        return Secret(value, f"${name}")
    file = Path(name)
    if not file.is_absolute():
        file = Path(read.doc.file).resolve().parent / file
    try:
        value = file.read_text().strip()
    except OSError as exc:
        raise read.invalid(
            f"cannot read {file}: {exc.strerror}", *path, key, hint="give a readable file"
        ) from exc
    if not value:
        raise read.invalid(f"{file} is empty", *path, key, hint="write the secret in it")
    return Secret(value, str(file))


def _rate(read: Reader, raw: Any, *path: Key) -> RateLimit | None:
    if raw is None:
        return None
    data = read.mapping(raw, *path, allowed=("count", "per"))
    return RateLimit(
        count=read.number(data.get("count"), *path, "count", default=20),
        per=read.seconds(data.get("per"), *path, "per", default=60.0),
    )
