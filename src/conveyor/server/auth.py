"""Bearer-token authentication and roles for every route except `/healthz`.

Tokens are random strings shown once; the store keeps only their SHA-256. Roles, weakest
first: `read` (GET anything), `runner` (read + the runner protocol), `write` (push, run,
cancel, re-run, approve as a listed reviewer, write secrets/variables/environments),
`admin` (everything, tokens, approve for any environment). The first start writes an admin
token to `<data>/admin-token` (0600). Git over HTTP also accepts the token as the basic-auth
password (`x-access-token:<token>`), which is what `git` sends.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from conveyor.store.ci_store import CIStore


class Role(StrEnum):
    READ = "read"
    RUNNER = "runner"
    WRITE = "write"
    ADMIN = "admin"


RANK = {Role.READ: 0, Role.RUNNER: 1, Role.WRITE: 2, Role.ADMIN: 3}


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    name: str
    role: Role

    def can(self, needed: Role) -> bool:
        if needed is Role.RUNNER:
            return self.role in (Role.RUNNER, Role.WRITE, Role.ADMIN)
        return RANK[self.role] >= RANK[needed] and not (
            self.role is Role.RUNNER and needed is not Role.READ
        )


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Auth:
    """Issues and checks tokens against the CI store."""

    def __init__(self, store: CIStore) -> None:
        self.store = store

    def issue(self, name: str, role: Role) -> str:
        token = "cvy_" + secrets.token_urlsafe(30)
        self.store.add_token(digest(token), name=name, role=str(role))
        return token

    def check(self, token: str) -> Principal | None:
        if not token:
            return None
        row = self.store.token(digest(token))
        return Principal(name=row["name"], role=Role(row["role"])) if row else None

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
        token = self.issue("admin", Role.ADMIN)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        return token
