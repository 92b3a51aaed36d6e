"""The Sealed Secrets hybrid format, value by value (`core.sealing`): layout, scope labels,
key rotation, and the three ways a value fails to open. Independent implementations are
checked in `test_sealing_interop.py`."""

from __future__ import annotations

import functools

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from conveyor.core import sealing
from conveyor.core.sealing import Failure, Scope, UnsealError


@functools.cache
def key(bits: int = 2048, n: int = 0) -> rsa.RSAPrivateKey:
    del n  # distinct cache entries: distinct keys
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (Scope.STRICT, b"prod/db"),
        (Scope.NAMESPACE_WIDE, b"prod"),
        (Scope.CLUSTER_WIDE, b""),
    ],
)
def test_label_binds_the_value_to_its_scope(scope: Scope, expected: bytes) -> None:
    assert sealing.label(scope, namespace="prod", name="db") == expected


def test_output_is_length_prefix_rsa_block_then_gcm_ciphertext_with_tag() -> None:
    private = key(4096)
    blob = sealing.encrypt(private.public_key(), b"hunter2", b"prod/db")
    assert int.from_bytes(blob[:2], "big") == 512
    assert len(blob) == 2 + 512 + len(b"hunter2") + 16


def test_the_session_key_is_32_bytes_and_gcm_uses_a_zero_nonce() -> None:
    """Open the parts by hand: OAEP(SHA-256, label) gives a 32-byte key, and AES-GCM with
    twelve zero bytes as nonce and no associated data opens the rest."""
    private = key()
    blob = sealing.encrypt(private.public_key(), b"v", b"ns/n")
    size = int.from_bytes(blob[:2], "big")
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=b"ns/n")
    session = private.decrypt(blob[2 : 2 + size], oaep)
    assert len(session) == 32
    assert AESGCM(session).decrypt(bytes(12), blob[2 + size :], None) == b"v"


def test_each_value_gets_a_fresh_session_key() -> None:
    public = key().public_key()
    assert sealing.encrypt(public, b"same", b"") != sealing.encrypt(public, b"same", b"")


@pytest.mark.parametrize("scope", list(Scope))
def test_round_trip_in_every_scope(scope: Scope) -> None:
    label = sealing.label(scope, namespace="prod", name="db")
    blob = sealing.encrypt(key().public_key(), b"\x00binary\xff", label)
    assert sealing.decrypt([key()], blob, label) == b"\x00binary\xff"


@pytest.mark.parametrize(
    ("sealed_for", "opened_as"),
    [
        (b"prod/db", b"staging/db"),  # moved to another namespace
        (b"prod/db", b"prod/db2"),  # renamed
        (b"prod", b"staging"),  # namespace-wide, other namespace
        (b"prod/db", b""),  # sealed strict, claimed cluster-wide
    ],
)
def test_another_label_does_not_open(sealed_for: bytes, opened_as: bytes) -> None:
    blob = sealing.encrypt(key().public_key(), b"x", sealed_for)
    with pytest.raises(UnsealError) as caught:
        sealing.decrypt([key()], blob, opened_as)
    assert caught.value.failure is Failure.NO_KEY


def test_every_kept_key_is_tried_after_a_rotation() -> None:
    old, new = key(n=1), key(n=2)
    before = sealing.encrypt(old.public_key(), b"old", b"")
    after = sealing.encrypt(new.public_key(), b"new", b"")
    assert sealing.decrypt([new, old], before, b"") == b"old"
    assert sealing.decrypt([new, old], after, b"") == b"new"
    with pytest.raises(UnsealError):
        sealing.decrypt([new], before, b"")


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x02\x00" + bytes(10)])
def test_short_input_is_too_short(blob: bytes) -> None:
    with pytest.raises(UnsealError) as caught:
        sealing.decrypt([key()], blob, b"")
    assert caught.value.failure is Failure.TOO_SHORT


def test_tampered_ciphertext_is_corrupt_and_the_message_holds_no_value() -> None:
    blob = bytearray(sealing.encrypt(key().public_key(), b"topsecret", b""))
    blob[-1] ^= 1
    with pytest.raises(UnsealError) as caught:
        sealing.decrypt([key()], bytes(blob), b"")
    assert caught.value.failure is Failure.CORRUPT
    assert "topsecret" not in str(caught.value)
