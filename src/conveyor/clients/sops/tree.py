"""The walk over one document's values: which are encrypted, and the MAC over all of them.

As getsops/sops `sops.go` (`walkBranch`, `shouldBeEncrypted`, `Tree.Encrypt/Decrypt`)
does it: mapping keys extend the path, list items keep their parent's path, `null` is left
alone and not hashed. A value is encrypted unless the file's rule leaves it clear: a path
element ending in `unencrypted_suffix`, none ending in `encrypted_suffix`, one matching
`unencrypted_regex`, none matching `encrypted_regex` (searched, not anchored: Go's
`regexp.Match`). The MAC is SHA-512 over the clear text of every value in document order
(only the encrypted ones, after a fixed prefix, with `mac_only_encrypted`), written as
upper-case hex. Called by `clients.sops.document`.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conveyor.clients.sops.errors import SopsError, SopsReason
from conveyor.clients.sops.values import Scalar, decrypt_value, encrypt_value, scalar_bytes

#: sops' `MACOnlyEncryptedInitialization`: SHA-256 of b"sops", hashed first so the two
#: kinds of MAC never agree.
MAC_ONLY_ENCRYPTED_PREFIX = hashlib.sha256(b"sops").digest()
DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    """At most one of the four selection rules, as sops allows; none means the default
    `unencrypted_suffix: _unencrypted`."""

    unencrypted_suffix: str = ""
    encrypted_suffix: str = ""
    unencrypted_regex: str = ""
    encrypted_regex: str = ""
    mac_only_encrypted: bool = False

    def encrypts(self, path: tuple[str, ...]) -> bool:
        if self.encrypted_suffix:
            return any(p.endswith(self.encrypted_suffix) for p in path)
        if self.unencrypted_regex:
            return not any(re.search(self.unencrypted_regex, p) for p in path)
        if self.encrypted_regex:
            return any(re.search(self.encrypted_regex, p) for p in path)
        suffix = self.unencrypted_suffix or DEFAULT_UNENCRYPTED_SUFFIX
        return not any(p.endswith(suffix) for p in path)

    def fields(self) -> dict[str, str | bool]:
        """The rule as the `sops:` block writes it (the default suffix spelled out)."""
        out: dict[str, str | bool] = {}
        for name in ("unencrypted_suffix", "encrypted_suffix", "unencrypted_regex"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        if self.encrypted_regex:
            out["encrypted_regex"] = self.encrypted_regex
        if not out:
            out["unencrypted_suffix"] = DEFAULT_UNENCRYPTED_SUFFIX
        if self.mac_only_encrypted:
            out["mac_only_encrypted"] = True
        return out


Visit = Callable[[Scalar, tuple[str, ...]], Scalar]


def walk(value: Any, path: tuple[str, ...], visit: Visit) -> Any:
    if isinstance(value, dict):
        return {_key(k, path): walk(v, (*path, k), visit) for k, v in value.items()}
    if isinstance(value, list):
        return [walk(v, path, visit) for v in value]
    if value is None:
        return None
    if isinstance(value, datetime.date):
        where = ":".join(path)
        raise SopsError(
            SopsReason.UNSUPPORTED,
            f"the value at {where!r} is a timestamp, which sops cannot encrypt",
            hint="quote it so that it is a string",
        )
    if not isinstance(value, str | int | float | bool):
        raise SopsError(SopsReason.UNSUPPORTED, f"unsupported value at {':'.join(path)!r}")
    return visit(value, path)


def _key(key: object, path: tuple[str, ...]) -> str:
    if not isinstance(key, str):
        where = ":".join(path) or "the top level"
        raise SopsError(SopsReason.UNSUPPORTED, f"a non-string key {key!r} under {where}")
    return key


def aad(path: tuple[str, ...]) -> str:
    return ":".join(path) + ":"


def encrypt_tree(body: dict[str, Any], key: bytes, rules: Rules) -> tuple[dict[str, Any], str]:
    """The body with the selected values encrypted, and its MAC (clear hex)."""
    digest = _digest(rules)

    def visit(value: Scalar, path: tuple[str, ...]) -> Scalar:
        encrypted = rules.encrypts(path)
        if encrypted or not rules.mac_only_encrypted:
            digest.update(scalar_bytes(value))
        return encrypt_value(value, key, aad(path)) if encrypted else value

    out = walk(body, (), visit)
    return out, digest.hexdigest().upper()


def decrypt_tree(body: dict[str, Any], key: bytes, rules: Rules) -> tuple[dict[str, Any], str]:
    """The body in clear, and the MAC computed over it (to compare with the stored one)."""
    digest = _digest(rules)

    def visit(value: Scalar, path: tuple[str, ...]) -> Scalar:
        encrypted = rules.encrypts(path)
        if encrypted:
            if not isinstance(value, str):
                raise SopsError(
                    SopsReason.MAC_MISMATCH,
                    f"the value at {aad(path)!r} should be encrypted but is not (MAC mismatch)",
                )
            value = decrypt_value(value, key, aad(path))
        if encrypted or not rules.mac_only_encrypted:
            digest.update(scalar_bytes(value))
        return value

    out = walk(body, (), visit)
    return out, digest.hexdigest().upper()


def _digest(rules: Rules) -> Any:
    digest = hashlib.sha512()
    if rules.mac_only_encrypted:
        digest.update(MAC_ONLY_ENCRYPTED_PREFIX)
    return digest
