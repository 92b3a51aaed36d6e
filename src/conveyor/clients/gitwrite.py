"""Write-side Git for promotion: a bare cache of one remote, tree reads, one-process
commits, pushes that tell a rejected push from a failed one.

- `GitCache(remote, root=…)`: a bare repository under `root` keyed by the remote URL;
  created once under a file lock, `gc.auto=0` so concurrent users never race a gc.
- `fetch(branch, into=ref)`: one `git fetch` into a ref of the caller's choosing (callers
  that run in parallel use distinct refs; FETCH_HEAD is never written).
- `snapshot(commit)`: a `conveyor.clients.gitrepo.Snapshot` of the commit's files.
- `commit(parent, files, …)`: blobs, trees and the commit from one `git fast-import`.
- `push(sha, ref)`: `git push --porcelain` → `PushOutcome.OK | REJECTED`; refused
  credentials, unreachable hosts and hook refusals raise `RemoteError` instead.

Tokens never reach argv, the cache's config, logs or exceptions: they travel as an
`http.extraHeader` through `GIT_CONFIG_*` environment variables, and every message from git
passes through `mask()`. Called by `conveyor.promote.writeback`; holds no promotion logic.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import re
import subprocess
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from conveyor.clients.errors import ClientError
from conveyor.clients.gitrepo import Snapshot, is_ancestor
from conveyor.core.gitargs import ref_name, remote_url

__all__ = ["GitCache", "Remote", "RemoteError", "Snapshot", "is_ancestor", "mask"]

ZERO = "0" * 40
_USERINFO_RE = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]*@", re.IGNORECASE)
_AUTH_SIGNS = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "401",
    "403",
    "permission denied",
    "access denied",
)
_RACE_SIGNS = (
    "cannot lock ref",
    "failed to update ref",
    "incorrect old value",
    "fetch first",
    "non-fast-forward",
    "stale info",
)


class RemoteError(ClientError):
    """The remote cannot be used as asked; `kind` is `auth`, `unreachable`, `refused`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class PushOutcome(StrEnum):
    OK = "ok"
    REJECTED = "rejected"  # the ref moved under us: fetch, re-apply, retry


def mask(text: str, secrets: Sequence[str] = ()) -> str:
    """`text` with URL userinfo and every secret replaced by `***`."""
    text = _USERINFO_RE.sub(lambda m: f"{m['scheme']}***@", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


@dataclass(frozen=True, slots=True, kw_only=True)
class Remote:
    """A remote's URL without credentials, and the token that authenticates to it."""

    url: str
    token: str | None = None

    @classmethod
    def parse(cls, url_or_path: str, token: str | None = None) -> Remote:
        """Accept a URL (userinfo moves into `token`) or a local path (made absolute)."""
        if "://" not in url_or_path and not re.match(r"^[\w.-]+@[\w.-]+:", url_or_path):
            return cls(url=str(Path(url_or_path).expanduser().resolve()), token=token)
        parts = urllib.parse.urlsplit(url_or_path)
        if parts.password or parts.username:
            token = token or parts.password or parts.username
            host = parts.hostname or ""
            netloc = host + (f":{parts.port}" if parts.port else "")
            url_or_path = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
        return cls(url=url_or_path, token=token)

    @property
    def is_http(self) -> bool:
        return self.url.startswith(("http://", "https://"))

    def env(self) -> dict[str, str]:
        """Environment that authenticates git's HTTP requests without touching argv."""
        if not (self.token and self.is_http):
            return {}
        basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        index = int(os.environ.get("GIT_CONFIG_COUNT", "0") or 0)  # keep the caller's entries
        return {
            "GIT_CONFIG_COUNT": str(index + 1),
            f"GIT_CONFIG_KEY_{index}": "http.extraHeader",
            f"GIT_CONFIG_VALUE_{index}": f"Authorization: Basic {basic}",
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    name: str
    email: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FileWrite:
    path: str
    data: bytes
    mode: str = "100644"


@dataclass(slots=True)
class Counters:
    """How many git processes this cache started (for the benchmark's report)."""

    processes: int = 0
    by_command: dict[str, int] = field(default_factory=dict)


def default_cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "conveyor" / "git"


class GitCache:
    """A bare mirror of one remote's objects, shared by every promotion on this machine."""

    def __init__(self, remote: Remote, *, root: Path | None = None) -> None:
        self.remote = remote
        key = hashlib.sha256(remote.url.encode()).hexdigest()[:16]
        stem = re.sub(r"[^\w.-]+", "-", remote.url.rstrip("/").rsplit("/", 1)[-1])[:40]
        self.dir = (root or default_cache_root()) / f"{stem}-{key}.git"
        self.counters = Counters()

    # -- plumbing ---------------------------------------------------------------------
    def run(self, *args: str, stdin: bytes | None = None, ok: Sequence[int] = (0,)) -> str:
        done = self._exec(args, stdin)
        if done.returncode not in ok:
            raise self._error(args, done)
        return done.stdout.decode("utf-8", "replace")

    def _exec(self, args: Sequence[str], stdin: bytes | None) -> subprocess.CompletedProcess[bytes]:
        env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            "GIT_DIR": str(self.dir),
            **self.remote.env(),
        }
        self.counters.processes += 1
        self.counters.by_command[args[0]] = self.counters.by_command.get(args[0], 0) + 1
        try:
            return subprocess.run(
                ["git", *args], input=stdin, capture_output=True, env=env, check=False
            )
        except OSError as exc:
            raise ClientError(f"cannot run git: {exc}") from exc

    def _error(self, args: Sequence[str], done: subprocess.CompletedProcess[bytes]) -> ClientError:
        stderr = mask(done.stderr.decode("utf-8", "replace").strip(), [self.remote.token or ""])
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        fatal = [ln for ln in lines if ln.startswith(("fatal:", "error:"))]
        detail = (fatal or lines or [f"exit code {done.returncode}"])[0]
        low = stderr.lower()
        where = mask(self.remote.url)
        if any(sign in low for sign in _AUTH_SIGNS):
            return RemoteError("auth", f"{where}: authentication refused ({detail})")
        if args[0] in ("fetch", "push", "ls-remote"):
            return RemoteError("unreachable", f"{where}: {detail}")
        return ClientError(f"git {args[0]} failed: {detail}")

    @contextlib.contextmanager
    def lock(self, name: str = "") -> Iterator[None]:
        """An exclusive lock on this cache across processes (flock on a sibling file);
        `name` picks an independent lock (e.g. "push")."""
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        with Path(f"{self.dir}{'.' + name if name else ''}.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ensure(self) -> None:
        """Create the bare cache once (atomically: init in a temp dir, then rename)."""
        if (self.dir / "HEAD").exists():
            return
        with self.lock():
            if (self.dir / "HEAD").exists():
                return
            temp = self.dir.with_name(f"{self.dir.name}.{os.getpid()}.tmp")
            self.counters.processes += 1
            done = subprocess.run(
                ["git", "init", "-q", "--bare", "--end-of-options", str(temp)],
                check=False,
                capture_output=True,
            )
            if done.returncode != 0:
                raise ClientError(f"cannot create the git cache {temp}: {done.stderr.decode()}")
            with (temp / "config").open("a") as config:
                config.write("[gc]\n\tauto = 0\n[core]\n\tlogAllRefUpdates = false\n")
            temp.rename(self.dir)

    # -- remote -------------------------------------------------------------------------
    def fetch(self, branch: str, *, into: str) -> str | None:
        """Fetch `branch` into ref `into`; its sha, or None when the remote lacks it."""
        done = self._exec(
            [
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-write-fetch-head",
                "--end-of-options",
                remote_url(self.remote.url, local=True),
                f"+refs/heads/{ref_name(branch, what='branch')}:{ref_name(into)}",
            ],
            None,
        )
        if done.returncode != 0:
            if b"couldn't find remote ref" in done.stderr:
                return None
            raise self._error(["fetch"], done)
        return self.run("rev-parse", "--verify", "--quiet", "--end-of-options", into).strip()

    def ref(self, name: str) -> str | None:
        out = self.run("rev-parse", "--verify", "--quiet", "--end-of-options", name, ok=(0, 1))
        return out.strip() or None

    def set_ref(self, name: str, sha: str) -> None:
        self.run("update-ref", "--end-of-options", name, sha)

    def delete_ref(self, name: str) -> None:
        self.run("update-ref", "-d", "--end-of-options", name, ok=(0, 1))

    def push(self, sha: str, ref: str, *, force: bool = False) -> PushOutcome:
        spec = f"{'+' if force else ''}{sha}:{ref_name(ref)}"
        url = remote_url(self.remote.url, local=True)
        done = self._exec(["push", "--porcelain", "--quiet", "--end-of-options", url, spec], None)
        out = done.stdout.decode("utf-8", "replace")
        status = next((ln for ln in out.splitlines() if ln[:1] in "!*=+- " and "\t" in ln), "")
        if done.returncode == 0 and not status.startswith("!"):
            return PushOutcome.OK
        low = (status + done.stderr.decode("utf-8", "replace")).lower()
        if status.startswith("!") and any(sign in low for sign in _RACE_SIGNS):
            return PushOutcome.REJECTED
        if status.startswith("!"):
            reason = mask(status.split("\t")[-1], [self.remote.token or ""])
            raise RemoteError("refused", f"{mask(self.remote.url)} refused the push: {reason}")
        raise self._error(["push"], done)

    def delete_remote_branch(self, branch: str) -> None:
        spec = f":refs/heads/{ref_name(branch, what='branch')}"
        self._exec(["push", "--quiet", "--end-of-options", self.remote.url, spec], None)

    # -- local objects ------------------------------------------------------------------
    def snapshot(self, commit: str) -> Snapshot:
        self.counters.processes += 1
        return Snapshot(self.dir, commit)

    def commit(
        self,
        parent: str,
        files: Sequence[FileWrite],
        *,
        message: str,
        author: Identity,
        committer: Identity,
        when: float | None = None,
    ) -> str:
        """Write `files` on top of `parent` as one commit (one fast-import); its sha."""
        stamp = f"{int(when if when is not None else time.time())} +0000"
        scratch = f"refs/conveyor/scratch/{os.getpid()}-{time.monotonic_ns()}"
        msg = message.encode()
        out = bytearray()
        out += f"commit {scratch}\nmark :1\n".encode()
        out += f"author {author.name} <{author.email}> {stamp}\n".encode()
        out += f"committer {committer.name} <{committer.email}> {stamp}\n".encode()
        out += b"data %d\n%s\nfrom %s\n" % (len(msg), msg, parent.encode())
        for write in files:
            if "\n" in write.path or write.path.startswith('"'):
                raise ClientError(f"cannot commit a path with a newline or quote: {write.path!r}")
            out += b"M %s inline %s\ndata %d\n" % (
                write.mode.encode(),
                write.path.encode(),
                len(write.data),
            )
            out += write.data + b"\n"
        out += f"\nget-mark :1\nreset {scratch}\nfrom {ZERO}\n\ndone\n".encode()
        return self.run("fast-import", "--quiet", "--done", stdin=bytes(out)).strip()

    def log(self, *args: str) -> str:
        return self.run("log", *args)
