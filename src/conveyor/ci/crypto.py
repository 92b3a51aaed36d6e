"""Encryption at rest for secrets: Fernet (AES-128-CBC + HMAC-SHA256) with one server key.

`load_key(path, environ)` is called once by the server at start-up: the key comes from
`$CONVEYOR_SECRET_KEY` when set, else from `path`, which is created on first start with
0600 permissions (never widened later). `SecretBox` encrypts before the store sees a value
and decrypts only when a job is assigned (or an environment is approved).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from conveyor.ci.errors import CIError

KEY_ENV = "CONVEYOR_SECRET_KEY"


def load_key(path: Path, environ: Mapping[str, str]) -> bytes:
    """The key from the environment, or the key file (created 0600 when missing)."""
    given = environ.get(KEY_ENV)
    if given:
        return given.encode()
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


class SecretBox:
    """Encrypts and decrypts secret values with the server key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise CIError(
                "the secret key is not a valid Fernet key (32 url-safe base64 bytes)"
            ) from exc

    def seal(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def open(self, sealed: bytes) -> str:
        try:
            return self._fernet.decrypt(sealed).decode()
        except InvalidToken as exc:
            raise CIError(
                "a stored secret cannot be decrypted with this key (was the key file replaced?)"
            ) from exc
