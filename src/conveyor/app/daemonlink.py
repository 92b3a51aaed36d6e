"""How `conveyor app` finds a running `conveyor reconcile` and asks it to act.

A reconciler daemon with `--listen` records itself in its store (setting `daemon`: URL, pid
and the path of a token file) and writes its random bearer token to that file with mode
0600 (`<state dir>/reconciler.token`, next to its cache; `conveyor up` hands the same
path to the server, whose push hook calls the daemon's `/refresh`). `conveyor app
sync|refresh|rollback` then send the command to the daemon instead of building a second
reconciler in-process, which would drive the same targets beside it (two controllers over
one Podman host fight). `find` returns None when no daemon is
recorded, its process is gone, or the token file is unreadable or not private; the
caller then acts in-process as before. `call` raises a `UserError` with the daemon's
own message on a refusal. A daemon started with `--token-file` (the chart: a Secret the
server mounts too) uses that token (`read_token`) instead of a new one; the file beside the
cache still gets a copy. Used by `app/cmd_reconcile.py` (read_token/publish/withdraw) and
`app/cmd_app.py` (find/call).
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conveyor.core.errors import UserError
from conveyor.store import Store

SETTING = "daemon"


@dataclass(frozen=True, slots=True, kw_only=True)
class Daemon:
    """A running reconciler daemon: where it listens, who it is, how to authenticate."""

    url: str
    pid: int
    token: str


def new_token() -> str:
    return secrets.token_urlsafe(32)


def read_token(path: Path | None, *, listen: str | None, once: bool) -> str | None:
    """`--token-file`'s token (None without it); refused without `--listen` or empty."""
    if path is None:
        return None
    if listen is None or once:
        raise UserError(
            "--token-file is the bearer token of --listen, which this command does not run",
            hint="add --listen HOST:PORT (and drop --once), or drop --token-file",
        )
    token = path.read_text().strip()
    if len(token) < 16:
        raise UserError(
            f"--token-file {path}: the token is empty or shorter than 16 characters",
            hint="write a long random token there, e.g. `openssl rand -hex 32`",
        )
    return token


def publish(store: Store, url: str, token_file: Path, token: str) -> Daemon:
    """Record this process as the daemon for `store`; the token goes to `token_file` (0600)."""
    token_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = token_file.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token)
    temporary.replace(token_file)
    daemon = Daemon(url=url, pid=os.getpid(), token=token)
    record = {"url": url, "pid": daemon.pid, "token_file": str(token_file)}
    store.set_setting(SETTING, json.dumps(record))
    return daemon


def withdraw(store: Store, daemon: Daemon) -> None:
    """Forget the record if it is still this daemon's (a newer one may have replaced it)."""
    found = _record(store)
    if found is not None and found.get("pid") == daemon.pid:
        store.set_setting(SETTING, "")
        Path(str(found.get("token_file", ""))).unlink(missing_ok=True)


def find(store: Store) -> Daemon | None:
    """The live daemon recorded in `store`, or None (see the module docstring)."""
    record = _record(store)
    if record is None:
        return None
    pid, token_file = int(record.get("pid", 0)), Path(str(record.get("token_file", "")))
    try:
        os.kill(pid, 0)
        info = token_file.stat()
        if info.st_uid != os.getuid() or stat.S_IMODE(info.st_mode) & 0o077:
            return None
        token = token_file.read_text().strip()
    except (OSError, ValueError):
        return None
    return Daemon(url=str(record["url"]), pid=pid, token=token) if token else None


def _record(store: Store) -> dict[str, Any] | None:
    raw = store.setting(SETTING)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) and value.get("url") else None


def call(daemon: Daemon, path: str, params: dict[str, str]) -> dict[str, Any]:
    """POST `path` on the daemon; its JSON answer, or a UserError with its message."""
    import httpx

    try:
        reply = httpx.post(
            f"{daemon.url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {daemon.token}"},
            timeout=httpx.Timeout(600.0, connect=5.0),
        )
    except httpx.HTTPError as exc:
        raise UserError(
            f"the running reconciler (pid {daemon.pid}) at {daemon.url} did not answer: "
            f"{type(exc).__name__}",
            hint="check `conveyor up`'s log, or stop that reconciler to act in-process",
        ) from exc
    try:
        body = reply.json()
    except ValueError:
        body = {"error": reply.text.strip()}
    if reply.status_code != 200:
        raise UserError(
            f"the running reconciler refused: {body.get('error', reply.status_code)}",
            hint="see `conveyor app list`",
        )
    return dict(body)
