"""Bearer-token authentication and roles for every route except `/healthz`.

Tokens are random strings shown once; the store keeps only their SHA-256. Roles, weakest
first: `read` (GET anything), `write` (push, run, cancel, re-run, approve as a listed
reviewer, write secrets and variables), `admin` (everything: tokens, runners, environment
protection rules, the audit log, approve for any environment). `runner` is apart: a
registered runner's credential (`register_runner`), good for the runner protocol and for
cloning the repositories of its scope, nothing else; the runner it names is the one the
server answers (issue 12). A token's name is unique (it is the identity reviewers are listed
by); a token may expire (`expires_in`) and is revoked by name. The first start writes an
admin token to `<data>/admin-token` (0600). Git over HTTP also accepts the token as the
basic-auth password (`x-access-token:<token>`), which is what `git` sends.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from conveyor.ci.runnerscope import covers
from conveyor.store.ci_store import CIStore
from conveyor.store.errors import NameTaken


class Role(StrEnum):
    READ = "read"
    RUNNER = "runner"
    WRITE = "write"
    ADMIN = "admin"


RANK = {Role.READ: 0, Role.WRITE: 2, Role.ADMIN: 3}


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    name: str
    role: Role

    def can(self, needed: Role) -> bool:
        """A runner credential serves the runner protocol only, and only it does."""
        if Role.RUNNER in (needed, self.role):
            return needed is self.role
        return RANK[self.role] >= RANK[needed]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunnerIdentity:
    """A registered runner, as its credential says: jobs are matched against these."""

    name: str
    labels: tuple[str, ...]
    scope: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Auth:
    """Issues, checks and revokes tokens against the CI store."""

    def __init__(self, store: CIStore) -> None:
        self.store = store

    def issue(self, name: str, role: Role, *, expires_in: float | None = None, by: str = "") -> str:
        """A new token; `conveyor.store.errors.NameTaken` when the name is in use."""
        token = "cvy_" + secrets.token_urlsafe(30)
        expires = time.time() + expires_in if expires_in is not None else None
        self.store.access.add_token(
            digest(token), name=name, role=str(role), expires=expires, created_by=by
        )
        return token

    def register_runner(self, name: str, *, labels: Sequence[str], scope: str, by: str) -> str:
        """A runner's registration and its credential (shown once)."""
        token = "cvr_" + secrets.token_urlsafe(30)
        self.store.access.register_runner(
            digest(token), name=name, labels=labels, scope=scope, created_by=by
        )
        return token

    def check(self, token: str) -> Principal | None:
        if not token:
            return None
        return self.check_digest(digest(token))

    def check_digest(self, token_digest: str) -> Principal | None:
        """The principal of a token known by its digest, while it is valid: a UI session
        keeps only the digest, so revoking or expiring the token ends its sessions too."""
        row = self.store.access.token(token_digest)
        if row is None or (row["expires"] is not None and time.time() >= row["expires"]):
            return None
        return Principal(name=row["name"], role=Role(row["role"]))

    def runner(self, principal: Principal) -> RunnerIdentity | None:
        """The registered runner a `runner` credential names; None for any other token (a
        `runner` token from before registrations included)."""
        if principal.role is not Role.RUNNER:
            return None
        row = self.store.access.runner_registration(principal.name)
        if row is None:
            return None
        return RunnerIdentity(name=row["name"], labels=tuple(row["labels"]), scope=row["scope"])

    def may_clone(self, principal: Principal, repo: str) -> bool:
        """Reading a hosted repository: the read role, or a runner whose scope covers it."""
        if principal.role is Role.RUNNER:
            identity = self.runner(principal)
            return identity is not None and covers(identity.scope, repo)
        return principal.can(Role.READ)

    def from_header(self, authorization: str) -> Principal | None:
        """`Bearer <token>` or `Basic base64(user:token)`."""
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            return self.check(value.strip())
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return self.check(password or user)
        return None

    def ensure_admin(self, path: Path) -> str | None:
        """First start: create an admin token in `path` (0600); None when it exists."""
        if path.exists():
            return None
        try:
            token = self.issue("admin", Role.ADMIN)
        except NameTaken:  # the file was removed: a new admin token, under a new name
            token = self.issue(f"admin-{int(time.time())}", Role.ADMIN)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        return token
