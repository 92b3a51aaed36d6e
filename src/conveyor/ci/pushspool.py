"""The push spool: what git itself reports of each push, written down before git says "done".

Issue 18, defect 1. A push's ref updates are git's own `post-receive` input (`<old> <new>
<ref>` lines, one per ref the push changed), never a comparison of the refs before and after
(overlapping pushes saw each other's refs: 20 pushes created up to 68 runs). Every hosted
repository gets `POST_RECEIVE` as its hook (`install_hook`; `CIService.create_repo` and the
smart-HTTP route call it). For a push through the server, the route gives git, through the
environment (`PushSpool.env`), the spool directory, an id for this push and a header line
(repository, pusher, time); the hook writes the header and git's lines to
`<spool>/.<id>.tmp`, syncs it and renames it to `<spool>/<id>.push`. `git http-backend`
answers the client only after the hook returned, so a push the client saw succeed is on disk
even if the server dies before it queued anything; pushes that did not come through the
server (a local `git push /path/to/repo.git`) have no spool in their environment and start
nothing, as before.

`CIService.take_push` reads a spooled push (`PushSpool.read`), turns each ref update into a
push event recorded exactly once under its delivery id `<push id>/<n>`, then removes the
file (`PushSpool.remove`); `CIService.drain_pushes` does it for every file left behind (a
server killed after the receive; a receive that finished after its server died).

The spool is `<data>/pushes`, 0700, its files 0600 (the hook runs under the server's umask
and sets its own); push ids sort by time, so a drain hands pushes over in the order received.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from conveyor.ci.errors import CIError

HOOK_NAME = "post-receive"

#: Written into every hosted repository (hooks/post-receive). Its exit status cannot undo a
#: push (git has updated the refs when it runs), so on failure it says what happens next.
POST_RECEIVE = """#!/bin/sh
# Conveyor (ci/pushspool.py): record this push's ref updates, git's post-receive input,
# in the server's push spool before git reports the push done. Pushes that did not come
# through the Conveyor server carry no spool and start nothing.
[ -n "$CONVEYOR_PUSH_SPOOL" ] && [ -n "$CONVEYOR_PUSH_ID" ] || exit 0
umask 077
spool=$CONVEYOR_PUSH_SPOOL
tmp="$spool/.$CONVEYOR_PUSH_ID.tmp"
if { printf '%s\\n' "$CONVEYOR_PUSH_HEADER" && cat; } > "$tmp" && sync "$tmp" &&
    mv "$tmp" "$spool/$CONVEYOR_PUSH_ID.push" && sync "$spool"; then
    exit 0
fi
echo "conveyor: this push was received but could not be recorded for CI" \\
     "(see the message above); no workflow starts for it: push again" >&2
exit 1
"""

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_ID = re.compile(r"[0-9]{20}-[0-9a-f]{32}")
SUFFIX = ".push"


class SpoolError(CIError):
    """A spooled push that cannot be read: kept aside (`.bad`) for a person to look at."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RefUpdate:
    """One line of git's post-receive input: a ref the push moved, created or deleted."""

    ref: str
    before: str  # ZERO: the push created the ref
    after: str  # ZERO: the push deleted it


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceivedPush:
    """A push as git reported it: who pushed which refs of which repository, when."""

    id: str
    repo: str
    pusher: str
    received: float
    updates: tuple[RefUpdate, ...]

    def delivery(self, index: int) -> str:
        """The id under which update `index` is recorded once (GitHub: a delivery id)."""
        return f"{self.id}/{index}"


def install_hook(git_dir: Path) -> None:
    """Make `git_dir/hooks/post-receive` the spool hook (rewritten atomically if it differs)."""
    hooks = git_dir / "hooks"
    path = hooks / HOOK_NAME
    try:
        if path.read_text() == POST_RECEIVE and os.access(path, os.X_OK):
            return
    except OSError:
        pass
    hooks.mkdir(mode=0o700, exist_ok=True)
    tmp = hooks / f".{HOOK_NAME}.{uuid.uuid4().hex}"
    tmp.write_text(POST_RECEIVE)
    tmp.chmod(0o700)
    tmp.replace(path)


class PushSpool:
    """The directory of pushes received and not yet handed to the CI service."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def new_id(self) -> str:
        return f"{time.time_ns():020d}-{uuid.uuid4().hex}"

    def env(self, push_id: str, *, repo: str, pusher: str) -> dict[str, str]:
        """What the hook needs from the server, for git's environment."""
        header = json.dumps({"id": push_id, "repo": repo, "pusher": pusher, "at": time.time()})
        return {
            "CONVEYOR_PUSH_SPOOL": str(self.root),
            "CONVEYOR_PUSH_ID": push_id,
            "CONVEYOR_PUSH_HEADER": header,
        }

    def path(self, push_id: str) -> Path:
        return self.root / f"{push_id}{SUFFIX}"

    def pending(self) -> list[Path]:
        """Spooled pushes, oldest first (ids start with the time they were received)."""
        return sorted(p for p in self.root.glob(f"*{SUFFIX}") if _ID.fullmatch(p.stem))

    def read(self, path: Path) -> ReceivedPush:
        """The push in `path`; SpoolError when it is not what the hook writes."""
        try:
            header, *lines = path.read_text().splitlines()
            meta = json.loads(header)
            push = ReceivedPush(
                id=str(meta["id"]),
                repo=str(meta["repo"]),
                pusher=str(meta["pusher"]),
                received=float(meta["at"]),
                updates=tuple(_update(line) for line in lines if line.strip()),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise SpoolError(f"spooled push {path.name} cannot be read: {exc}") from exc
        if push.id != path.stem:
            raise SpoolError(f"spooled push {path.name} names another push ({push.id})")
        return push

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def set_aside(self, path: Path) -> Path:
        """Keep an unreadable spool file as `<name>.bad` (not read again)."""
        bad = path.with_name(path.name + ".bad")
        path.replace(bad)
        return bad


def _update(line: str) -> RefUpdate:
    before, after, ref = line.split(" ", 2)
    if not (_SHA.fullmatch(before) and _SHA.fullmatch(after) and ref.startswith("refs/")):
        raise ValueError(f"not an `<old> <new> <ref>` line: {line[:120]!r}")
    return RefUpdate(ref=ref, before=before, after=after)
