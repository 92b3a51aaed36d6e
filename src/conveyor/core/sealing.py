"""Bitnami Sealed Secrets' hybrid encryption (issue 17), one value at a time. Pure.

The format, as the sealed-secrets controller and `kubeseal` write it (their `pkg/crypto`,
and `pkg/apis/sealedsecrets/v1alpha1` for the label):

* a fresh random 32-byte session key per value; the value is sealed with AES-256-GCM
  under that key with an all-zero 12-byte nonce (safe: the key is used once) and no
  associated data;
* the session key is encrypted with RSA-OAEP, SHA-256 for both the hash and MGF1, whose
  OAEP *label* is the scope label: `namespace/name` (strict), `namespace`
  (namespace-wide) or empty (cluster-wide). A value moved to another name or namespace
  then fails to decrypt: the scope is enforced by the cryptography, not by a check;
* the output is the RSA ciphertext's length as 2 bytes big-endian, the RSA ciphertext,
  then the AES-GCM ciphertext with its 16-byte tag.

Decryption tries every private key it is given (the controller keeps all its keys after a
rotation and tries each). Errors never include any plaintext or key material.
Called by `core.sealedsecret` (documents) and by the tests' independent implementations.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from enum import StrEnum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conveyor.core.errors import ConveyorError

SESSION_KEY_BYTES = 32
ZERO_NONCE = bytes(12)
LENGTH_BYTES = 2


class Scope(StrEnum):
    """Where a sealed value may be unsealed (kubeseal's `--scope` values)."""

    STRICT = "strict"
    NAMESPACE_WIDE = "namespace-wide"
    CLUSTER_WIDE = "cluster-wide"


class Failure(StrEnum):
    """Why a value could not be unsealed."""

    TOO_SHORT = "too-short"  # fewer bytes than the length prefix announces
    NO_KEY = "no-key"  # no private key (with this scope label) opens the session key
    CORRUPT = "corrupt"  # the session key opened, the AES-GCM tag did not verify


class UnsealError(ConveyorError):
    """One value could not be unsealed; `failure` says why (never what the value was)."""

    def __init__(self, failure: Failure, message: str) -> None:
        super().__init__(message)
        self.failure = failure


def label(scope: Scope, *, namespace: str, name: str) -> bytes:
    """The OAEP label that binds a value to its scope."""
    if scope is Scope.CLUSTER_WIDE:
        return b""
    if scope is Scope.NAMESPACE_WIDE:
        return namespace.encode()
    return f"{namespace}/{name}".encode()


def _oaep(label_bytes: bytes) -> padding.OAEP:
    return padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()),
        algorithm=hashes.SHA256(),
        label=label_bytes,
    )


def encrypt(public_key: rsa.RSAPublicKey, plaintext: bytes, label_bytes: bytes) -> bytes:
    """Seal one value for `public_key` under the scope label."""
    session_key = os.urandom(SESSION_KEY_BYTES)
    wrapped = public_key.encrypt(session_key, _oaep(label_bytes))
    sealed = AESGCM(session_key).encrypt(ZERO_NONCE, plaintext, None)
    return len(wrapped).to_bytes(LENGTH_BYTES, "big") + wrapped + sealed


def decrypt(
    private_keys: Sequence[rsa.RSAPrivateKey], ciphertext: bytes, label_bytes: bytes
) -> bytes:
    """Unseal one value with the first of `private_keys` that opens it."""
    if len(ciphertext) < LENGTH_BYTES:
        raise UnsealError(Failure.TOO_SHORT, "the sealed value is too short")
    size = int.from_bytes(ciphertext[:LENGTH_BYTES], "big")
    if len(ciphertext) < LENGTH_BYTES + size:
        raise UnsealError(Failure.TOO_SHORT, "the sealed value is too short")
    wrapped = ciphertext[LENGTH_BYTES : LENGTH_BYTES + size]
    session_key = _session_key(private_keys, wrapped, label_bytes)
    try:
        return AESGCM(session_key).decrypt(ZERO_NONCE, ciphertext[LENGTH_BYTES + size :], None)
    except InvalidTag as exc:
        raise UnsealError(
            Failure.CORRUPT, "the sealed value is corrupt (its AES-GCM tag does not verify)"
        ) from exc


def _session_key(
    private_keys: Sequence[rsa.RSAPrivateKey], wrapped: bytes, label_bytes: bytes
) -> bytes:
    for key in private_keys:
        if key.key_size // 8 != len(wrapped):
            continue
        try:
            session_key = key.decrypt(wrapped, _oaep(label_bytes))
        except ValueError:
            continue
        if len(session_key) in (16, 24, 32):
            return session_key
    raise UnsealError(
        Failure.NO_KEY,
        f"none of the {len(private_keys)} private key(s) decrypts it with this scope label",
    )
