"""The value cipher against Mozilla's original Python sops (PyPI `sops` 1.18), an
independent implementation of the same `ENC[AES256_GCM,…]` strings: each side decrypts what
the other encrypts, with the same additional data."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag

from conveyor.clients.sops.errors import SopsError, SopsReason
from conveyor.clients.sops.values import decrypt_value, encrypt_value, scalar_bytes
from tests.clients.sops.mozilla import sops as mozilla_sops

KEY = bytes(range(32))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("héllo", "héllo".encode()),
        (42, b"42"),
        (-7, b"-7"),
        (True, b"True"),
        (False, b"False"),
        (1234.56789, b"1234.56789"),
        (1e20, b"100000000000000000000"),  # Go's 'f' format: never an exponent
        (0.5, b"0.5"),
        (3.0, b"3"),
    ],
)
def test_scalar_bytes_are_gos_text_of_the_value(value: object, text: bytes) -> None:
    assert scalar_bytes(value) == text  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["s3cret", "multi\nline\n", 12, 2.5, True, False])
def test_values_round_trip_with_their_type(value: object) -> None:
    enc = encrypt_value(value, KEY, "data:password:")  # type: ignore[arg-type]
    assert enc.startswith("ENC[AES256_GCM,data:")
    back = decrypt_value(enc, KEY, "data:password:")
    assert back == value and type(back) is type(value)


def test_the_nonce_is_32_bytes_and_the_tag_16() -> None:
    enc = encrypt_value("x", KEY, "a:")
    fields = dict(part.split(":", 1) for part in enc[len("ENC[AES256_GCM,") : -1].split(","))
    assert len(base64.b64decode(fields["iv"])) == 32
    assert len(base64.b64decode(fields["tag"])) == 16


def test_an_empty_string_stays_empty_and_clear() -> None:
    assert encrypt_value("", KEY, "a:") == ""
    assert decrypt_value("", KEY, "a:") == ""


def test_a_value_moved_to_another_path_does_not_authenticate() -> None:
    enc = encrypt_value("s3cret", KEY, "stringData:password:")
    with pytest.raises(SopsError) as caught:
        decrypt_value(enc, KEY, "stringData:username:")
    assert caught.value.reason == SopsReason.MAC_MISMATCH
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("value", ["s3cret", 12, 2.5, True])
def test_mozilla_sops_decrypts_our_values(value: object) -> None:
    enc = encrypt_value(value, KEY, "data:password:")  # type: ignore[arg-type]
    assert mozilla_sops.decrypt(enc, KEY, aad=b"data:password:") == value


@pytest.mark.parametrize("value", ["s3cret", 12, 2.5, True])
def test_we_decrypt_mozilla_sops_values(value: object) -> None:
    enc = mozilla_sops.encrypt(value, KEY, aad=b"data:password:")
    assert decrypt_value(enc, KEY, "data:password:") == value


def test_mozilla_sops_refuses_our_value_under_another_key_or_path() -> None:
    enc = encrypt_value("s3cret", KEY, "data:password:")
    with pytest.raises(InvalidTag):
        mozilla_sops.decrypt(enc, os.urandom(32), aad=b"data:password:")
    with pytest.raises(InvalidTag):
        mozilla_sops.decrypt(enc, KEY, aad=b"data:username:")
