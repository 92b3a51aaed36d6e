"""SOPS's value cipher: one scalar ⇄ `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]`.

As getsops/sops `aes/cipher.go` does it: AES-256-GCM with a 32-byte random nonce, the
additional data given by the caller (the value's path joined with `:` plus a trailing `:`,
or the `lastmodified` text for the MAC), base64 (standard, padded) ciphertext, nonce and
16-byte tag, and the scalar's type so that it decrypts to the same type. An empty string
stays empty and unencrypted. `scalar_bytes` is the text of a scalar both the cipher and
the MAC use (sops' `ToBytes`: Go's shortest float without exponent, `True`/`False`).
Called by `clients.sops.tree` and `clients.sops.document`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from decimal import Decimal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conveyor.clients.sops.errors import SopsError, SopsReason

Scalar = str | int | float | bool
NONCE_BYTES = 32
TAG_BYTES = 16
PATTERN = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")


def scalar_bytes(value: Scalar) -> bytes:
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int):
        return str(value).encode()
    if isinstance(value, float):
        return _go_float(value).encode()
    return value.encode()


def _go_float(value: float) -> str:
    """Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits, never an exponent."""
    text = format(Decimal(repr(value)), "f")
    return text[:-2] if text.endswith(".0") else text


def type_name(value: Scalar) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def encrypt_value(value: Scalar, key: bytes, aad: str, *, nonce: bytes | None = None) -> str:
    if value == "" and isinstance(value, str):
        return ""
    iv = nonce if nonce is not None else os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(iv, scalar_bytes(value), aad.encode())
    data, tag = sealed[:-TAG_BYTES], sealed[-TAG_BYTES:]
    parts = (base64.b64encode(data), base64.b64encode(iv), base64.b64encode(tag))
    return "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]".format(
        *(p.decode() for p in parts), type_name(value)
    )


def is_encrypted(text: object) -> bool:
    return isinstance(text, str) and PATTERN.match(text) is not None


def decrypt_value(text: str, key: bytes, aad: str) -> Scalar:
    """The scalar `text` holds; `SopsError(MAC_MISMATCH)` when it does not authenticate
    under `aad` (changed, or moved to another path)."""
    if text == "":
        return ""
    match = PATTERN.match(text)
    if match is None:
        raise SopsError(SopsReason.MALFORMED, f"the value at {aad!r} is not an ENC[…] value")
    try:
        data, iv, tag = (base64.b64decode(match.group(i), validate=True) for i in (1, 2, 3))
        clear = AESGCM(key).decrypt(iv, data + tag, aad.encode())
    except (binascii.Error, ValueError) as exc:
        raise SopsError(SopsReason.MALFORMED, f"the value at {aad!r} is damaged") from exc
    except InvalidTag as exc:
        message = f"the value at {aad!r} does not authenticate (MAC mismatch)"
        raise SopsError(SopsReason.MAC_MISMATCH, message) from exc
    return _typed(clear, match.group(4), aad)


def _typed(clear: bytes, kind: str, aad: str) -> Scalar:
    text = clear.decode()
    try:
        if kind in {"str", "bytes"}:
            return text
        if kind in ("int", "int64"):
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "bool" and text.lower() in ("true", "false", "1", "0", "t", "f"):
            return text.lower() in ("true", "1", "t")
    except ValueError:
        pass
    raise SopsError(SopsReason.MALFORMED, f"the value at {aad!r} has a bad type {kind!r}")
